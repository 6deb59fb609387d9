"""A cached view of one resource kept current by list + watch, calling handlers on every change.

The client's watch already resumes and re-lists; the informer adds the cache, keyed ``namespace/name``, and
``synced``: set once the initial list is in the cache, so a controller does not act on a half-known world.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from portside import api
from portside.client import Client

Handler = Callable[[str, dict[str, Any], dict[str, Any] | None], None]  # (event type, object, previous)


def cache_key(obj: dict[str, Any]) -> str:
    m = obj["metadata"]
    return f"{m['namespace']}/{m['name']}" if m.get("namespace") else m["name"]


class Informer:
    def __init__(self, client: Client, info: api.ResourceInfo, namespace: str = "") -> None:
        self.client, self.info, self.namespace = client, info, namespace
        self.cache: dict[str, dict[str, Any]] = {}
        self.handlers: list[Handler] = []
        self.synced = asyncio.Event()

    def on_change(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.cache.get(f"{namespace}/{name}" if namespace else name)

    async def run(self) -> None:
        listed = await self.client.list(self.info, self.namespace)
        for obj in listed.get("items") or []:
            self._apply("ADDED", obj)
        self.synced.set()
        revision = listed["metadata"]["resourceVersion"]
        events = self.client.watch(self.info, self.namespace, resource_version=revision,
                                   known=listed.get("items") or [])
        async for event in events:
            self._apply(event.type, event.object)

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        key = cache_key(obj)
        previous = self.cache.pop(key, None) if kind == "DELETED" else self.cache.get(key)
        if kind != "DELETED":
            self.cache[key] = obj
        for handler in self.handlers:
            handler(kind, obj, previous)
