"""NodeUnschedulable: cordoned nodes (spec.unschedulable) take no new pods, unless the pod tolerates the
``node.kubernetes.io/unschedulable`` taint, as DaemonSet pods do."""

from __future__ import annotations

import numpy as np

from portside.scheduler.framework import NODE_UPDATE, CycleState, count_reason
from portside.scheduler.model import PodInfo, Taint
from portside.scheduler.nodes import NodeArrays

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
TAINT = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")


def fits(unschedulable: np.ndarray) -> np.ndarray:
    return ~unschedulable


class NodeUnschedulable:
    NAME = NAME
    STATIC = True
    RESOLVABLE = False
    EVENTS = frozenset({NODE_UPDATE})

    def mask(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None:
        if any(t.tolerates(TAINT) for t in pod.tolerations):
            return None
        return fits(nodes.unschedulable[lo:hi])

    def reasons(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]:
        return count_reason(failing, REASON)
