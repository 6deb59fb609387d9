"""TaintToleration scoring: fewer untolerated PreferNoSchedule taints is better."""

from __future__ import annotations

import numpy as np

from portside.scheduler.filters.taint_toleration import untolerated
from portside.scheduler.framework import CycleState
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.scores.normalize import reverse

NAME = "TaintToleration"


class TaintTolerationScore:
    NAME = NAME

    def skip(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> bool:
        return not nodes.taints or not untolerated(nodes.taints, pod.tolerations, ("PreferNoSchedule",))

    def score(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray:
        cols = untolerated(nodes.taints, pod.tolerations, ("PreferNoSchedule",))
        return reverse(nodes.taint_matrix[np.ix_(idx, cols)].sum(axis=1).astype(float))
