"""ImageLocality: prefer nodes that already hold the pod's images, so it starts without a pull.

As in Kubernetes, an image's size is scaled by the fraction of nodes that have it (an image everywhere is no
reason to pick one node) and the sum is mapped linearly from 23 MB (score 0) to 1000 MB per container (100).
"""

from __future__ import annotations

import numpy as np

from portside.scheduler.framework import CycleState
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays

NAME = "ImageLocality"
MIN_BYTES = 23 * 1024 * 1024
MAX_BYTES_PER_CONTAINER = 1000 * 1024 * 1024


def raw(pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray:
    infos = [nodes.infos[i] for i in range(nodes.n)]
    total = np.zeros(len(idx))
    for image in pod.images:
        have = np.array([bool(info and image in info.images) for info in infos])
        spread = have.sum() / max(1, int(nodes.alive[: nodes.n].sum()))
        sizes = np.array([infos[i].images.get(image, 0) if infos[i] else 0 for i in idx], dtype=float)
        total += sizes * spread
    return total


def score(total: np.ndarray, containers: int) -> np.ndarray:
    top = MAX_BYTES_PER_CONTAINER * max(1, containers)
    return np.clip((total - MIN_BYTES) / (top - MIN_BYTES), 0.0, 1.0) * 100.0


class ImageLocality:
    NAME = NAME

    def skip(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> bool:
        return not pod.images or not nodes.image_rows

    def score(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray:
        return score(raw(pod, nodes, idx), len(pod.images))
