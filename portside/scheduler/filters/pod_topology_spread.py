"""PodTopologySpread: with whenUnsatisfiable DoNotSchedule, placing the pod must keep the skew of matching pods
across the domains of ``topologyKey`` within maxSkew.

Skew of a domain = (matching pods in it, plus this pod if it matches) minus the smallest count over all domains.
As in Kubernetes' default node-inclusion policy, only nodes the pod's node affinity/selector accepts define the
domains and count their pods; a node without the topology key is refused.
"""

from __future__ import annotations

import numpy as np

from portside.scheduler.filters import node_affinity
from portside.scheduler.framework import NODE_ADD, NODE_UPDATE, POD_ADD, POD_DELETE, count_reason
from portside.scheduler.model import PodInfo, SpreadConstraint
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.topology import PodMaskCache, matching_rows, node_counts, per_domain

NAME = "PodTopologySpread"
REASON = "node(s) didn't match pod topology spread constraints"


def domain_counts(pod: PodInfo, c: SpreadConstraint, nodes: NodeArrays) -> tuple[np.ndarray, np.ndarray]:
    """Per node row: matching pods in its domain; and which rows are eligible domains' members."""
    eligible = node_affinity.fits(pod, nodes, 0, nodes.n) & nodes.alive[: nodes.n]
    eligible &= nodes.domain_codes(c.topology_key) >= 0
    rows = matching_rows(nodes, c.selector, (pod.namespace,))
    return node_counts(nodes, c.topology_key, per_domain(nodes, c.topology_key, rows, eligible)), eligible


def fits(pod: PodInfo, c: SpreadConstraint, nodes: NodeArrays) -> np.ndarray:
    counts, eligible = domain_counts(pod, c, nodes)
    if not eligible.any():
        return eligible
    self_match = 1 if c.selector.matches(pod.labels) else 0
    return eligible & (counts + self_match - counts[eligible].min() <= c.max_skew)


def hard_constraints_mask(pod: PodInfo, nodes: NodeArrays) -> np.ndarray:
    mask = np.ones(nodes.n, dtype=bool)
    for c in pod.spread:
        if c.when_unsatisfiable == "DoNotSchedule":
            mask &= fits(pod, c, nodes)
    return mask


class PodTopologySpread:
    NAME = NAME
    STATIC = False
    RESOLVABLE = True
    EVENTS = frozenset({NODE_ADD, NODE_UPDATE, POD_ADD, POD_DELETE})

    def __init__(self) -> None:
        self._cache = PodMaskCache()

    def full_mask(self, pod: PodInfo, nodes: NodeArrays) -> np.ndarray:
        return self._cache.get(pod, nodes, lambda: hard_constraints_mask(pod, nodes))

    def mask(self, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None:
        if not any(c.when_unsatisfiable == "DoNotSchedule" for c in pod.spread):
            return None
        return self.full_mask(pod, nodes)[lo:hi]

    def reasons(self, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]:
        return count_reason(failing, REASON)
