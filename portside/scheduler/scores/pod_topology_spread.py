"""PodTopologySpread scoring: for ScheduleAnyway constraints, prefer the domain holding the fewest matching pods
(the sum over constraints of matching pods in the node's domain; fewer is better)."""

from __future__ import annotations

import numpy as np

from portside.scheduler.filters.pod_topology_spread import domain_counts, eligible_rows
from portside.scheduler.framework import CycleState
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.scores.normalize import reverse

NAME = "PodTopologySpread"


def soft(pod: PodInfo) -> list:
    return [c for c in pod.spread if c.when_unsatisfiable == "ScheduleAnyway"]


class PodTopologySpreadScore:
    NAME = NAME

    def skip(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> bool:
        return not pod.spread or not soft(pod)

    def score(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray:
        total = np.zeros(nodes.n)
        eligible = eligible_rows(pod, nodes)
        for c in soft(pod):
            total += domain_counts(pod, c, nodes, eligible)[0]
        return reverse(total[idx])
