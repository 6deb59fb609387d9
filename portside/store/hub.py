"""In-process fan-out of committed changes to open watches.

A watch subscribes before it reads its history, so no change can fall between the two; changes that appear in
both are told apart by revision and yielded once. Backends feed ``publish`` on the event loop thread, in revision
order.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

from portside.store.types import Event

_END = object()


class Subscription:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.queue: asyncio.Queue = asyncio.Queue()

    def offer(self, events: list[Event]) -> None:
        mine = [e for e in events if e.kv.key.startswith(self.prefix)]
        if mine:
            self.queue.put_nowait(mine)

    async def stream(self, history: list[Event], start: int) -> AsyncIterator[Event]:
        last = start
        for event in history:
            last = event.revision
            yield event
        while True:
            batch = await self.queue.get()
            if batch is _END:
                return
            for event in batch:
                if event.revision > last:
                    last = event.revision
                    yield event


class Hub:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()

    def subscribe(self, prefix: str) -> Subscription:
        sub = Subscription(prefix)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.discard(sub)
            sub.queue.put_nowait(_END)

    def publish(self, events: list[Event]) -> None:
        for sub in self._subs:
            sub.offer(events)

    def close_all(self) -> None:
        for sub in list(self._subs):
            self.unsubscribe(sub)
