from support.builders import node_info as node
from support.builders import pod_info as pod


def nodes():
    return [node("empty", cpu=8, mem_gi=16), node("half", cpu=8, mem_gi=16), node("full", cpu=8, mem_gi=16)]


def loaded(c):
    c.bind(pod("h", cpu=4, mem_gi=8), "half")
    c.bind(pod("f", cpu=6, mem_gi=12), "full")
    return c


def test_default_profile_spreads_to_the_least_allocated_node(cluster):
    assert loaded(cluster(nodes())).place(pod("p", cpu=1, mem_gi=1)) == "empty"


def test_binpack_profile_packs_onto_the_most_allocated_node(cluster):
    assert loaded(cluster(nodes(), profile="binpack")).place(pod("p", cpu=1, mem_gi=1)) == "full"


def test_binpack_still_respects_fit(cluster):
    assert loaded(cluster(nodes(), profile="binpack")).place(pod("p", cpu=3, mem_gi=1)) == "half"


def test_binpack_weighs_gpus_too(cluster):
    c = cluster([node("g0", cpu=8, extra={"nvidia.com/gpu": 4}), node("g1", cpu=8, extra={"nvidia.com/gpu": 4})],
                profile="binpack")
    c.bind(pod("a", cpu=0.1, extra={"nvidia.com/gpu": 2}), "g1")
    assert c.place(pod("b", cpu=0.1, extra={"nvidia.com/gpu": 1})) == "g1"
