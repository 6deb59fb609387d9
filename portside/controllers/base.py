"""The reconcile loop every controller is: informers feed keys to a work queue; workers run ``sync(key)``.

``sync`` is level-triggered and idempotent: it reads the current state (from the informer caches), converges
it, and may be called any number of times for the same key. An exception requeues the key with back-off; a clean
return forgets its failure count. Controllers never sleep to wait for something: they wait on watches.
"""

from __future__ import annotations

import asyncio
import logging

from portside.client import Client
from portside.controllers.informer import Informer
from portside.controllers.queue import WorkQueue
from portside.metrics.instruments import track_queue

log = logging.getLogger("portside.controllers")


class Controller:
    name = "controller"
    workers = 2

    def __init__(self, client: Client) -> None:
        self.client = client
        self.queue = WorkQueue()
        self.informers: list[Informer] = []

    def informer(self, informer: Informer) -> Informer:
        self.informers.append(informer)
        return informer

    async def sync(self, key: str) -> None:
        raise NotImplementedError

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Start informers, wait until their caches are filled, then work keys until cancelled."""
        track_queue(self.name, self.queue)
        try:
            async with asyncio.TaskGroup() as group:
                for inf in self.informers:
                    group.create_task(inf.run(), name=f"{self.name}:{inf.info.plural}")
                await asyncio.gather(*(inf.synced.wait() for inf in self.informers))
                if ready is not None:
                    ready.set()
                for i in range(self.workers):
                    group.create_task(self._work(), name=f"{self.name}:worker{i}")
        finally:
            self.queue.close()

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.sync(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self.queue.retry(key)
                log.warning("%s: sync %s failed (%s); retrying in %.2fs", self.name, key, exc, delay)
            finally:
                self.queue.done(key)
