"""Events: what ``kubectl describe`` shows under "Events:", recorded by any component through the API.

One recorder serves the controllers, the node agent and the scheduler, so an Event looks the same whoever wrote
it. The same (object, fieldPath, type, reason, message) seen again bumps ``count`` and ``lastTimestamp`` of the
Event already written instead of adding a new one, as Kubernetes' event correlator does, so a crash-looping pod
is one line with "x12", not twelve. Like it, once one object has had ``SIMILAR_LIMIT`` different messages for
one reason within ``SIMILAR_WINDOW_S`` (a scale-up's "Created pod: ..." lines), further ones fold into a single
"(combined from similar events)" Event.

Recording is best effort: a failure is logged and never fails the caller. ``record`` is awaited where the
caller's order matters (a controller's sync); ``emit`` runs it in the background for callers that must never
wait on the API (a container start, a scheduling decision).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import OrderedDict
from typing import Any

from portside.api import models
from portside.client.client import Client
from portside.client.errors import ApiError, NotFound

log = logging.getLogger("portside.events")
NORMAL, WARNING = "Normal", "Warning"
MAX_REMEMBERED = 4096
SIMILAR_LIMIT, SIMILAR_WINDOW_S = 10, 600.0
COMBINED = "(combined from similar events): "

Involved = Any  # a typed object (any model with ``metadata``), or a models.ObjectReference
Group = tuple[str, str, str, str]  # uid, fieldPath, type, reason: what Kubernetes' aggregator groups by
Key = tuple[str, str, str, str, str]  # the group and the message


def timestamp() -> str:
    """RFC 3339 at second resolution, the form the API server writes."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_reference(namespace: str, name: str, uid: str) -> models.ObjectReference:
    """The agent and the scheduler know a pod by these three; the Event needs no more to find it."""
    return models.ObjectReference(api_version="v1", kind="Pod", namespace=namespace, name=name, uid=uid)


def container_path(container: str) -> str:
    """The fieldPath the kubelet gives an Event about one container, which ``kubectl describe`` prints."""
    return f"spec.containers{{{container}}}"


def involved(obj: Involved, field_path: str | None = None) -> models.ObjectReference:
    """An object as the Event's involvedObject: an object is referenced, a reference is taken as it is."""
    if isinstance(obj, models.ObjectReference):
        ref = obj
    else:
        m = obj.metadata
        ref = models.ObjectReference(api_version=obj.api_version, kind=obj.kind, namespace=m.namespace,
                                     name=m.name, uid=m.uid, resource_version=m.resource_version)
    if field_path:
        ref = models.ObjectReference(api_version=ref.api_version, kind=ref.kind, namespace=ref.namespace,
                                     name=ref.name, uid=ref.uid, resource_version=ref.resource_version,
                                     field_path=field_path)
    return ref


def new_event(ref: models.ObjectReference, type: str, reason: str, message: str, component: str,
              host: str | None = None) -> models.Event:
    """A first occurrence; the name is unique per object and moment, as Kubernetes names Events."""
    stamp = timestamp()
    return models.Event(
        metadata=models.ObjectMeta(name=f"{ref.name}.{time.time_ns():x}", namespace=ref.namespace or "default"),
        involved_object=ref, reason=reason, message=message, type=type, count=1,
        source=models.EventSource(component=component, host=host), first_timestamp=stamp, last_timestamp=stamp,
        reporting_component=component, reporting_instance=host)


class EventRecorder:
    """One per component: ``await recorder.record(obj, "Normal", "SuccessfulCreate", "Created pod: web-x")``.

    ``host`` is the machine a node-bound component reports from (the kubelet's EventSource.host).
    """

    def __init__(self, client: Client, component: str, host: str | None = None) -> None:
        self.client, self.component, self.host = client, component, host
        self._seen: OrderedDict[Key, tuple[str, int]] = OrderedDict()  # key -> (event name, count)
        self._similar: OrderedDict[Group, tuple[set[str], float]] = OrderedDict()
        self._locks: OrderedDict[Key, asyncio.Lock] = OrderedDict()
        self._tasks: set[asyncio.Task] = set()

    def emit(self, obj: Involved, type: str, reason: str, message: str, field_path: str | None = None) -> None:
        """``record`` in the background: the caller goes on at once. The task is held until it ends, since the
        event loop keeps only a weak reference to it."""
        task = asyncio.get_running_loop().create_task(self.record(obj, type, reason, message, field_path))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: event not recorded: %s", self.component, task.exception())

    async def drain(self) -> None:
        """Wait for every emitted Event, so a stopping component's last words reach the API."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def record(self, obj: Involved, type: str, reason: str, message: str,
                     field_path: str | None = None) -> None:
        ref = involved(obj, field_path)
        key, message = self._aggregate(ref, type, reason, message)
        async with self._lock(key):  # concurrent repeats must not both create, nor both bump from one count
            try:
                if key in self._seen and await self._bump(ref, key, message):
                    return
                event = new_event(ref, type, reason, message, self.component, self.host)
                await self.client.create("events", event)
                self._remember(key, event.metadata.name, 1)
            except ApiError as exc:
                log.warning("%s: event %s on %s not recorded: %s", self.component, reason, ref.name, exc)

    def _lock(self, key: Key) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
            while len(self._locks) > MAX_REMEMBERED:
                self._locks.popitem(last=False)
        return lock

    def _aggregate(self, ref: models.ObjectReference, type: str, reason: str, message: str) -> tuple[Key, str]:
        """The dedup key and message: the message's own, or the combined one past the similar-events limit."""
        group: Group = (ref.uid or "", ref.field_path or "", type, reason)
        now = time.monotonic()
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

    async def _bump(self, ref: models.ObjectReference, key: Key, message: str) -> bool:
        name, count = self._seen[key]
        patch = {"count": count + 1, "lastTimestamp": timestamp(), "message": message}
        try:
            await self.client.patch("events", name, patch, ref.namespace or "default")
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
