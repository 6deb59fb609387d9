"""The incremental pod counts (``topology.PodCounts``, ``AntiHolders``) always equal a count from scratch, through
any order of reservations, releases, node growth and selectors first asked about midway."""

import random

import numpy as np
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.api.selectors import label_selector
from portside.scheduler.model import PodAffinityTerm
from portside.scheduler.nodes import NodeArrays

SELECTORS = [label_selector(s) for s in ("app=a", "app in (a,b)", "tier=web", "app!=a", "!tier", "")]


def from_scratch(nodes: NodeArrays, selector, namespaces) -> np.ndarray:
    counts = np.zeros(nodes.n, dtype=np.int64)
    for p, row in nodes.placed.values():
        if (namespaces is None or p.namespace in namespaces) and selector.matches(p.labels):
            counts[row] += 1
    return counts


def test_pod_counts_follow_every_assume_and_forget():
    rng = random.Random(3)
    nodes = NodeArrays(capacity=4)
    for i in range(6):
        nodes.set_node(node(f"n{i}"))
    asked = [(SELECTORS[0], ("default",))]
    nodes.pod_counts.get(nodes, *asked[0])
    for step in range(400):
        if step % 50 == 25:  # grow the table and ask about another selector midway
            nodes.set_node(node(f"late{step}"))
            asked.append((SELECTORS[len(asked) % len(SELECTORS)], rng.choice([None, ("default",), ("other",)])))
            nodes.pod_counts.get(nodes, *asked[-1])
        if nodes.placed and rng.random() < 0.4:
            nodes.forget(rng.choice(sorted(nodes.placed)))
        else:
            labels = {k: v for k, v in (("app", rng.choice("abc")), ("tier", rng.choice(["web", ""]))) if v}
            p = pod(f"p{step}", namespace=rng.choice(["default", "other"]), labels=labels)
            nodes.assume(p, rng.randrange(nodes.n))
        for selector, namespaces in asked:
            assert (nodes.pod_counts.get(nodes, selector, namespaces) == from_scratch(nodes, selector, namespaces)).all()


def test_anti_affinity_holders_follow_their_pods():
    nodes = NodeArrays()
    for i in range(3):
        nodes.set_node(node(f"n{i}"))
    term = PodAffinityTerm(label_selector("app=db"), "kubernetes.io/hostname")
    holder = pod("h", labels={"app": "cache"}, anti_affinity=(term,))
    nodes.assume(holder, 1)
    [(key, holders)] = nodes.anti_holders.matching(pod("db", labels={"app": "db"}))
    assert key == "kubernetes.io/hostname" and holders[: nodes.n].tolist() == [0, 1, 0]
    assert nodes.anti_holders.matching(pod("web", labels={"app": "web"})) == []
    nodes.forget(holder.uid)
    assert nodes.anti_holders.matching(pod("db", labels={"app": "db"})) == []
