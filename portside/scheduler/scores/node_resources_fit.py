"""NodeResourcesFit scoring: LeastAllocated spreads load (kube-scheduler's default), MostAllocated packs it.

Per resource r with weight w_r, on a node with allocatable A_r and requested R_r after placing the pod:
    LeastAllocated = sum_r w_r * (A_r - R_r) / A_r * 100 / sum_r w_r
    MostAllocated  = sum_r w_r * R_r / A_r * 100 / sum_r w_r
A resource a node does not offer (A_r = 0) is left out of that node's mean, as Kubernetes does.
"""

from __future__ import annotations

import numpy as np

from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays

NAME = "NodeResourcesFit"
LEAST, MOST = "LeastAllocated", "MostAllocated"
DEFAULT_RESOURCES = (("cpu", 1), ("memory", 1))


def allocated_fraction(nodes: NodeArrays, pod: PodInfo, idx: np.ndarray,
                       resources: tuple[tuple[str, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """(fraction allocated after placing the pod, weight) per node row in ``idx`` and resource."""
    cols = [nodes.res_index[r] for r, _ in resources if r in nodes.res_index]
    weights = np.array([w for r, w in resources if r in nodes.res_index], dtype=float)
    vec, _ = nodes.request_vector(pod)
    alloc = nodes.alloc[np.ix_(idx, cols)].astype(float)
    used = nodes.requested[np.ix_(idx, cols)] + vec[cols]
    offered = alloc > 0
    frac = np.divide(used, alloc, out=np.zeros_like(alloc), where=offered)
    return np.minimum(frac, 1.0), weights * offered


def score(frac: np.ndarray, weight: np.ndarray, strategy: str) -> np.ndarray:
    total = weight.sum(axis=1)
    part = frac if strategy == MOST else 1.0 - frac
    return np.divide((part * weight).sum(axis=1) * 100.0, total, out=np.zeros(len(frac)), where=total > 0)


class NodeResourcesFitScore:
    NAME = NAME

    def __init__(self, strategy: str = LEAST, resources: tuple[tuple[str, int], ...] = DEFAULT_RESOURCES) -> None:
        if strategy not in (LEAST, MOST):
            raise ValueError(f"scoringStrategy.type: expected {LEAST} or {MOST}, got {strategy!r}")
        self.strategy = strategy
        self.resources = resources

    def skip(self, pod: PodInfo, nodes: NodeArrays) -> bool:
        return False

    def score(self, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray:
        frac, weight = allocated_fraction(nodes, pod, idx, self.resources)
        return score(frac, weight, self.strategy)
