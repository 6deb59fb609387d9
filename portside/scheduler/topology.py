"""Counting pods per topology domain (a zone, a host, any node label), shared by affinity and spreading.

A domain is one value of a node label (the ``topologyKey``); a node without the label belongs to no domain.
Counts come from one pass over the placed pods that match a selector, then ``bincount`` over label codes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from portside.scheduler.model import LabelSelector, PodAffinityTerm, PodInfo
from portside.scheduler.nodes import NodeArrays


def matching_rows(nodes: NodeArrays, selector: LabelSelector, namespaces: tuple[str, ...]) -> np.ndarray:
    """Node rows of the placed pods in ``namespaces`` whose labels match (one entry per pod)."""
    rows = [i for pod, i in nodes.placed.values()
            if pod.namespace in namespaces and selector.matches(pod.labels)]
    return np.asarray(rows, dtype=np.intp)


def per_domain(nodes: NodeArrays, key: str, rows: np.ndarray, eligible: np.ndarray | None = None) -> np.ndarray:
    """Pods counted per label code of ``key``; with ``eligible``, only pods on those node rows count."""
    codes = nodes.domain_codes(key)
    if eligible is not None and rows.size:
        rows = rows[eligible[rows]]
    found = codes[rows] if rows.size else np.zeros(0, dtype=np.int32)
    return np.bincount(found[found >= 0], minlength=len(nodes.label_vocab.get(key, {})))


def node_counts(nodes: NodeArrays, key: str, per_code: np.ndarray) -> np.ndarray:
    """Spread a per-domain count back onto node rows (0 for nodes outside any domain)."""
    codes = nodes.domain_codes(key)
    if per_code.size == 0:
        return np.zeros(nodes.n, dtype=np.int64)
    return np.where(codes >= 0, per_code[np.clip(codes, 0, None)], 0)


def term_namespaces(term: PodAffinityTerm, pod: PodInfo) -> tuple[str, ...]:
    return term.namespaces or (pod.namespace,)


def term_counts(nodes: NodeArrays, term: PodAffinityTerm, pod: PodInfo) -> np.ndarray:
    """For every node row, how many pods matching ``term`` run in that node's domain."""
    rows = matching_rows(nodes, term.selector, term_namespaces(term, pod))
    return node_counts(nodes, term.topology_key, per_domain(nodes, term.topology_key, rows))


class PodMaskCache:
    """One pod's full-cluster mask, kept while the pod, the placed pods and the nodes stay the same.

    The cycle asks a filter for the mask of one window of nodes at a time; the pod-relative filters compute the
    mask for every node once and slice it, since their cost is in counting placed pods per domain, not per node.
    """

    def __init__(self) -> None:
        self._key: tuple[str, int, int] | None = None
        self._mask: np.ndarray | None = None

    def get(self, pod: PodInfo, nodes: NodeArrays, compute: Callable[[], np.ndarray]) -> np.ndarray:
        key = (pod.uid, nodes.pods_version, nodes.generation)
        if self._key != key:
            self._mask, self._key = compute(), key
        return self._mask
