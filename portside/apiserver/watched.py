"""A resource's objects by namespace, in memory, kept current by a watch on the store: what admission reads on
every write (a namespace's LimitRanges, whether it has any ResourceQuota) without a store read per request, as
Kubernetes' admission plugins read informer caches.

The first read loads the objects and starts the watch; a broken watch resumes from the last revision it saw, a
compacted one loads again, and the watch ends with the store. A change made on this server is seen here within
the moment its watch event takes to arrive; what needs an exact answer (quota usage) reads the store itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from portside import api
from portside.apiserver.objects import resource_prefix
from portside.store import Closed, Compacted, Event, EventType, Progress, Store, StoreError

log = logging.getLogger("portside.apiserver")
RETRY_S = 0.5


class WatchedObjects:
    def __init__(self, store: Store, info: api.ResourceInfo) -> None:
        self.store, self.info = store, info
        self.prefix = resource_prefix(info)
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}  # namespace -> key -> object
        self._follower: asyncio.Task | None = None
        self._starting = asyncio.Lock()

    async def in_namespace(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's objects (shared: callers must not change them); for a cluster-scoped resource, the
        object of that name, if any."""
        if self._follower is None or self._follower.done():
            async with self._starting:
                if self._follower is None or self._follower.done():
                    revision = await self._load()
                    self._follower = asyncio.create_task(self._follow(revision), name=f"watched:{self.info.plural}")
        return list(self._objects.get(namespace, {}).values())

    def _namespace_of(self, key: str) -> str:
        return key.removeprefix(self.prefix).split("/", 1)[0]

    def _put(self, key: str, value: bytes | None) -> None:
        namespace = self._namespace_of(key)
        objects = self._objects.setdefault(namespace, {})
        if value is None:
            objects.pop(key, None)
            if not objects:
                del self._objects[namespace]
        else:
            objects[key] = json.loads(value)

    async def _load(self) -> int:
        listed = await self.store.list(self.prefix)
        self._objects = {}
        for kv in listed.items:
            self._put(kv.key, kv.value)
        return listed.revision

    async def _follow(self, revision: int) -> None:
        while True:
            try:
                stream = await self.store.watch(self.prefix, revision)
                try:
                    async for item in stream:
                        if isinstance(item, Event):
                            self._put(item.kv.key, item.kv.value if item.type is EventType.PUT else None)
                        if isinstance(item, (Event, Progress)):
                            revision = max(revision, item.revision)
                finally:
                    stream.close()
            except Closed:
                return
            except Compacted:
                try:
                    revision = await self._load()
                except Closed:
                    return
            except (StoreError, OSError) as exc:
                log.debug("%s cache: watch ended (%s); resuming from %d", self.info.plural, exc, revision)
            await asyncio.sleep(RETRY_S)
