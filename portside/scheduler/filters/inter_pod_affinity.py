"""InterPodAffinity: required pod affinity and anti-affinity, both the incoming pod's and the placed pods'.

Affinity: every term needs a matching pod in the node's domain; the first pod of a group that matches its own
term may go anywhere the topology key exists (otherwise a group could never start). Anti-affinity: no matching
pod in the domain. Symmetry: a placed pod's anti-affinity that matches the incoming pod keeps it out of that
pod's domain too. PreFilter computes the full-cluster mask once per attempt from the node arrays' pod counts
(``topology.PodCounts``, ``AntiHolders``); Filter slices it per window.
"""

from __future__ import annotations

import numpy as np

from portside.scheduler.framework import NODE_ADD, NODE_UPDATE, POD_ADD, POD_DELETE, SUCCESS, CycleState, Status
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.topology import domain_totals, in_namespaces, term_counts, term_namespaces

NAME = "InterPodAffinity"
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"
REASON = REASON_AFFINITY
STATE_KEY = "PreFilter" + NAME


def affinity_ok(pod: PodInfo, nodes: NodeArrays) -> np.ndarray:
    ok = np.ones(nodes.n, dtype=bool)
    for term in pod.affinity:
        counts = term_counts(nodes, term, pod)
        has_key = nodes.domains(term.topology_key).has_key
        self_match = in_namespaces(pod.namespace, term_namespaces(term, pod)) and term.selector.matches(pod.labels)
        ok &= (counts > 0) | (has_key & self_match & (counts.sum() == 0))
    return ok


def anti_ok(pod: PodInfo, nodes: NodeArrays) -> np.ndarray:
    ok = np.ones(nodes.n, dtype=bool)
    for term in pod.anti_affinity:
        ok &= term_counts(nodes, term, pod) == 0
    return ok


def existing_ok(pod: PodInfo, nodes: NodeArrays) -> np.ndarray:
    ok = np.ones(nodes.n, dtype=bool)
    for topology_key, holders in nodes.anti_holders.matching(pod):
        ok &= domain_totals(nodes, topology_key, holders) == 0
    return ok


class InterPodAffinity:
    NAME = NAME
    STATIC = False
    RESOLVABLE = True
    EVENTS = frozenset({NODE_ADD, NODE_UPDATE, POD_ADD, POD_DELETE})

    def prefilter(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> Status:
        if pod.affinity or pod.anti_affinity or nodes.anti_holders.holders:
            state[STATE_KEY] = affinity_ok(pod, nodes) & anti_ok(pod, nodes) & existing_ok(pod, nodes)
        else:
            state[STATE_KEY] = None
        return SUCCESS

    def mask(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None:
        full = state[STATE_KEY]  # a KeyError here means the PreFilter did not run
        return None if full is None else full[lo:hi]

    def reasons(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]:
        out: dict[str, int] = {}
        left = failing.copy()
        for reason, ok in ((REASON_EXISTING, existing_ok(pod, nodes)), (REASON_AFFINITY, affinity_ok(pod, nodes)),
                           (REASON_ANTI, anti_ok(pod, nodes))):
            hit = left & ~ok
            if hit.any():
                out[reason] = int(np.count_nonzero(hit))
            left &= ok
        return out
