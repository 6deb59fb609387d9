"""Events: what ``kubectl describe`` shows under "Events:", recorded by any component through the API.

The same (object, type, reason, message) seen again bumps ``count`` and ``lastTimestamp`` of the Event already
written instead of adding a new one, as Kubernetes' event correlator does, so a crash-looping pod is one line
with "x12", not twelve. Like it, once one object has had ``SIMILAR_LIMIT`` different messages for one reason
within ``SIMILAR_WINDOW_S`` (a scale-up's "Created pod: ..." lines), further ones fold into a single
"(combined from similar events)" Event. Recording is best effort: a failure is logged and never fails a sync.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

from portside.api import models
from portside.client import ApiError, Client, NotFound
from portside.controllers.pods import meta, timestamp

log = logging.getLogger("portside.events")
NORMAL, WARNING = "Normal", "Warning"
MAX_REMEMBERED = 4096
SIMILAR_LIMIT, SIMILAR_WINDOW_S = 10, 600.0
COMBINED = "(combined from similar events): "

Key = tuple[str, str, str, str]


def involved(obj: dict[str, Any]) -> models.ObjectReference:
    m = meta(obj)
    return models.ObjectReference(api_version=obj.get("apiVersion"), kind=obj.get("kind"),
                                  namespace=m.get("namespace"), name=m.get("name"), uid=m.get("uid"),
                                  resource_version=m.get("resourceVersion"))


def new_event(obj: dict[str, Any], type: str, reason: str, message: str, component: str) -> models.Event:
    m, stamp = meta(obj), timestamp()
    return models.Event(
        metadata=models.ObjectMeta(name=f"{m.get('name')}.{time.time_ns():x}", namespace=m.get("namespace")
                                   or "default"),
        involved_object=involved(obj), reason=reason, message=message, type=type, count=1,
        source=models.EventSource(component=component), first_timestamp=stamp, last_timestamp=stamp,
        reporting_component=component)


class EventRecorder:
    """One per component; ``await recorder.record(obj, "Normal", "SuccessfulCreate", "Created pod: web-x")``."""

    def __init__(self, client: Client, component: str) -> None:
        self.client, self.component = client, component
        self._seen: OrderedDict[Key, tuple[str, int]] = OrderedDict()  # key -> (event name, count)
        self._similar: OrderedDict[tuple[str, str, str], tuple[set[str], float]] = OrderedDict()
        self._locks: OrderedDict[Key, asyncio.Lock] = OrderedDict()

    async def record(self, obj: dict[str, Any], type: str, reason: str, message: str) -> None:
        key, message = self._aggregate(obj, type, reason, message)
        async with self._lock(key):  # concurrent repeats must not both create, nor both bump from one count
            try:
                if key in self._seen and await self._bump(obj, key, message):
                    return
                event = new_event(obj, type, reason, message, self.component).to_dict()
                await self.client.create("events", event)
                self._remember(key, event["metadata"]["name"], 1)
            except ApiError as exc:
                log.warning("%s: event %s on %s not recorded: %s", self.component, reason, meta(obj).get("name"),
                            exc)

    def _lock(self, key: Key) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
            while len(self._locks) > MAX_REMEMBERED:
                self._locks.popitem(last=False)
        return lock

    def _aggregate(self, obj: dict[str, Any], type: str, reason: str, message: str) -> tuple[Key, str]:
        """The dedup key and message: the message's own, or the combined one past the similar-events limit."""
        group, now = (meta(obj).get("uid", ""), type, reason), time.monotonic()
        messages, since = self._similar.get(group, (set(), now))
        if now - since > SIMILAR_WINDOW_S:
            messages, since = set(), now
        messages.add(message)
        self._similar[group] = (messages, since)
        self._similar.move_to_end(group)
        while len(self._similar) > MAX_REMEMBERED:
            self._similar.popitem(last=False)
        if len(messages) < SIMILAR_LIMIT:
            return (*group, message), message
        messages.discard(message)  # the set stays at the limit, as Kubernetes' aggregator keeps it
        return (*group, COMBINED), COMBINED + message

    async def _bump(self, obj: dict[str, Any], key: Key, message: str) -> bool:
        name, count = self._seen[key]
        patch = {"count": count + 1, "lastTimestamp": timestamp(), "message": message}
        try:
            await self.client.patch("events", name, patch, meta(obj).get("namespace") or "default")
        except NotFound:
            del self._seen[key]
            return False
        self._remember(key, name, count + 1)
        return True

    def _remember(self, key: Key, name: str, count: int) -> None:
        self._seen[key] = (name, count)
        self._seen.move_to_end(key)
        while len(self._seen) > MAX_REMEMBERED:
            self._seen.popitem(last=False)
