import pytest
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import NodeSelector, NodeSelectorTerm, Requirement

NODES = [node("a", labels={"zone": "z1", "disk": "ssd", "cores": "8"}),
         node("b", labels={"zone": "z2", "disk": "hdd", "cores": "16"}),
         node("c", labels={"zone": "z3", "cores": "x"})]


def required(*reqs: Requirement) -> NodeSelector:
    return NodeSelector((NodeSelectorTerm(reqs),))


def test_node_selector_picks_the_matching_node(cluster):
    assert cluster(NODES).place(pod("p", node_selector={"disk": "hdd"})) == "b"


@pytest.mark.parametrize("req, where", [
    (Requirement("zone", "In", ("z3",)), "c"),
    (Requirement("zone", "NotIn", ("z1", "z2")), "c"),
    (Requirement("disk", "DoesNotExist"), "c"),
    (Requirement("cores", "Gt", ("10",)), "b"),
    (Requirement("cores", "Lt", ("10",)), "a"),  # "x" is not an integer: never matches Gt or Lt
])
def test_required_affinity_operators(cluster, req, where):
    assert cluster(NODES).place(pod("p", node_affinity=required(req))) == where


def test_exists_matches_every_node_with_the_key(cluster):
    c = cluster(NODES)
    placed = {c.place(pod(f"p{i}", node_affinity=required(Requirement("disk", "Exists")))) for i in range(4)}
    assert placed == {"a", "b"}


def test_terms_are_ored_and_requirements_anded(cluster):
    terms = NodeSelector((NodeSelectorTerm((Requirement("zone", "In", ("z1",)), Requirement("disk", "In", ("hdd",)))),
                          NodeSelectorTerm((Requirement("zone", "In", ("z2",)),))))
    assert cluster(NODES).place(pod("p", node_affinity=terms)) == "b"


def test_no_match_is_refused_with_the_affinity_reason(cluster):
    message = cluster(NODES).refusal(pod("p", node_selector={"zone": "mars"}))
    assert message.startswith("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")
    assert "Preemption is not helpful" in message
