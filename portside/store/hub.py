"""In-process fan-out of committed changes to open watches.

A watch subscribes before it reads its history, so no change can fall between the two; changes that appear in
both are told apart by revision and yielded once. Backends feed ``publish`` on the event loop thread, in revision
order, so ``published`` is a revision up to which every subscriber has been offered every change: a quiet
subscriber may report it as progress (a bookmark) without risk of skipping anything. A subscriber that falls
too far behind is ended rather than buffered without bound, as Kubernetes ends a watch whose channel is full.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from portside.store.types import Event, Progress

_END = object()
MAX_PENDING_BATCHES = 20_000  # a watcher this far behind is ended; it resumes from its last revision


class Subscription:
    def __init__(self, hub: Hub, prefix: str) -> None:
        self.hub, self.prefix = hub, prefix
        self.queue: asyncio.Queue = asyncio.Queue()

    def offer(self, events: list[Event]) -> None:
        mine = [e for e in events if e.kv.key.startswith(self.prefix)]
        if mine:
            self.queue.put_nowait(mine)

    async def _next(self, progress_every: float):
        if progress_every <= 0:
            return await self.queue.get()
        try:
            return await asyncio.wait_for(self.queue.get(), progress_every)
        except TimeoutError:
            return None

    async def batches(self, history: list[Event], start: int, progress_every: float = 0
                      ) -> AsyncIterator[list[Event] | Progress]:
        """Changes as they were committed together (one write round), so a consumer can send them at once."""
        last = start
        if history:
            last = history[-1].revision
            yield history
        while True:
            batch = await self._next(progress_every)
            if batch is _END:
                return
            if batch is None:
                last = max(last, self.hub.published)
                yield Progress(last)
                continue
            fresh = [e for e in batch if e.revision > last]
            if fresh:
                last = fresh[-1].revision
                yield fresh


async def flatten(batches: AsyncIterator[list[Event] | Progress]) -> AsyncIterator[Event | Progress]:
    async for batch in batches:
        if isinstance(batch, Progress):
            yield batch
        else:
            for event in batch:
                yield event


class Hub:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self.published = 0

    def subscribe(self, prefix: str) -> Subscription:
        sub = Subscription(self, prefix)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.discard(sub)
            sub.queue.put_nowait(_END)

    def publish(self, events: list[Event]) -> None:
        for sub in list(self._subs):
            if sub.queue.qsize() >= MAX_PENDING_BATCHES:
                self.unsubscribe(sub)  # bounded memory: a stalled reader cannot make the server hold everything
            else:
                sub.offer(events)
        self.published = events[-1].revision

    def close_all(self) -> None:
        for sub in list(self._subs):
            self.unsubscribe(sub)
