"""Counting pods per topology domain (a zone, a host, any node label), shared by affinity and spreading.

A domain is one value of a node label (the ``topologyKey``); a node without the label belongs to no domain.

Counting by walking every placed pod for every term of every incoming pod costs O(pods) Python work per pod,
which at 30,000 placed pods is the whole budget. Instead ``PodCounts`` keeps, per (selector, namespaces) that
some pod has asked about, a per-node-row count of the placed pods it matches, updated on every assume and
forget; a term then costs one ``bincount`` over the node rows. ``AntiHolders`` does the same for the placed pods'
own required anti-affinity terms (the symmetric rule), so an incoming pod checks a handful of distinct terms, not
every pod that holds one. Both find the keys a pod may match through ``LabelBuckets``: a selector is filed under
the (key, value) pairs of its first ``In`` requirement, so a pod is only tested against selectors that can
match its labels.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np

from portside.scheduler.model import PodAffinityTerm, PodInfo, Selector

MAX_KEYS = 4096  # distinct (selector, namespaces) counted; the oldest is dropped beyond (recomputed if asked again)


def term_namespaces(term: PodAffinityTerm, pod: PodInfo) -> tuple[str, ...] | None:
    """The namespaces a term looks in; None for all (an empty ``namespaceSelector``)."""
    if term.all_namespaces:
        return None
    return term.namespaces or (pod.namespace,)


def in_namespaces(namespace: str, namespaces: tuple[str, ...] | None) -> bool:
    return namespaces is None or namespace in namespaces


def _bucket_pairs(selector: Selector) -> list[tuple[str, str]] | None:
    """The (key, value) pairs a matching pod must carry one of; None when no requirement pins a value."""
    for req in selector.requirements:
        if req.operator == "In":
            return [(req.key, v) for v in req.values]
    return None


class LabelBuckets:
    """Keys (each with a selector) filed so that ``candidates(labels)`` returns a small superset of the matches."""

    def __init__(self) -> None:
        self.by_pair: dict[tuple[str, str], set[Hashable]] = {}
        self.general: set[Hashable] = set()

    def add(self, key: Hashable, selector: Selector) -> None:
        pairs = _bucket_pairs(selector)
        if selector.nothing:
            return  # matches no pod: never a candidate
        if pairs is None:
            self.general.add(key)
        for pair in pairs or ():
            self.by_pair.setdefault(pair, set()).add(key)

    def discard(self, key: Hashable, selector: Selector) -> None:
        self.general.discard(key)
        for pair in _bucket_pairs(selector) or ():
            keys = self.by_pair.get(pair)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.by_pair[pair]

    def candidates(self, labels: dict[str, str]) -> Iterable[Hashable]:
        if not self.by_pair:
            return self.general
        found = set(self.general)
        for pair in labels.items():
            found.update(self.by_pair.get(pair, ()))
        return found


class PodCounts:
    """Per (selector, namespaces): how many placed pods on each node row match, kept current on assume/forget."""

    def __init__(self) -> None:
        self.counts: dict[tuple[Selector, tuple[str, ...] | None], np.ndarray] = {}
        self.buckets = LabelBuckets()

    def grow(self, capacity: int) -> None:
        for key, counts in self.counts.items():
            self.counts[key] = _padded(counts, capacity)

    def get(self, nodes, selector: Selector, namespaces: tuple[str, ...] | None) -> np.ndarray:
        """Counts per node row ``[: nodes.n]``; the first ask for a key walks the placed pods once."""
        key = (selector, namespaces)
        counts = self.counts.get(key)
        if counts is None:
            counts = np.zeros(nodes.alive.shape[0], dtype=np.int64)
            if not selector.nothing:
                for pod, row in nodes.placed.values():
                    if in_namespaces(pod.namespace, namespaces) and selector.matches(pod.labels):
                        counts[row] += 1
            if len(self.counts) >= MAX_KEYS:
                old = next(iter(self.counts))
                del self.counts[old]
                self.buckets.discard(old, old[0])
            self.counts[key] = counts
            self.buckets.add(key, selector)
        return counts[: nodes.n]

    def change(self, pod: PodInfo, row: int, delta: int) -> None:
        for key in self.buckets.candidates(pod.labels):
            selector, namespaces = key
            if in_namespaces(pod.namespace, namespaces) and selector.matches(pod.labels):
                self.counts[key][row] += delta


class AntiHolders:
    """Placed pods' required anti-affinity terms, grouped: per distinct (selector, namespaces, topologyKey), how
    many pods holding it run on each node row. An incoming pod that a group's selector matches must keep out of
    every domain where the group has a holder."""

    def __init__(self) -> None:
        self.holders: dict[tuple[Selector, tuple[str, ...] | None, str], np.ndarray] = {}
        self.buckets = LabelBuckets()
        self.capacity = 0

    def grow(self, capacity: int) -> None:
        self.capacity = capacity
        for key, counts in self.holders.items():
            self.holders[key] = _padded(counts, capacity)

    def change(self, pod: PodInfo, row: int, delta: int) -> None:
        for term in pod.anti_affinity:
            key = (term.selector, term_namespaces(term, pod), term.topology_key)
            counts = self.holders.get(key)
            if counts is None:
                counts = self.holders[key] = np.zeros(self.capacity, dtype=np.int64)
                self.buckets.add(key, term.selector)
            counts[row] += delta
            if delta < 0 and not counts.any():
                del self.holders[key]
                self.buckets.discard(key, term.selector)

    def matching(self, pod: PodInfo) -> list[tuple[str, np.ndarray]]:
        """(topologyKey, holders per node row) of the groups whose terms match the pod."""
        out = []
        for key in self.buckets.candidates(pod.labels):
            selector, namespaces, topology_key = key
            if in_namespaces(pod.namespace, namespaces) and selector.matches(pod.labels):
                out.append((topology_key, self.holders[key]))
        return out


def _padded(counts: np.ndarray, capacity: int) -> np.ndarray:
    out = np.zeros(capacity, dtype=counts.dtype)
    out[: counts.shape[0]] = counts
    return out


@dataclass(frozen=True, slots=True)
class Domains:
    """The node rows' domains for one label key, derived once per node-table generation.

    ``unique`` says every node with the key has its own value (``kubernetes.io/hostname``): then a node's domain
    total is its own count and no grouping is needed, the common case of per-host (anti-)affinity and spreading.
    """

    codes: np.ndarray
    has_key: np.ndarray
    clipped: np.ndarray
    count: int
    unique: bool


def domains_of(codes: np.ndarray, count: int) -> Domains:
    has_key = codes >= 0
    per_value = np.bincount(codes[has_key], minlength=count)
    return Domains(codes, has_key, np.clip(codes, 0, None), count, not per_value.size or int(per_value.max()) <= 1)


def domain_totals(nodes, key: str, counts: np.ndarray, eligible: np.ndarray | None = None) -> np.ndarray:
    """Per node row, the sum of ``counts`` over the nodes of its domain (0 for a node outside any domain); with
    ``eligible``, only those node rows' counts are summed."""
    d = nodes.domains(key)
    valid = d.has_key if eligible is None else d.has_key & eligible
    counts = np.where(valid, counts[: nodes.n], 0)
    if d.unique or not d.count:
        return counts
    # Rows outside any domain weigh 0, so their clipped code 0 adds nothing: no gather of the valid rows needed.
    per_code = np.bincount(d.clipped, weights=counts, minlength=d.count)
    return np.where(d.has_key, per_code[d.clipped], 0)


def term_counts(nodes, term: PodAffinityTerm, pod: PodInfo) -> np.ndarray:
    """For every node row, how many pods matching ``term`` run in that node's domain."""
    counts = nodes.pod_counts.get(nodes, term.selector, term_namespaces(term, pod))
    return domain_totals(nodes, term.topology_key, counts)
