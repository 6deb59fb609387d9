"""What a controller is still waiting to see in its watch after its own creates and deletes.

A create answered by the API server reaches the informer's cache later, through the watch. A sync that ran in
between would count too few pods and create again; so a controller records what it asked for and does not act on
a key until the watch has shown it all (or ``TTL_S`` has passed, in case an event was lost for good).
Kubernetes' ``ControllerExpectations`` is the precedent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

TTL_S = 300.0


@dataclass
class _Pending:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)  # uids
    since: float = field(default_factory=time.monotonic)


class Expectations:
    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}

    def expect(self, key: str, adds: int = 0, deletes: set[str] | None = None) -> None:
        self._pending[key] = _Pending(adds, set(deletes or ()))

    def observed_add(self, key: str) -> None:
        """A pod of ``key`` appeared (or one of its creates failed and never will)."""
        pending = self._pending.get(key)
        if pending is not None and pending.adds > 0:
            pending.adds -= 1

    def observed_delete(self, key: str, uid: str) -> None:
        pending = self._pending.get(key)
        if pending is not None:
            pending.deletes.discard(uid)

    def satisfied(self, key: str) -> bool:
        pending = self._pending.get(key)
        if pending is None:
            return True
        if pending.adds <= 0 and not pending.deletes:
            return True
        return time.monotonic() - pending.since > TTL_S

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)
