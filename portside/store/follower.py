"""Keeping an in-memory view of one key prefix current: list the prefix, then watch it from the listed revision.

Parts of the API server answer from memory what they would otherwise read from the store on every request (the
RBAC index, the node credentials, admission's LimitRanges, quotas and namespaces), as Kubernetes components
answer from informer caches. Each needs the same loop with the same failure cases, so it is written once, here:

- a watch that ends or breaks (the fan-out dropped a slow reader, an etcd member went away) resumes from the
  last revision seen, so no change is missed or applied twice;
- a watch refused as ``Compacted`` (the history from that revision is gone) lists the prefix again: the view is
  reset and rebuilt from what is there now;
- a closed store ends the follower: nothing under the prefix can change any more.

The follower knows keys, bytes and revisions only; what a value means is its owner's business, told through two
callbacks: ``reset()`` (forget everything) and ``apply(key, value, revision)`` (``value`` None: the key was
deleted). Both run on the event loop between awaits, so a reader of the view never sees half a change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from portside.store.types import Closed, Compacted, Event, EventType, Store, StoreError

RETRY_S = 0.5  # the pause before a broken watch is opened again


class Follower:
    def __init__(self, store: Store, prefix: str, *, reset: Callable[[], None],
                 apply: Callable[[str, bytes | None, int], None], name: str, log: logging.Logger, what: str,
                 retry_s: float = RETRY_S) -> None:
        """``name`` names the following task; ``log`` and ``what`` say, at debug level, when a watch broke."""
        self.store, self.prefix = store, prefix
        self._reset, self._apply = reset, apply
        self.name, self.log, self.what, self.retry_s = name, log, what, retry_s
        self.revision = 0  # every change under the prefix up to this revision has been applied
        self._changed = asyncio.Condition()
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Load the prefix (a failure reaches the caller) and follow it from there in a task of its own."""
        await self._load()
        self._task = asyncio.create_task(self._follow(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds, testing it after each load and each change applied. There is no
        timeout here: a watch may lag for long, and only the caller knows how long it can wait."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    async def _load(self) -> None:
        listed = await self.store.list(self.prefix)
        self._reset()  # only now: a failed list leaves the old view in place
        for kv in listed.items:
            self._apply(kv.key, kv.value, kv.mod_revision)
        self.revision = listed.revision
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _follow(self) -> None:
        while True:
            try:
                await self._watch_or_reload()
            except Closed:
                return
            except (StoreError, OSError) as exc:
                self.log.debug("%s: watch ended (%s); resuming from %d", self.what, exc, self.revision)
            await asyncio.sleep(self.retry_s)

    async def _watch_or_reload(self) -> None:
        try:
            await self._watch()
        except Compacted:
            await self._load()  # failing, it is retried: a watch from the old revision is refused again

    async def _watch(self) -> None:
        stream = await self.store.watch(self.prefix, self.revision)
        try:
            async for item in stream:
                if isinstance(item, Event):
                    put = item.type is EventType.PUT
                    self._apply(item.kv.key, item.kv.value if put else None, item.kv.mod_revision)
                    await self._notify()
                self.revision = max(self.revision, item.revision)
        finally:
            stream.close()
