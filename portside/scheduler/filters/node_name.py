"""NodeName: a pod that names its node (spec.nodeName) fits only there."""

from __future__ import annotations

import numpy as np

from portside.scheduler.framework import NODE_ADD, CycleState, count_reason
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"


def fits(pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray:
    out = np.zeros(hi - lo, dtype=bool)
    i = nodes.index.get(pod.node_name)
    if i is not None and lo <= i < hi:
        out[i - lo] = True
    return out


class NodeName:
    NAME = NAME
    STATIC = True
    RESOLVABLE = False
    EVENTS = frozenset({NODE_ADD})

    def mask(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None:
        return fits(pod, nodes, lo, hi) if pod.node_name else None

    def reasons(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]:
        return count_reason(failing, REASON)
