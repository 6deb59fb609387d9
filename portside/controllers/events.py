"""Events: what ``kubectl describe`` shows under "Events:", recorded by any component through the API.

The same (object, type, reason, message) seen again bumps ``count`` and ``lastTimestamp`` of the Event already
written instead of adding a new one, as Kubernetes' event correlator does, so a crash-looping pod is one line
with "x12", not twelve. Recording is best effort: a failure is logged and never fails the caller's sync.
"""

from __future__ import annotations

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

    async def record(self, obj: dict[str, Any], type: str, reason: str, message: str) -> None:
        key = (meta(obj).get("uid", ""), type, reason, message)
        try:
            if key in self._seen and await self._bump(obj, key):
                return
            event = new_event(obj, type, reason, message, self.component).to_dict()
            await self.client.create("events", event)
            self._remember(key, event["metadata"]["name"], 1)
        except ApiError as exc:
            log.warning("%s: event %s on %s not recorded: %s", self.component, reason, meta(obj).get("name"), exc)

    async def _bump(self, obj: dict[str, Any], key: Key) -> bool:
        name, count = self._seen[key]
        patch = {"count": count + 1, "lastTimestamp": timestamp()}
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
