"""Work a key again later: for moments no watch event marks (minReadySeconds passing, a deadline, a TTL)."""

from __future__ import annotations

import asyncio

from portside.controllers.queue import WorkQueue


def add_after(queue: WorkQueue, key: str, delay: float) -> None:
    asyncio.get_running_loop().call_later(max(delay, 0.0), queue.add, key)
