"""NodeResourcesFit scoring: LeastAllocated spreads load (kube-scheduler's default), MostAllocated packs it.

Per resource r with weight w_r, on a node with allocatable A_r and requested R_r after placing the pod:
    LeastAllocated = sum_r w_r * (A_r - R_r) / A_r * 100 / sum_r w_r
    MostAllocated  = sum_r w_r * R_r / A_r * 100 / sum_r w_r
A resource a node does not offer (A_r = 0) is left out of that node's mean, as Kubernetes does.
"""

from __future__ import annotations

import functools

import numpy as np

from portside.scheduler.framework import CycleState
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays

NAME = "NodeResourcesFit"
LEAST, MOST = "LeastAllocated", "MostAllocated"
DEFAULT_RESOURCES = (("cpu", 1), ("memory", 1))
STATE_KEY = "PreScore" + NAME  # the filter of the same name keeps its own entry


def allocated_fraction(state: CycleState, nodes: NodeArrays, pod: PodInfo, idx: np.ndarray,
                       resources: tuple[tuple[str, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """(fraction allocated after placing the pod, weight where offered), shape (resources, len(idx)).

    Kept in the cycle state for the attempt, since spreading and balance scores ask for the same fractions."""
    memo = state.get(STATE_KEY)
    if memo is None:
        memo = {}
        state[STATE_KEY] = memo
    found = memo.get(resources)
    if found is not None and found[0] is idx:
        return found[1]
    cols, weights = _columns(nodes, resources)
    vec, _ = nodes.request_vector(pod)
    inv = nodes.inv_alloc[cols].take(idx, axis=1)
    frac = (nodes.requested[cols].take(idx, axis=1) + vec[cols][:, None]) * inv
    weight = weights[:, None] * (inv > 0) if not inv.all() else weights
    memo[resources] = (idx, (frac, weight))
    return frac, weight


def _columns(nodes: NodeArrays, resources: tuple[tuple[str, int], ...]) -> tuple[slice | np.ndarray, np.ndarray]:
    """Rows and weights of the scored resources that exist in the cluster (``columns`` caches the rows)."""
    names, weights = _weights(resources, tuple(nodes.resources))
    return nodes.columns(names), weights


@functools.lru_cache(maxsize=64)
def _weights(resources: tuple[tuple[str, int], ...], present: tuple[str, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    return tuple(r for r, _ in resources), np.array([w for r, w in resources if r in present], dtype=float)


def score(frac: np.ndarray, weight: np.ndarray, strategy: str) -> np.ndarray:
    """``weight`` is per resource when every node offers every resource (one matrix product), else per cell."""
    if weight.ndim == 1:
        most = (weight @ frac) * (100.0 / weight.sum())
        return most if strategy == MOST else 100.0 - most
    total = weight.sum(axis=0)
    part = frac if strategy == MOST else 1.0 - frac
    return np.divide((part * weight).sum(axis=0) * 100.0, total, out=np.zeros(frac.shape[1]), where=total > 0)


class NodeResourcesFitScore:
    NAME = NAME

    def __init__(self, strategy: str = LEAST, resources: tuple[tuple[str, int], ...] = DEFAULT_RESOURCES) -> None:
        if strategy not in (LEAST, MOST):
            raise ValueError(f"scoringStrategy.type: expected {LEAST} or {MOST}, got {strategy!r}")
        self.strategy = strategy
        self.resources = resources

    def skip(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> bool:
        return False

    def score(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray:
        frac, weight = allocated_fraction(state, nodes, pod, idx, self.resources)
        return score(frac, weight, self.strategy)
