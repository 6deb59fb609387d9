from support.builders import GI
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import Taint, Toleration
from portside.scheduler.optimize import pack


def test_exact_optimum_pairs_complementary_shapes():
    # Four cpu-heavy and four memory-heavy pods: one of each fills a node exactly, so 4 nodes, not more.
    nodes = [node(f"n{i}", cpu=4, mem_gi=16) for i in range(8)]
    pods = [pod(f"c{i}", cpu=3, mem_gi=4) for i in range(4)] + [pod(f"m{i}", cpu=1, mem_gi=12) for i in range(4)]
    plan = pack(pods, nodes)
    assert plan.optimal and plan.nodes_used == plan.lower_bound == 4
    assert len(plan.assignment) == 8
    for name in {plan.assignment[p.uid] for p in pods}:
        on = [p for p in pods if plan.assignment[p.uid] == name]
        assert sum(p.requests["cpu"] for p in on) <= 4000 and sum(p.requests["memory"] for p in on) <= 16 * GI


def test_feasibility_follows_the_scheduler_filters():
    nodes = [node("gpu", cpu=8, taints=(Taint("gpu", "true"),), extra={"nvidia.com/gpu": 1}), node("plain", cpu=8)]
    trainer = pod("train", extra={"nvidia.com/gpu": 1}, tolerations=(Toleration("gpu", "Exists"),))
    untolerating = pod("stuck", extra={"nvidia.com/gpu": 1})
    plan = pack([trainer, untolerating, pod("web")], nodes)
    assert plan.assignment["default/train"] == "gpu"
    assert plan.assignment["default/web"] == "plain"
    assert plan.unplaceable == ["default/stuck"]


def test_optimize_mode_proposes_fewer_nodes_with_the_fewest_moves():
    nodes = [node(f"n{i}", cpu=4) for i in range(4)]
    pods = [pod(f"p{i}", cpu=1, mem_gi=0.5) for i in range(8)]
    current = {p.uid: f"n{i % 4}" for i, p in enumerate(pods)}  # spread: two per node, 4 nodes
    plan = pack(pods, nodes, current=current)
    assert plan.optimal and plan.nodes_used == 2
    assert len(plan.moves) == 4  # two nodes are emptied, two pods each; the other four pods stay put
    kept = {n for uid, n in plan.assignment.items() if current[uid] == n}
    assert all(m.source not in kept and m.target in kept for m in plan.moves)
    assert {p.uid for p in pods} == set(plan.assignment)
