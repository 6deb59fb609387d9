"""A cached view of one resource kept current by list + watch, calling handlers on every change.

The client's watch already resumes and re-lists; the informer adds the cache, keyed ``namespace/name``, and
``synced``: set once the initial list is in the cache, so a controller does not act on a half-known world.
Objects are the client's typed models (``api.models``), decoded once per event and shared by every handler, as
client-go's informers hand every controller the same typed objects; handlers must not change them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from portside import api
from portside.client import Client, identity

Handler = Callable[[str, Any, Any | None], None]  # (event type, object, previous)


def cache_key(obj: Any) -> str:
    namespace, name, _ = identity(obj)
    return f"{namespace}/{name}" if namespace else name


class Informer:
    def __init__(self, client: Client, info: api.ResourceInfo, namespace: str = "") -> None:
        self.client, self.info, self.namespace = client, info, namespace
        self.cache: dict[str, Any] = {}
        self.handlers: list[Handler] = []
        self.synced = asyncio.Event()

    def on_change(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def get(self, namespace: str, name: str) -> Any | None:
        return self.cache.get(f"{namespace}/{name}" if namespace else name)

    async def run(self) -> None:
        listed = await self.client.list(self.info, self.namespace)
        for obj in listed.items:
            self._apply("ADDED", obj)
        self.synced.set()
        events = self.client.watch(self.info, self.namespace, resource_version=listed.resource_version,
                                   known=listed.items)
        async for event in events:
            self._apply(event.type, event.object)

    def _apply(self, kind: str, obj: Any) -> None:
        key = cache_key(obj)
        previous = self.cache.pop(key, None) if kind == "DELETED" else self.cache.get(key)
        if kind != "DELETED":
            self.cache[key] = obj
        for handler in self.handlers:
            handler(kind, obj, previous)
