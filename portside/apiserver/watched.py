"""A resource's objects by namespace, in memory, kept current by a watch on the store: what admission reads on
every write (a namespace's LimitRanges, whether it has any ResourceQuota) without a store read per request, as
Kubernetes' admission plugins read informer caches.

The first read loads the objects and starts the watch (a ``store.Follower``): a broken watch resumes from the
last revision it saw, a compacted one loads again, and the watch ends with the store. A change made on this
server is seen here within the moment its watch event takes to arrive; what needs an exact answer (quota usage)
reads the store itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from portside import api
from portside.apiserver.objects import resource_prefix
from portside.store import Follower, Store

log = logging.getLogger("portside.apiserver")


class WatchedObjects:
    def __init__(self, store: Store, info: api.ResourceInfo) -> None:
        self.store, self.info = store, info
        self.prefix = resource_prefix(info)
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}  # namespace -> key -> object
        self._follower = Follower(store, self.prefix, reset=self._objects.clear, apply=self._put,
                                  name=f"watched:{info.plural}", log=log, what=f"{info.plural} cache")
        self._starting = asyncio.Lock()

    async def in_namespace(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's objects (shared: callers must not change them); for a cluster-scoped resource, the
        object of that name, if any."""
        if not self._follower.running:
            async with self._starting:
                if not self._follower.running:
                    await self._follower.start()
        return list(self._objects.get(namespace, {}).values())

    def _namespace_of(self, key: str) -> str:
        return key.removeprefix(self.prefix).split("/", 1)[0]

    def _put(self, key: str, value: bytes | None, _revision: int) -> None:
        namespace = self._namespace_of(key)
        objects = self._objects.setdefault(namespace, {})
        if value is None:
            objects.pop(key, None)
            if not objects:
                del self._objects[namespace]
        else:
            objects[key] = json.loads(value)
