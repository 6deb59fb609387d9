"""The scheduling queue: active (by QueueSort: priority, then age), back-off, and parked-unschedulable pods.

A pod that failed for lack of room is parked, not retried in a loop; it returns when a cluster event that could
help arrives: an event any of the plugins that refused it lists in its ``EVENTS`` (a pod deleted frees room for
NodeResourcesFit, a node added helps almost everyone). Returning pods pass through back-off (1 s doubling to
10 s per attempt, kube-scheduler's defaults) so a flapping cluster cannot make the scheduler spin. A pod parked
longer than ``max_parked`` (5 min) is retried anyway, a safety net for events nobody declared.

Time is passed in, never read: the simulator drives the queue with a virtual clock, the daemon with the real one.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from portside.scheduler.model import PodInfo
from portside.scheduler.parked import ParkedPods
from portside.scheduler.queuesort import PrioritySort

ACTIVE, BACKOFF, PARKED = "active", "backoff", "parked"
Hint = Callable[[PodInfo], bool]


@dataclass(slots=True, eq=False)
class QueuedPod:
    pod: PodInfo
    enqueued: float
    attempts: int = 0
    failed_plugins: frozenset[str] = frozenset()
    backoff_until: float = 0.0
    parked_at: float = 0.0
    message: str = ""
    popped_at_event: int = 0
    sort_key: tuple = ()


@dataclass
class SchedulingQueue:
    sort: PrioritySort = field(default_factory=PrioritySort)
    interest: dict[str, frozenset[str]] = field(default_factory=dict)
    initial_backoff: float = 1.0
    max_backoff: float = 10.0
    max_parked: float = 300.0

    def __post_init__(self) -> None:
        self._seq = itertools.count()
        self._active: list[tuple[tuple, int, str]] = []
        self._backoff: list[tuple[float, int, str]] = []
        self.entries: dict[str, QueuedPod] = {}
        self.state: dict[str, str] = {}
        self._parked = ParkedPods()
        self._interest_memo: dict[tuple, tuple[bool, tuple]] = {}
        self.events = 0

    def __len__(self) -> int:
        return len(self.entries)

    def counts(self) -> dict[str, int]:
        out = {ACTIVE: 0, BACKOFF: 0, PARKED: 0}
        for where in self.state.values():
            out[where] += 1
        return out

    # --- intake -------------------------------------------------------------------------------------------------
    def add(self, pod: PodInfo, now: float) -> None:
        """A new pending pod, or a changed one (a changed pod may now fit: it goes straight to active)."""
        qp = self.entries.get(pod.uid)
        if qp is None:
            qp = self.entries[pod.uid] = QueuedPod(pod, now)
        qp.pod = pod
        self._activate(qp)

    def delete(self, uid: str) -> QueuedPod | None:
        self._set(uid, None)  # heap entries of a deleted pod are skipped when popped
        return self.entries.pop(uid, None)

    def _set(self, uid: str, where: str | None) -> None:
        if where is None:
            self.state.pop(uid, None)
        else:
            self.state[uid] = where
        if where == PARKED:
            self._parked.add(self.entries[uid])
        else:
            self._parked.remove(uid)

    def _activate(self, qp: QueuedPod) -> None:
        self._set(qp.pod.uid, ACTIVE)
        heapq.heappush(self._active, (self.sort.key(qp.pod), next(self._seq), qp.pod.uid))

    def _to_backoff(self, qp: QueuedPod, now: float) -> None:
        if qp.backoff_until <= now:
            self._activate(qp)
            return
        self._set(qp.pod.uid, BACKOFF)
        heapq.heappush(self._backoff, (qp.backoff_until, next(self._seq), qp.pod.uid))

    # --- the cycle ----------------------------------------------------------------------------------------------
    def pop(self, now: float) -> QueuedPod | None:
        self.flush(now)
        while self._active:
            _, _, uid = heapq.heappop(self._active)
            if self.state.get(uid) == ACTIVE:
                self._set(uid, None)
                qp = self.entries.pop(uid)
                qp.attempts += 1
                qp.popped_at_event = self.events
                return qp
        return None

    def _backoff_for(self, qp: QueuedPod) -> float:
        return min(self.max_backoff, self.initial_backoff * 2 ** max(0, qp.attempts - 1))

    def park(self, qp: QueuedPod, now: float, plugins: set[str], message: str) -> None:
        """The pod fits nowhere. If an event arrived while it was being tried, it may already fit: back off."""
        qp.failed_plugins, qp.message = frozenset(plugins), message
        qp.backoff_until = now + self._backoff_for(qp)
        self.entries[qp.pod.uid] = qp
        if self.events != qp.popped_at_event:
            self._to_backoff(qp, now)
            return
        qp.parked_at = now
        qp.sort_key = self.sort.key(qp.pod)
        self._set(qp.pod.uid, PARKED)

    def retry(self, qp: QueuedPod, now: float) -> None:
        """An error (bind conflict, API failure): try again after back-off."""
        qp.backoff_until = now + self._backoff_for(qp)
        self.entries[qp.pod.uid] = qp
        self._to_backoff(qp, now)

    def on_event(self, event: str, now: float, hints: dict[str, Hint] | None = None) -> int:
        """A cluster event: move the parked pods it could help. Returns how many moved.

        ``hints`` refine the plugins' interest for this one event, as kube-scheduler's QueueingHints do: a pod
        refused for room is moved on a pod deletion only if the room freed on that node would hold it. Without
        them every pod parked by a plugin interested in the event would be retried, and a busy cluster would
        retry its whole backlog on every pod that finishes.
        """
        self.events += 1
        hints = hints or {}
        moved = self._parked.wake(lambda plugins: self._interest(event, plugins, hints),
                                  lambda qp, names: any(hints[name](qp.pod) for name in names))
        for qp in moved:
            self._to_backoff(qp, now)
        return len(moved)

    def wake(self, uid: str, now: float) -> None:
        """Move one parked pod (a preemptor whose victims are leaving) to back-off."""
        if self.state.get(uid) == PARKED:
            self._to_backoff(self.entries[uid], now)

    def _interest(self, event: str, plugins: frozenset[str], hints: dict[str, Hint]) -> tuple[bool, tuple]:
        """(moved without asking, plugins whose hint decides) for pods refused by ``plugins``; memoised, as a
        backlog shares a handful of refusal sets."""
        key = (event, plugins, tuple(hints))
        found = self._interest_memo.get(key)
        if found is None:
            interested = [name for name in plugins if event in self.interest.get(name, ())]
            plain = not plugins or any(name not in hints for name in interested)
            found = self._interest_memo[key] = (plain, tuple(n for n in interested if n in hints))
        return found

    def flush(self, now: float) -> None:
        """Move pods whose back-off expired to active, and long-parked pods to back-off."""
        while self._backoff and self._backoff[0][0] <= now:
            _, _, uid = heapq.heappop(self._backoff)
            if self.state.get(uid) == BACKOFF:
                self._activate(self.entries[uid])

    def flush_parked(self, now: float) -> None:
        for qp in self._parked:
            if now - qp.parked_at >= self.max_parked:
                self._to_backoff(qp, now)

    def next_wakeup(self) -> float | None:
        """When back-off next releases a pod (the simulator advances its clock to it when idle)."""
        while self._backoff and self.state.get(self._backoff[0][2]) != BACKOFF:
            heapq.heappop(self._backoff)
        return self._backoff[0][0] if self._backoff else None

    def take_gang(self, namespace: str, gang: str) -> list[QueuedPod]:
        """Remove and return every queued member of a gang, whatever queue it waits in."""
        members = [qp for qp in self.entries.values()
                   if qp.pod.gang == gang and qp.pod.namespace == namespace]
        for qp in members:
            self.delete(qp.pod.uid)
            qp.attempts += 1
            qp.popped_at_event = self.events
        return members

    def parked(self) -> list[QueuedPod]:
        return list(self._parked)
