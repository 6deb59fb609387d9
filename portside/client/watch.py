"""Watch that never misses: list, then follow; reconnect from the last revision; list again after a 410.

The caller sees one unbroken stream of ``WatchEvent``; only a refusal (4xx other than 410) ends it. It starts with
the current objects as ADDED (unless a resourceVersion is given), resumes from the last revision it delivered when
a connection ends, and when the server says that revision is compacted it lists afresh and reports the difference
against what it had delivered (or was told it holds, ``known``): ADDED/MODIFIED for objects that are new or
changed, DELETED for those that disappeared.

What a watch through ``Client.raw`` has delivered is remembered as the line the server sent (with its
resourceVersion), not as the wire dict, and decoded again only for a DELETED such a re-list reports: its callers
(the scheduler, the proxy) keep their own form of an object, and a watch of tens of thousands of pods would
otherwise keep a tree of dicts and lists per pod that every full collection of the garbage collector walks. A
typed watch remembers the model it delivered, which its callers (informers) keep anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from portside import api
from portside.api import jsonwire
from portside.client import errors
from portside.client.client import Client, identity, path

# Capped at half a second: a restarted or failed-over API server is found again within that, which the recovery
# target (watches resumed within 3 s of a control-plane restart) needs; a connect attempt costs a server little.
RECONNECT_DELAYS = (0.05, 0.1, 0.25, 0.5)


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED
    object: Any  # a typed model, or a wire dict from ``Client.raw``

    @property
    def name(self) -> str:
        return identity(self.object)[1]

    @property
    def namespace(self) -> str:
        return identity(self.object)[0]


def _id(obj: Any) -> tuple[str, str]:
    return identity(obj)[:2]


class _Follower:
    def __init__(self, client: Client, info: api.ResourceInfo, namespace: str, labels: str, fields: str) -> None:
        self.client, self.url = client, path(info, namespace)
        self.info, self.namespace, self.labels, self.fields = info, namespace, labels, fields
        # (namespace, name) -> (resourceVersion, the object, or the watch line that delivered it)
        self.known: dict[tuple[str, str], tuple[str, Any]] = {}
        self.revision = ""

    def remember(self, objects: list[Any]) -> None:
        self.known = {_id(o): (identity(o)[2], o) for o in objects}

    def _last_seen(self, held: Any) -> Any:
        if isinstance(held, bytes):
            return self.client.decode(self.info, jsonwire.loads(held)["object"])
        return held

    async def relist(self) -> list[WatchEvent]:
        listed = await self.client.list(self.info, self.namespace, label_selector=self.labels,
                                        field_selector=self.fields)
        self.revision = listed.resource_version
        fresh = {_id(o): o for o in listed.items}
        out = [WatchEvent("DELETED", self._last_seen(held)) for k, (_, held) in self.known.items() if k not in fresh]
        for k, o in fresh.items():
            old = self.known.get(k)
            if old is None or old[0] != identity(o)[2]:
                out.append(WatchEvent("MODIFIED" if old else "ADDED", o))
        self.remember(listed.items)
        return out

    def accept(self, line: bytes) -> WatchEvent | None:
        raw = jsonwire.loads(line)
        kind, wire = raw["type"], raw["object"]
        if kind == "ERROR":
            raise errors.from_status(wire)
        self.revision = wire["metadata"].get("resourceVersion", self.revision)
        if kind == "BOOKMARK":
            return None
        obj = self.client.decode(self.info, wire)
        if kind == "DELETED":
            self.known.pop(_id(obj), None)
        else:
            namespace, name, version = identity(obj)
            self.known[namespace, name] = (version, obj if self.client.typed else line)
        return WatchEvent(kind, obj)

    def lines(self) -> AsyncIterator[bytes]:
        params = {"watch": "1", "resourceVersion": self.revision, "allowWatchBookmarks": "true",
                  "labelSelector": self.labels, "fieldSelector": self.fields}
        return self.client.stream_lines(self.url, params)


async def watch(client: Client, info: api.ResourceInfo, namespace: str, resource_version: str, labels: str,
                fields: str, known: list[Any]) -> AsyncIterator[WatchEvent]:
    f = _Follower(client, info, namespace, labels, fields)
    f.revision = resource_version
    f.remember(known)
    failures = 0
    while True:
        try:
            if not f.revision:
                for event in await f.relist():
                    yield event
            async for raw in f.lines():
                failures = 0
                event = f.accept(raw)
                if event is not None:
                    yield event
        except errors.Gone:
            f.revision = ""
            continue
        except errors.ApiError as exc:
            if exc.code < 500:  # refused for good (unauthorized, not served): the caller must know
                raise
            await _back_off(failures)
            failures += 1
        except (TimeoutError, aiohttp.ClientError, ConnectionError):
            await _back_off(failures)
            failures += 1


async def _back_off(failures: int) -> None:
    await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
