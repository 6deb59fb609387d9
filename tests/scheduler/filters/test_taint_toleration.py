from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import Taint, Toleration

GPU = Taint("gpu", "true", "NoSchedule")


def test_untolerated_noschedule_taint_refuses(cluster):
    c = cluster([node("gpu0", cpu=8, taints=(GPU,)), node("n1", cpu=1)])
    assert c.place(pod("p")) == "n1"


def test_equal_toleration_allows(cluster):
    c = cluster([node("gpu0", cpu=8, taints=(GPU,)), node("n1", cpu=1)])
    assert c.place(pod("p", tolerations=(Toleration("gpu", "Equal", "true", "NoSchedule"),))) == "gpu0"


def test_toleration_for_another_value_or_effect_does_not(cluster):
    c = cluster([node("gpu0", taints=(GPU,))])
    wrong = (Toleration("gpu", "Equal", "false"), Toleration("gpu", "Exists", effect="NoExecute"))
    assert c.refusal(pod("p", tolerations=wrong)).startswith(
        "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: true}.")


def test_noexecute_refuses_and_prefernoschedule_does_not(cluster):
    c = cluster([node("a", taints=(Taint("evict", "", "NoExecute"),)),
                 node("b", taints=(Taint("meh", "", "PreferNoSchedule"),))])
    assert c.place(pod("p")) == "b"


def test_message_counts_each_taint(cluster):
    c = cluster([node("a", taints=(GPU,)), node("b", taints=(GPU,)), node("c", taints=(Taint("x", "", "NoSchedule"),))])
    assert c.refusal(pod("p")).startswith(
        "0/3 nodes are available: 2 node(s) had untolerated taint {gpu: true}, 1 node(s) had untolerated taint {x}.")
