from support.builders import match
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import SpreadConstraint

ZONE = "topology.kubernetes.io/zone"
SOFT = (SpreadConstraint(1, ZONE, "ScheduleAnyway", match(app="web")),)


def test_schedule_anyway_prefers_the_zone_with_fewer_matching_pods(cluster):
    c = cluster([node("a1", cpu=64, labels={ZONE: "a"}), node("b1", cpu=4, labels={ZONE: "b"})])
    c.bind(pod("web-0", labels={"app": "web"}), "a1")
    c.bind(pod("web-1", labels={"app": "web"}), "a1")
    assert c.place(pod("web-2", labels={"app": "web"}, spread=SOFT)) == "b1"


def test_schedule_anyway_never_refuses(cluster):
    c = cluster([node("a1", labels={ZONE: "a"})])
    c.bind(pod("web-0", labels={"app": "web"}), "a1")
    assert c.place(pod("web-1", labels={"app": "web"}, spread=SOFT)) == "a1"
