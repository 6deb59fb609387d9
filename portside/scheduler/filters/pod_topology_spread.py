"""PodTopologySpread: with whenUnsatisfiable DoNotSchedule, placing the pod must keep the skew of matching pods
across the domains of ``topologyKey`` within maxSkew.

Skew of a domain = (matching pods in it, plus this pod if it matches) minus the smallest count over all domains.
As in Kubernetes' default node-inclusion policy, only nodes the pod's node affinity/selector accepts define the
domains and count their pods; a node without the topology key is refused. A constraint without a labelSelector
counts no pods (``api.selectors``: a nil selector selects nothing), so it never refuses a node that has the key.
PreFilter computes the full-cluster mask once per attempt; Filter slices it per window.
"""

from __future__ import annotations

import numpy as np

from portside.scheduler.filters import node_affinity
from portside.scheduler.framework import (
    NODE_ADD,
    NODE_UPDATE,
    POD_ADD,
    POD_DELETE,
    SUCCESS,
    CycleState,
    Status,
    count_reason,
)
from portside.scheduler.model import PodInfo, SpreadConstraint
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.topology import domain_totals

NAME = "PodTopologySpread"
REASON = "node(s) didn't match pod topology spread constraints"
STATE_KEY = "PreFilter" + NAME


def eligible_rows(pod: PodInfo, nodes: NodeArrays) -> np.ndarray:
    """Nodes whose pods count (the pod's node affinity and selector accept them, as nodeAffinityPolicy Honor)."""
    eligible = nodes.alive[: nodes.n].copy()
    if not pod.node_selector.empty() or pod.node_affinity is not None:
        eligible &= node_affinity.fits(pod, nodes, 0, nodes.n)
    return eligible


def domain_counts(pod: PodInfo, c: SpreadConstraint, nodes: NodeArrays,
                  eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per node row: matching pods in its domain; and which rows are eligible domains' members."""
    eligible = eligible & nodes.domains(c.topology_key).has_key
    counts = nodes.pod_counts.get(nodes, c.selector, (pod.namespace,))
    return domain_totals(nodes, c.topology_key, counts, eligible), eligible


def fits(pod: PodInfo, c: SpreadConstraint, nodes: NodeArrays, eligible: np.ndarray) -> np.ndarray:
    counts, eligible = domain_counts(pod, c, nodes, eligible)
    if not eligible.any():
        return eligible
    self_match = 1 if c.selector.matches(pod.labels) else 0
    return eligible & (counts + self_match - counts[eligible].min() <= c.max_skew)


def hard_constraints_mask(pod: PodInfo, nodes: NodeArrays) -> np.ndarray:
    eligible = eligible_rows(pod, nodes)
    mask = np.ones(nodes.n, dtype=bool)
    for c in pod.spread:
        if c.when_unsatisfiable == "DoNotSchedule":
            mask &= fits(pod, c, nodes, eligible)
    return mask


class PodTopologySpread:
    NAME = NAME
    STATIC = False
    RESOLVABLE = True
    EVENTS = frozenset({NODE_ADD, NODE_UPDATE, POD_ADD, POD_DELETE})

    def prefilter(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> Status:
        hard = bool(pod.spread) and any(c.when_unsatisfiable == "DoNotSchedule" for c in pod.spread)
        state[STATE_KEY] = hard_constraints_mask(pod, nodes) if hard else None
        return SUCCESS

    def mask(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None:
        full = state[STATE_KEY]  # a KeyError here means the PreFilter did not run
        return None if full is None else full[lo:hi]

    def reasons(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]:
        return count_reason(failing, REASON)
