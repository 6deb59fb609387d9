from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import Taint, Toleration

SOFT = Taint("spot", "true", "PreferNoSchedule")


def test_prefernoschedule_taint_is_avoided_when_possible(cluster):
    c = cluster([node("spot", cpu=16, taints=(SOFT,)), node("ondemand", cpu=4)])
    assert c.place(pod("p")) == "ondemand"


def test_tolerated_soft_taint_no_longer_counts(cluster):
    c = cluster([node("spot", cpu=16, taints=(SOFT,)), node("ondemand", cpu=4)])
    assert c.place(pod("p", tolerations=(Toleration("spot", "Exists"),))) == "spot"
