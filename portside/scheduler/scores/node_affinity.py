"""NodeAffinity scoring: the sum of the weights of the preferred node-affinity terms a node matches.

The sum reads node labels only, so it is kept per set of preferred terms until a node changes (pods of one
workload share their terms), as the cycle keeps static filter masks."""

from __future__ import annotations

import numpy as np

from portside.scheduler.filters.node_affinity import term_mask
from portside.scheduler.framework import CycleState
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.scores.normalize import to_max

NAME = "NodeAffinity"


def raw(pod: PodInfo, nodes: NodeArrays) -> np.ndarray:
    total = np.zeros(nodes.n)
    for pref in pod.preferred_terms:
        total += pref.weight * term_mask(pref.term, nodes, 0, nodes.n)
    return total


class NodeAffinityScore:
    NAME = NAME

    def __init__(self) -> None:
        self._raw: dict[tuple, np.ndarray] = {}
        self._generation = -1

    def _cached_raw(self, pod: PodInfo, nodes: NodeArrays) -> np.ndarray:
        if self._generation != nodes.generation:
            self._raw.clear()
            self._generation = nodes.generation
        found = self._raw.get(pod.preferred_terms)
        if found is None:
            found = self._raw[pod.preferred_terms] = raw(pod, nodes)
        return found

    def skip(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> bool:
        return not pod.preferred_terms

    def score(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray:
        return to_max(self._cached_raw(pod, nodes)[idx])
