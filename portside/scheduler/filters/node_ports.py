"""NodePorts: two pods on one node cannot bind the same host port and protocol on overlapping addresses."""

from __future__ import annotations

import numpy as np

from portside.scheduler.framework import NODE_ADD, POD_DELETE, CycleState, count_reason
from portside.scheduler.model import HostPort, PodInfo
from portside.scheduler.nodes import NodeArrays

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"


def fits(wanted: tuple[HostPort, ...], used: list[HostPort]) -> bool:
    return not any(w.conflicts(u) for w in wanted for u in used)


class NodePorts:
    NAME = NAME
    STATIC = False
    RESOLVABLE = True
    EVENTS = frozenset({NODE_ADD, POD_DELETE})

    def mask(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None:
        if not pod.host_ports:
            return None
        # Only pods with host ports pay for this loop; nodes without such pods pass at once.
        return np.fromiter((fits(pod.host_ports, nodes.used_ports(i)) for i in range(lo, hi)),
                           dtype=bool, count=hi - lo)

    def reasons(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]:
        return count_reason(failing, REASON)
