"""The work queue controllers share: each key at most once in line, never worked by two workers at once,
failed keys retried after an exponential back-off.

Handlers only ``add`` keys; a key added while it is being worked is worked again after (its state changed
meanwhile), which is why ``sync`` must be level-triggered: it reads current state, not the event that caused it.
"""

from __future__ import annotations

import asyncio
from collections import deque

BASE_DELAY_S = 0.05
MAX_DELAY_S = 30.0


class WorkQueue:
    def __init__(self) -> None:
        self._line: deque[str] = deque()
        self._queued: set[str] = set()
        self._active: set[str] = set()
        self._again: set[str] = set()
        self._failures: dict[str, int] = {}
        self._wakeup = asyncio.Event()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._line)

    def add(self, key: str) -> None:
        if key in self._active:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._line.append(key)
            self._wakeup.set()

    async def get(self) -> str:
        while not self._line:
            self._wakeup.clear()
            await self._wakeup.wait()
        key = self._line.popleft()
        self._queued.discard(key)
        self._active.add(key)
        return key

    def done(self, key: str) -> None:
        self._active.discard(key)
        if key in self._again:
            self._again.discard(key)
            self.add(key)

    def retry(self, key: str) -> float:
        """Add ``key`` again after its back-off (doubling per consecutive failure); returns the delay."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay = min(MAX_DELAY_S, BASE_DELAY_S * (2 ** failures))
        if key not in self._timers:
            self._timers[key] = asyncio.get_running_loop().call_later(delay, self._fire, key)
        return delay

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
