"""NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory fractions stay close to each other, so that
no node ends with one resource exhausted and the other stranded. Score = (1 - std of the fractions) * 100,
Kubernetes' formula."""

from __future__ import annotations

import numpy as np

from portside.scheduler.framework import CycleState
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.scores.node_resources_fit import DEFAULT_RESOURCES, allocated_fraction

NAME = "NodeResourcesBalancedAllocation"


def score(frac: np.ndarray) -> np.ndarray:
    if frac.shape[0] == 2:  # the usual cpu+memory case: the standard deviation of two values, without np.std
        return 100.0 - np.abs(frac[0] - frac[1]) * 50.0
    return (1.0 - frac.std(axis=0)) * 100.0


class BalancedAllocation:
    NAME = NAME

    def skip(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> bool:
        return False

    def score(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray:
        frac, _ = allocated_fraction(state, nodes, pod, idx, DEFAULT_RESOURCES)
        return score(frac)
