from support.builders import GI
from support.builders import node_info as node
from support.builders import pod_info as pod


def test_pod_goes_where_it_fits(cluster):
    c = cluster([node("small", cpu=1, mem_gi=64), node("big", cpu=8, mem_gi=2)])
    assert c.place(pod("cpu-heavy", cpu=4, mem_gi=1)) == "big"
    assert c.place(pod("mem-heavy", cpu=0.5, mem_gi=32)) == "small"


def test_refusal_counts_each_missing_resource(cluster):
    c = cluster([node("a", cpu=1, mem_gi=1), node("b", cpu=1, mem_gi=16), node("c", cpu=8, mem_gi=1)])
    assert c.refusal(pod("p", cpu=2, mem_gi=2)).startswith(
        "0/3 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.")


def test_room_taken_by_earlier_pods_counts(cluster):
    c = cluster([node("a", cpu=2)])
    assert c.place(pod("p1", cpu=1.5)) == "a"
    assert "1 Insufficient cpu" in c.refusal(pod("p2", cpu=1))


def test_extended_resources_and_unknown_ones(cluster):
    c = cluster([node("cpu-only", cpu=16), node("gpu", cpu=2, extra={"nvidia.com/gpu": 2})])
    assert c.place(pod("train", extra={"nvidia.com/gpu": 2})) == "gpu"
    assert c.refusal(pod("more", extra={"nvidia.com/gpu": 1})).startswith(
        "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.")
    assert c.refusal(pod("fpga", extra={"example.com/fpga": 1})).startswith(
        "0/2 nodes are available: 2 Insufficient example.com/fpga.")


def test_pod_count_limit(cluster):
    c = cluster([node("a", extra={"pods": 2})])
    c.run(pod("p1", cpu=0.1), pod("p2", cpu=0.1))
    assert c.refusal(pod("p3", cpu=0.1)).startswith("0/1 nodes are available: 1 Too many pods.")


def test_memory_is_exact_to_the_byte(cluster):
    c = cluster([node("a", mem_gi=1)])
    assert c.place(pod("half", mem_gi=0.5)) == "a"
    exact = pod("rest", mem_gi=0)
    exact.requests["memory"] = GI // 2
    assert c.place(exact) == "a"
    assert c.place(pod("one-more-byte", mem_gi=0, extra={"memory": 1})) is None
