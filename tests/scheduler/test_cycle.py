import pytest
from support.builders import make_cluster
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.cycle import num_nodes_to_find, windows


@pytest.mark.parametrize("percentage, total, expected", [
    (0, 50, 50),        # small clusters: every node
    (0, 1000, 420),     # 50 - 1000/125 = 42%
    (0, 5000, 500),     # 50 - 40 = 10%
    (0, 100000, 5000),  # floor of 5%
    (0, 150, 100),      # never fewer than 100
    (100, 5000, 5000),
    (30, 1000, 300),
])
def test_num_nodes_to_find(percentage, total, expected):
    assert num_nodes_to_find(percentage, total) == expected


def test_windows_cover_every_row_once_from_the_start():
    rows = [r for lo, hi in windows(7, 20, 5) for r in range(lo, hi)]
    assert rows == list(range(7, 20)) + list(range(0, 7))


def feasible(cycle, p):
    return cycle.feasible(cycle.fresh_state(p), p)


def test_search_rotates_through_a_large_cluster():
    c = make_cluster([node(f"n{i:03d}", cpu=64) for i in range(300)])
    cycle = c.sched.cycles["default-scheduler"]
    first = feasible(cycle, pod("a"))
    second = feasible(cycle, pod("b"))
    assert len(first) == len(second) == num_nodes_to_find(0, 300) == 144
    assert first.tolist() == list(range(144))
    assert second.tolist() == list(range(144, 288))
    third = feasible(cycle, pod("c"))
    assert third.tolist() == list(range(288, 300)) + list(range(0, 132))  # wraps around


def test_static_mask_is_cached_until_a_node_changes():
    c = make_cluster([node("a", labels={"disk": "ssd"}), node("b")])
    cycle = c.sched.cycles["default-scheduler"]
    p = pod("p", node_selector={"disk": "ssd"})
    assert cycle.static_mask(p).tolist() == [True, False]
    assert cycle.static_mask(p) is cycle.static_mask(pod("q", node_selector={"disk": "ssd"}))
    c.sched.set_node(node("b", labels={"disk": "ssd"}), 0)
    assert cycle.static_mask(p).tolist() == [True, True]


def test_dead_nodes_are_never_chosen():
    c = make_cluster([node("a", cpu=64), node("b")])
    c.sched.remove_node("a", 0)
    assert c.place(pod("p")) == "b"
    assert c.refusal(pod("big", cpu=8)).startswith("0/1 nodes are available: 1 Insufficient cpu.")
