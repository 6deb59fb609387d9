"""TaintToleration: a node with a NoSchedule or NoExecute taint the pod does not tolerate is refused.

PreferNoSchedule taints never refuse; the TaintToleration score weighs them. The refusal message names the
first untolerated taint of each node, as Kubernetes does ("node(s) had untolerated taint {key: value}").
"""

from __future__ import annotations

import numpy as np

from portside.scheduler.framework import NODE_ADD, NODE_UPDATE, CycleState
from portside.scheduler.model import PodInfo, Taint, Toleration
from portside.scheduler.nodes import NodeArrays

NAME = "TaintToleration"
REASON = "node(s) had untolerated taint {taint}"
HARD_EFFECTS = ("NoSchedule", "NoExecute")


def untolerated(taints: list[Taint], tolerations: tuple[Toleration, ...], effects: tuple[str, ...]) -> list[int]:
    """Columns of the cluster's taint vocabulary that the pod does not tolerate."""
    return [j for j, t in enumerate(taints)
            if t.effect in effects and not any(tol.tolerates(t) for tol in tolerations)]


def fits(matrix: np.ndarray, cols: list[int]) -> np.ndarray:
    return ~matrix[:, cols].any(axis=1)


class TaintToleration:
    NAME = NAME
    STATIC = True
    RESOLVABLE = False
    EVENTS = frozenset({NODE_ADD, NODE_UPDATE})

    def mask(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None:
        cols = untolerated(nodes.taints, pod.tolerations, HARD_EFFECTS)
        return fits(nodes.taint_matrix[lo:hi], cols) if cols else None

    def reasons(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]:
        cols = untolerated(nodes.taints, pod.tolerations, HARD_EFFECTS)
        hits = nodes.taint_matrix[: nodes.n][:, cols] & failing[:, None]
        first = np.argmax(hits, axis=1)[hits.any(axis=1)]
        out: dict[str, int] = {}
        for col, count in zip(*np.unique(first, return_counts=True)):
            out[REASON.format(taint=nodes.taints[cols[col]])] = int(count)
        return out
