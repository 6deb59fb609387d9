"""One profile's PreFilter, Filter, Score and Permit stages over the node arrays, and the diagnosis when nothing fits.

Each attempt carries a ``CycleState``: PreFilter plugins write into it what their Filter reads for every window.
Static filters (node fields only) give one mask per pod shape, cached until a node changes; dynamic filters
(room, ports, affinity) run on windows of node rows. The search starts where the previous one stopped and stops
once ``num_nodes_to_find`` feasible nodes are in hand, so successive pods look at different nodes and a large
cluster costs no more per pod than a mid-sized one.
"""

from __future__ import annotations

import numpy as np

from portside.scheduler.explain import Diagnosis, add
from portside.scheduler.framework import SUCCESS, Code, CycleState, Status
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.profile import Profile

MIN_FEASIBLE_NODES = 100
MIN_FEASIBLE_PERCENTAGE = 5
CHUNK = 512


def num_nodes_to_find(percentage: int, total: int) -> int:
    """How many feasible nodes to find before scoring, kube-scheduler's ``numFeasibleNodesToFind``.

    Below 100 nodes, all. Otherwise ``percentage`` of them; when the profile leaves it at 0 the percentage adapts
    to the cluster size, ``50 - total / 125``, but never below 5%; and never fewer than 100 nodes. For 5,000
    nodes: 10%, 500 nodes. The reason: past a few hundred candidates the best-scored node is hardly better, while
    filtering and scoring cost grows with every node looked at; rotating the start spreads the choice anyway.
    """
    if total < MIN_FEASIBLE_NODES:
        return total
    if percentage == 0:
        percentage = max(MIN_FEASIBLE_PERCENTAGE, 50 - total // 125)
    return max(MIN_FEASIBLE_NODES, total * percentage // 100)


def windows(start: int, total: int, size: int):
    """Row ranges ``[lo, hi)`` covering all rows once, beginning at ``start`` and wrapping around."""
    for lo in range(start, total, size):
        yield lo, min(total, lo + size)
    for lo in range(0, start, size):
        yield lo, min(start, lo + size)


class Cycle:
    """Runs one profile over one NodeArrays."""

    def __init__(self, profile: Profile, nodes: NodeArrays) -> None:
        self.profile = profile
        self.nodes = nodes
        self.static = [f for f in profile.filters if f.STATIC]
        self.dynamic = [f for f in profile.filters if not f.STATIC]
        self.prefilters = profile.prefilters
        self.reservers = profile.reservers
        self._masks: dict[tuple, np.ndarray] = {}
        self._generation = -1
        self.next_start = 0

    def static_mask(self, pod: PodInfo) -> np.ndarray:
        if self._generation != self.nodes.generation:
            self._masks.clear()
            self._generation = self.nodes.generation
        key = pod.static_key()
        mask = self._masks.get(key)
        if mask is None:
            mask = self.nodes.alive[: self.nodes.n].copy()
            state = CycleState()  # static filters keep no per-attempt state: their mask outlives the attempt
            for f in self.static:
                part = f.mask(state, pod, self.nodes, 0, self.nodes.n)
                if part is not None:
                    mask &= part
            self._masks[key] = mask
        return mask

    def prefilter(self, state: CycleState, pod: PodInfo) -> Status:
        """Every PreFilter of the profile, in order; the first refusal ends the attempt (SKIP is not one)."""
        for p in self.prefilters:
            status = p.prefilter(state, pod, self.nodes)
            if status is not SUCCESS and status.code is not Code.SUCCESS and status.code is not Code.SKIP:
                return status
        return SUCCESS

    def fresh_state(self, pod: PodInfo) -> CycleState:
        """A state prefiltered against the node arrays as they are now (preemption asks after each change)."""
        state = CycleState()
        self.prefilter(state, pod)
        return state

    def reserve(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        """The Reserve plugins whose PreFilter kept state for this pod (the others have nothing to decide: a pod
        without claims costs one dict lookup here), in order; on a refusal those that reserved are undone."""
        done = []
        for p in self.reservers:
            if p.NAME not in state:
                continue
            status = p.reserve(state, pod, self.nodes, node)
            if not status.ok:
                for q in done:
                    q.unreserve(pod, self.nodes)
                return status
            done.append(p)
        return SUCCESS

    def unreserve(self, pod: PodInfo) -> None:
        for p in self.reservers:
            p.unreserve(pod, self.nodes)

    def permit(self, state: CycleState, pod: PodInfo) -> Status:
        for p in self.profile.permits:
            status = p.permit(state, pod)
            if status is not SUCCESS and not status.ok:
                return status
        return SUCCESS

    def feasible(self, state: CycleState, pod: PodInfo) -> np.ndarray:
        """Rows of up to ``num_nodes_to_find`` nodes that pass every filter."""
        total = self.nodes.n
        if total == 0:
            return np.zeros(0, dtype=np.intp)
        want = num_nodes_to_find(self.profile.percentage_of_nodes_to_score, total)
        static = self.static_mask(pod)
        size = max(CHUNK, want)
        start = self.next_start
        if start + size <= total:  # the common case: one window holds enough feasible nodes
            rows = self._filter_window(state, pod, static, start, start + size)
            if len(rows) >= want:
                return self._took(rows[:want], total)
        found, count, processed = [], 0, 0
        for lo, hi in windows(start, total, size):
            processed += hi - lo
            rows = self._filter_window(state, pod, static, lo, hi)
            found.append(rows)
            count += len(rows)
            if count >= want:
                break
        rows = found[0] if len(found) == 1 else np.concatenate(found)
        if len(rows) >= want:
            return self._took(rows[:want], total)
        self.next_start = (start + processed) % total
        return rows

    def _took(self, rows: np.ndarray, total: int) -> np.ndarray:
        """The next search starts just past the last node this one used, as kube-scheduler's does."""
        self.next_start = (int(rows[-1]) + 1) % total
        return rows

    def _filter_window(self, state: CycleState, pod: PodInfo, static: np.ndarray, lo: int, hi: int) -> np.ndarray:
        mask = static[lo:hi]
        for f in self.dynamic:
            part = f.mask(state, pod, self.nodes, lo, hi)
            if part is not None:
                mask = mask & part
                if not mask.any():
                    break
        return mask.nonzero()[0] + lo

    def select(self, state: CycleState, pod: PodInfo) -> tuple[int | None, Status]:
        """PreFilter, Filter, Score: the best feasible node row for the pod, or None with the refusal."""
        status = self.prefilter(state, pod)
        if status is not SUCCESS:
            return None, status
        rows = self.feasible(state, pod)
        if len(rows) <= 1:
            return (int(rows[0]), SUCCESS) if len(rows) else (None, Status(Code.UNSCHEDULABLE))
        return int(rows[int(self.scores(state, pod, rows).argmax())]), SUCCESS

    def scores(self, state: CycleState, pod: PodInfo, rows: np.ndarray) -> np.ndarray:
        total = np.zeros(len(rows))
        for plugin, weight in self.profile.scores:
            if not plugin.skip(state, pod, self.nodes):
                total += weight * plugin.score(state, pod, self.nodes, rows)
        return total

    def diagnose(self, state: CycleState, pod: PodInfo) -> Diagnosis:
        """Every filter over every node, each node charged to the first filter that refuses it."""
        alive = self.nodes.alive[: self.nodes.n]
        diag = Diagnosis(total=int(alive.sum()))
        left = alive.copy()
        for f in self.profile.filters:
            part = f.mask(state, pod, self.nodes, 0, self.nodes.n)
            if part is None:
                continue
            failing = left & ~part
            if failing.any():
                add(diag.reasons, f.reasons(state, pod, self.nodes, failing))
                diag.plugins.add(f.NAME)
            left &= part
        return diag

    def resolvable_rows(self, pod: PodInfo) -> np.ndarray:
        """Rows that pass every filter preemption cannot change (labels, taints, names): its candidates."""
        mask = self.static_mask(pod).copy()
        return np.flatnonzero(mask)
