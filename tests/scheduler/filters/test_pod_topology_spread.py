from support.builders import match
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import SpreadConstraint

ZONE = "topology.kubernetes.io/zone"
SPREAD = (SpreadConstraint(1, ZONE, "DoNotSchedule", match(app="web")),)


def test_max_skew_forces_the_emptier_zone(cluster):
    # Zone a has far more room, so without the constraint every pod would go there.
    c = cluster([node("a1", cpu=64, labels={ZONE: "a"}), node("b1", cpu=2, labels={ZONE: "b"})])
    c.bind(pod("web-0", labels={"app": "web"}), "a1")
    assert c.place(pod("web-1", labels={"app": "web"}, spread=SPREAD)) == "b1"


def test_skew_violation_is_refused(cluster):
    c = cluster([node("a1", cpu=64, labels={ZONE: "a"}), node("b1", cpu=64, labels={ZONE: "b"})])
    c.bind(pod("web-0", labels={"app": "web"}), "a1")
    c.bind(pod("web-1", labels={"app": "web"}), "a1")
    only_a = pod("web-2", labels={"app": "web"}, spread=SPREAD, node_name="a1")
    assert c.refusal(only_a).startswith(
        "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, "
        "1 node(s) didn't match the requested node name.")


def test_nodes_without_the_key_are_refused(cluster):
    c = cluster([node("nozone", cpu=64), node("b1", labels={ZONE: "b"})])
    assert c.place(pod("web-0", labels={"app": "web"}, spread=SPREAD)) == "b1"


def test_hosts_sharing_a_label_value_form_one_domain(cluster):
    """A topology key most nodes hold uniquely, but two share: those two are one domain, not two."""
    rack = "rack"
    c = cluster([node("h1", labels={rack: "r1"}), node("h2", labels={rack: "r1"}), node("h3", labels={rack: "r2"})])
    c.bind(pod("w1", labels={"app": "web"}), "h1")
    spread = (SpreadConstraint(1, rack, "DoNotSchedule", match(app="web")),)
    assert c.place(pod("w2", labels={"app": "web"}, spread=spread)) == "h3"
