"""Pods parked as unschedulable, grouped so that a cluster event finds the pods it could help without asking
each parked pod in turn.

Pods refused by the same plugins with the same requests are helped alike by any event, so they share a group,
and each group is a heap in queue order (priority, then age). An event decides per group: move all of it, none
of it, or, with a budgeted hint (the room a deleted pod freed), pop pods across all groups in queue order for
as long as the hint says the next one fits. Entries of pods that left a group are dropped lazily.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portside.scheduler.queue import QueuedPod

Decide = Callable[[frozenset], tuple[bool, tuple]]  # refusing plugins -> (move all, hint names to ask)
Ask = Callable[["QueuedPod", tuple], bool]


def shape(qp: QueuedPod) -> tuple:
    return tuple(sorted(qp.pod.requests.items()))


class ParkedPods:
    def __init__(self) -> None:
        self.by_uid: dict[str, QueuedPod] = {}
        self.groups: dict[tuple, list[tuple[tuple, int, str]]] = {}
        self._seq = itertools.count()
        self._entry: dict[str, int] = {}  # uid -> seq of its live heap entry

    def __len__(self) -> int:
        return len(self.by_uid)

    def __iter__(self) -> Iterator[QueuedPod]:
        return iter(list(self.by_uid.values()))

    def add(self, qp: QueuedPod) -> None:
        uid, seq = qp.pod.uid, next(self._seq)
        self.by_uid[uid], self._entry[uid] = qp, seq
        heapq.heappush(self.groups.setdefault((qp.failed_plugins, shape(qp)), []), (qp.sort_key, seq, uid))

    def remove(self, uid: str) -> None:
        self.by_uid.pop(uid, None)
        self._entry.pop(uid, None)

    def _head(self, key: tuple) -> tuple | None:
        heap = self.groups[key]
        while heap and self._entry.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
        if not heap:
            del self.groups[key]
            return None
        return heap[0]

    def _pop(self, key: tuple) -> QueuedPod:
        _, _, uid = heapq.heappop(self.groups[key])
        qp = self.by_uid[uid]
        self.remove(uid)
        return qp

    def wake(self, decide: Decide, ask: Ask) -> list[QueuedPod]:
        """Remove and return the parked pods an event helps (see the module docstring)."""
        moved: list[QueuedPod] = []
        heads: list[tuple[tuple, tuple, tuple]] = []
        for key in list(self.groups):
            everyone, hinted = decide(key[0])
            if everyone:
                while self._head(key) is not None:
                    moved.append(self._pop(key))
            elif hinted and (head := self._head(key)) is not None:
                heads.append((head[0], key, hinted))
        heapq.heapify(heads)
        while heads:
            _, key, hinted = heapq.heappop(heads)
            if not ask(self.by_uid[self._head(key)[2]], hinted):
                continue  # this shape does not fit the rest of the budget; the group waits
            moved.append(self._pop(key))
            if (head := self._head(key)) is not None:
                heapq.heappush(heads, (head[0], key, hinted))
        return moved
