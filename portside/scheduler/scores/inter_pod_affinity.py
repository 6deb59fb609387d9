"""InterPodAffinity scoring: preferred affinity adds a term's weight for each node whose domain holds a matching
pod; preferred anti-affinity subtracts it. Min-max normalised, since the sum can be negative."""

from __future__ import annotations

import numpy as np

from portside.scheduler.framework import CycleState
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.scores.normalize import min_max
from portside.scheduler.topology import term_counts

NAME = "InterPodAffinity"


def raw(pod: PodInfo, nodes: NodeArrays) -> np.ndarray:
    total = np.zeros(nodes.n)
    for pref in pod.preferred_affinity:
        total += pref.weight * (term_counts(nodes, pref.term, pod) > 0)
    for pref in pod.preferred_anti_affinity:
        total -= pref.weight * (term_counts(nodes, pref.term, pod) > 0)
    return total


class InterPodAffinityScore:
    NAME = NAME

    def skip(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> bool:
        return not (pod.preferred_affinity or pod.preferred_anti_affinity)

    def score(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray:
        return min_max(raw(pod, nodes)[idx])
