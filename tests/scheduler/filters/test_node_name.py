from support.builders import node_info as node
from support.builders import pod_info as pod


def test_pod_naming_a_node_goes_there(cluster):
    c = cluster([node("n0"), node("n1"), node("n2")])
    assert c.place(pod("p", node_name="n2")) == "n2"


def test_pod_naming_a_missing_node_is_refused_on_every_node(cluster):
    c = cluster([node("n0"), node("n1"), node("n2")])
    assert c.refusal(pod("p", node_name="gone")).startswith(
        "0/3 nodes are available: 3 node(s) didn't match the requested node name.")
