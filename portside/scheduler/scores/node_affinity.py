"""NodeAffinity scoring: the sum of the weights of the preferred node-affinity terms a node matches."""

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

    def skip(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> bool:
        return not pod.preferred_terms

    def score(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray:
        return to_max(raw(pod, nodes)[idx])
