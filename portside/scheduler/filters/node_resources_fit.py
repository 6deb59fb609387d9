"""NodeResourcesFit: the pod's requests fit in what the node has left (allocatable minus requested).

Only the resources the pod requests are compared (``pods`` always: each pod takes one slot), each as one
comparison over a contiguous row of the resource-major ``free`` matrix. A resource that no node offers at all (an
extended resource nobody advertises) fails everywhere. PreFilter resolves the request to columns once per
attempt; Filter reads them from the cycle state for every window.
"""

from __future__ import annotations

import numpy as np

from portside.scheduler.framework import NODE_ADD, NODE_UPDATE, POD_DELETE, SUCCESS, CycleState, Status
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays

NAME = "NodeResourcesFit"
REASON = "Insufficient {resource}"
TOO_MANY_PODS = "Too many pods"
STATE_KEY = "PreFilter" + NAME  # the score of the same name keeps its own entry


def fits(free: np.ndarray, wanted: list[tuple[int, int]]) -> np.ndarray:
    """``free`` is resource-major (resources, nodes): each requested resource is one contiguous comparison."""
    col, amount = wanted[0]
    out = free[col] >= amount
    for col, amount in wanted[1:]:
        out &= free[col] >= amount
    return out


def reason_for(resource: str) -> str:
    return TOO_MANY_PODS if resource == "pods" else REASON.format(resource=resource)


class NodeResourcesFit:
    NAME = NAME
    STATIC = False
    RESOLVABLE = True
    EVENTS = frozenset({NODE_ADD, NODE_UPDATE, POD_DELETE})

    def prefilter(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> Status:
        state[STATE_KEY] = nodes.request_columns(pod)
        return SUCCESS

    def mask(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None:
        wanted = state[STATE_KEY]  # a KeyError here means the PreFilter did not run
        if wanted is None:  # a resource no node offers
            return np.zeros(hi - lo, dtype=bool)
        return fits(nodes.free[:, lo:hi], wanted)

    def reasons(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]:
        vec, missing = nodes.request_vector(pod)
        out = {reason_for(name): int(np.count_nonzero(failing)) for name in missing}
        free = nodes.free[:, : nodes.n]
        for col in np.flatnonzero(vec):
            count = int(np.count_nonzero(failing & (free[col] < vec[col])))
            if count:
                out[reason_for(nodes.resources[col])] = count
        return out
