from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import NodeSelectorTerm, PreferredTerm, Requirement


def prefer(weight: int, key: str, value: str) -> PreferredTerm:
    return PreferredTerm(weight, NodeSelectorTerm((Requirement(key, "In", (value,)),)))


def test_preferred_terms_pick_the_heavier_match(cluster):
    c = cluster([node("ssd", cpu=8, labels={"disk": "ssd"}), node("fast", labels={"net": "fast"}),
                 node("plain", cpu=16)])
    p = pod("p", preferred_terms=(prefer(10, "disk", "ssd"), prefer(80, "net", "fast")))
    assert c.place(p) == "fast"


def test_preference_does_not_refuse(cluster):
    c = cluster([node("plain")])
    assert c.place(pod("p", preferred_terms=(prefer(100, "disk", "ssd"),))) == "plain"
