"""Node state as NumPy arrays, so that filtering and scoring one pod over every node is a few vector operations.

A node is a row index (a removed node's row stays, marked dead, so indices held elsewhere never shift). The
resource matrices ``alloc``/``requested``/``free`` are stored resource-major, shape (resources, nodes), so that
one resource over a window of nodes is a contiguous slice; resources are in ``resources`` order: cpu in millicores, memory and storage in bytes,
``pods`` as a count, extended resources in their own units. ``requested`` includes pods that are assumed
(reserved, binding in flight) as well as bound ones: placement must never count the same room twice.

Labels are encoded per key as an int32 column of value codes (-1 where the node lacks the key), so a selector
is a comparison over a column; taints are a boolean matrix over the distinct taints of the cluster. Every change
to node labels, taints or schedulability bumps ``generation``, which invalidates cached feasibility masks.
The claims, volumes and storage classes pods are placed against ride along in ``volumes`` (``volumes.py``).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from portside.scheduler.model import HostPort, NodeInfo, PodInfo, Taint
from portside.scheduler.topology import AntiHolders, Domains, PodCounts, domains_of
from portside.scheduler.volumes import VolumeView

CORE_RESOURCES = ("cpu", "memory", "ephemeral-storage", "pods")


class NodeArrays:
    """All nodes of a cluster snapshot, with incremental updates on bind, unbind and node change."""

    def __init__(self, capacity: int = 64) -> None:
        self.resources: list[str] = list(CORE_RESOURCES)
        self.res_index = {r: i for i, r in enumerate(self.resources)}
        self.n = 0
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.infos: list[NodeInfo | None] = []
        self.alloc = np.zeros((len(self.resources), capacity), dtype=np.int64)
        self.requested = np.zeros_like(self.alloc)
        self.free = np.zeros_like(self.alloc)
        self.inv_alloc = np.zeros(self.alloc.shape, dtype=float)
        self.alive = np.zeros(capacity, dtype=bool)
        self.unschedulable = np.zeros(capacity, dtype=bool)
        self.label_codes: dict[str, np.ndarray] = {}
        self.label_vocab: dict[str, dict[str, int]] = {}
        self.taints: list[Taint] = []
        self.taint_matrix = np.zeros((capacity, 0), dtype=bool)
        self.pods: list[dict[str, PodInfo]] = []
        self.placed: dict[str, tuple[PodInfo, int]] = {}
        self.priorities: Counter[int] = Counter()  # of placed pods: tells at once whether anyone could be preempted
        self.by_priority: dict[int, np.ndarray] = {}  # requested per priority, (resources, nodes): preemption's room
        self.image_rows: set[int] = set()
        self.generation = 0
        self.pods_version = 0
        self._columns: dict[tuple[str, ...], slice | np.ndarray] = {}
        self._domains: dict[str, tuple[int, Domains]] = {}
        self.pod_counts = PodCounts()  # placed pods per node matching the selectors pods have asked about
        self.anti_holders = AntiHolders()  # placed pods' required anti-affinity terms, per node
        self.anti_holders.grow(capacity)
        self._req_cache: dict[str, tuple[int, np.ndarray, tuple[str, ...]]] = {}
        self.volumes = VolumeView()  # claims and volumes, beside the node table: plugins see the cluster through it

    # --- growth -------------------------------------------------------------------------------------------------
    def _grow_rows(self) -> None:
        cap = max(64, 2 * self.alloc.shape[1])
        self.alloc = _resize(self.alloc.T, cap).T.copy()
        self.requested = _resize(self.requested.T, cap).T.copy()
        self.free = _resize(self.free.T, cap).T.copy()
        self.inv_alloc = _resize(self.inv_alloc.T, cap).T.copy()
        self.by_priority = {p: _resize(m.T, cap).T.copy() for p, m in self.by_priority.items()}
        self.alive = _resize(self.alive, cap)
        self.unschedulable = _resize(self.unschedulable, cap)
        self.taint_matrix = _resize(self.taint_matrix, cap)
        self.label_codes = {k: _resize(v, cap, fill=-1) for k, v in self.label_codes.items()}
        self.pod_counts.grow(cap)
        self.anti_holders.grow(cap)

    def _resource_column(self, name: str) -> int:
        col = self.res_index.get(name)
        if col is None:
            col = len(self.resources)
            self.resources.append(name)
            self.res_index[name] = col
            pad = np.zeros((1, self.alloc.shape[1]), dtype=np.int64)
            self.alloc = np.vstack([self.alloc, pad])
            self.requested = np.vstack([self.requested, pad])
            self.free = np.vstack([self.free, pad])
            self.inv_alloc = np.vstack([self.inv_alloc, pad.astype(float)])
            self.by_priority = {p: np.vstack([m, pad]) for p, m in self.by_priority.items()}
            self._columns.clear()
        return col

    def _taint_column(self, taint: Taint) -> int:
        if taint not in self.taints:
            self.taints.append(taint)
            pad = np.zeros((self.taint_matrix.shape[0], 1), dtype=bool)
            self.taint_matrix = np.hstack([self.taint_matrix, pad])
        return self.taints.index(taint)

    def _label_code(self, key: str, value: str) -> int:
        vocab = self.label_vocab.setdefault(key, {})
        if key not in self.label_codes:
            self.label_codes[key] = np.full(self.alloc.shape[1], -1, dtype=np.int32)
        return vocab.setdefault(value, len(vocab))

    # --- nodes --------------------------------------------------------------------------------------------------
    def set_node(self, info: NodeInfo) -> int:
        """Add a node or replace its spec (labels, taints, allocatable); pods placed on it stay."""
        i = self.index.get(info.name)
        if i is None:
            i = self._new_row(info.name)
        self.infos[i] = info
        self.alive[i] = True
        self.unschedulable[i] = info.unschedulable
        self.alloc[:, i] = 0
        for name, amount in info.allocatable.items():
            col = self._resource_column(name)  # may widen the arrays: look it up before indexing
            self.alloc[col, i] = amount
        self._refresh_row(i)
        self._set_labels(i, info.labels)
        self.image_rows.discard(i)
        if info.images:
            self.image_rows.add(i)
        self.taint_matrix[i] = False
        for taint in info.taints:
            col = self._taint_column(taint)
            self.taint_matrix[i, col] = True
        self.generation += 1
        return i

    def _refresh_row(self, i: int) -> None:
        self.free[:, i] = self.alloc[:, i] - self.requested[:, i]
        alloc = self.alloc[:, i].astype(float)
        self.inv_alloc[:, i] = np.divide(1.0, alloc, out=np.zeros_like(alloc), where=alloc > 0)

    def _new_row(self, name: str) -> int:
        if self.n == self.alloc.shape[1]:
            self._grow_rows()
        i = self.n
        self.n += 1
        self.names.append(name)
        self.index[name] = i
        self.infos.append(None)
        self.pods.append({})
        return i

    def _set_labels(self, i: int, labels: dict[str, str]) -> None:
        for codes in self.label_codes.values():
            codes[i] = -1
        for key, value in labels.items():
            code = self._label_code(key, value)
            self.label_codes[key][i] = code

    def remove_node(self, name: str) -> list[PodInfo]:
        """Mark a node dead; returns the pods that were on it, now forgotten."""
        i = self.index.get(name)
        if i is None or not self.alive[i]:
            return []
        evicted = list(self.pods[i].values())
        for pod in evicted:
            self.forget(pod.uid)
        self.alive[i] = False
        self.alloc[:, i] = 0
        self._refresh_row(i)
        self.generation += 1
        return evicted

    # --- pods ---------------------------------------------------------------------------------------------------
    def request_vector(self, pod: PodInfo) -> tuple[np.ndarray, tuple[str, ...]]:
        """The pod's requests as a vector over ``resources`` (plus 1 pod), and names no node offers at all."""
        cached = self._request(pod)
        return cached[1], cached[2]

    def request_columns(self, pod: PodInfo) -> list[tuple[int, int]] | None:
        """(column, amount) for each resource the pod requests: what a fit check has to compare; None when it
        requests a resource no node offers."""
        cached = self._request(pod)
        return None if cached[2] else cached[3]

    def _request(self, pod: PodInfo) -> tuple:
        cached = self._req_cache.get(pod.uid)
        if cached is not None and cached[0] == len(self.resources):
            return cached
        vec = np.zeros(len(self.resources), dtype=np.int64)
        vec[self.res_index["pods"]] = 1
        missing = []
        for name, amount in pod.requests.items():
            col = self.res_index.get(name)
            if col is None:
                if amount > 0:
                    missing.append(name)
            else:
                vec[col] = amount
        nonzero = [(int(c), int(vec[c])) for c in np.flatnonzero(vec)]
        entry = self._req_cache[pod.uid] = (len(self.resources), vec, tuple(missing), nonzero)
        return entry

    def assume(self, pod: PodInfo, i: int) -> None:
        """Count a pod on node row ``i`` (reserved or bound)."""
        vec, _ = self.request_vector(pod)
        self.requested[:, i] += vec
        self.free[:, i] -= vec
        if pod.priority not in self.by_priority:
            self.by_priority[pod.priority] = np.zeros_like(self.requested)
        self.by_priority[pod.priority][:, i] += vec
        self.pods[i][pod.uid] = pod
        self.placed[pod.uid] = (pod, i)
        if pod.anti_affinity:
            self.anti_holders.change(pod, i, 1)
        if self.pod_counts.counts:
            self.pod_counts.change(pod, i, 1)
        self.priorities[pod.priority] += 1
        self.pods_version += 1

    def forget(self, uid: str) -> tuple[PodInfo, int] | None:
        """Stop counting a pod (unreserve, deletion, completion); returns what it was and where."""
        entry = self.placed.pop(uid, None)
        if entry is None:
            return None
        pod, i = entry
        vec, _ = self.request_vector(pod)
        self.requested[:, i] -= vec
        self.free[:, i] += vec
        self.by_priority[pod.priority][:, i] -= vec
        del self.pods[i][uid]
        if pod.anti_affinity:
            self.anti_holders.change(pod, i, -1)
        if self.pod_counts.counts:
            self.pod_counts.change(pod, i, -1)
        self.priorities[pod.priority] -= 1
        if not self.priorities[pod.priority]:
            del self.priorities[pod.priority]
        self.pods_version += 1
        return entry

    def columns(self, names: tuple[str, ...]) -> slice | np.ndarray:
        """Row indices of the resources ``names`` that exist, as a slice when contiguous (a view, no copy)."""
        cached = self._columns.get(names)
        if cached is None:
            cols = [self.res_index[r] for r in names if r in self.res_index]
            cached = np.asarray(cols, dtype=np.intp)
            if cols and cols == list(range(cols[0], cols[0] + len(cols))):
                cached = slice(cols[0], cols[0] + len(cols))
            self._columns[names] = cached
        return cached

    def drop_request(self, uid: str) -> None:
        """Forget a deleted pod's cached request vector (kept across unreserve/reserve while it lives)."""
        self._req_cache.pop(uid, None)

    def used_ports(self, i: int) -> list[HostPort]:
        return [hp for pod in self.pods[i].values() for hp in pod.host_ports]

    def domains(self, key: str) -> Domains:
        """Label ``key``'s domains over the node rows, kept until nodes change."""
        found = self._domains.get(key)
        if found is None or found[0] != self.generation:
            found = self._domains[key] = (self.generation, domains_of(self.domain_codes(key),
                                                                       len(self.label_vocab.get(key, {}))))
        return found[1]

    def domain_codes(self, key: str) -> np.ndarray:
        """Per node, the code of its value for label ``key`` (-1 where absent)."""
        codes = self.label_codes.get(key)
        return codes[: self.n] if codes is not None else np.full(self.n, -1, dtype=np.int32)


def _resize(a: np.ndarray, rows: int, fill: int = 0) -> np.ndarray:
    out = np.full((rows,) + a.shape[1:], fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out
