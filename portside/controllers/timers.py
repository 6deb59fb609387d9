"""Work a key again later: for moments no watch event marks (minReadySeconds passing, a deadline, a TTL)."""

from __future__ import annotations

import asyncio

from portside.controllers.queue import WorkQueue


def add_after(queue: WorkQueue, key: str, delay: float) -> None:
    asyncio.get_running_loop().call_later(max(delay, 0.0), queue.add, key)


class Wakeups:
    """One pending wake-up per key: a later ``at`` replaces the earlier one, so a key synced many times in a
    minute (a CronJob whose Job changes) still wakes once, at the time its last sync asked for."""

    def __init__(self, queue: WorkQueue) -> None:
        self.queue = queue
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def at(self, key: str, delay: float) -> None:
        self.cancel(key)
        self._timers[key] = asyncio.get_running_loop().call_later(max(delay, 0.0), self._fire, key)

    def cancel(self, key: str) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.queue.add(key)
