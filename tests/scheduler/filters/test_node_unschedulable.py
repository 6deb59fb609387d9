from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import Toleration


def test_cordoned_nodes_are_skipped(cluster):
    c = cluster([node("n0", unschedulable=True), node("n1", unschedulable=True), node("n2", cpu=1)])
    assert c.place(pod("p")) == "n2"


def test_all_cordoned_gives_the_reason(cluster):
    c = cluster([node("n0", unschedulable=True), node("n1", unschedulable=True)])
    assert c.refusal(pod("p")).startswith("0/2 nodes are available: 2 node(s) were unschedulable.")


def test_pod_tolerating_the_unschedulable_taint_may_use_a_cordoned_node(cluster):
    c = cluster([node("n0", cpu=8, unschedulable=True), node("n1", cpu=1)])
    tolerant = pod("ds", tolerations=(Toleration("node.kubernetes.io/unschedulable", "Exists"),))
    assert c.place(tolerant) == "n0"  # the emptier node wins once the cordon does not apply
