"""The resource quota controller: keeps each ResourceQuota's status - ``hard`` as its spec says, ``used`` counted
from the namespace's objects - so that what objects took is given back when they go (admission charges a quota as
objects are created; nothing else ever lowers it).

``sync`` is level-triggered: it reads the quota, then lists the namespace's objects of every kind the quota caps
(``api.quota.kinds_for``), both from the API rather than from the informers' caches. That order makes the count
safe against admission: whatever was charged to the quota before it was read is in the lists that follow it (a
charge commits with its object), and whatever is charged after changes the quota's resourceVersion, so the
status write, a compare-and-swap on the version read, fails and the quota is counted again. Counts use the wire
dicts that admission's arithmetic (``api.quota``) reads, so both count the same way.

What requeues a quota, as in Kubernetes: its creation, a change of its ``spec.hard``, and a status that does not
match its spec (``hard`` differs, or a capped name has no usage) - not the usage admission writes on every
charge, which would recount a namespace on every create. The controller follows (lists and watches) every kind
some quota caps, from the first sync of such a quota on: an object of it deleted, or updated in a way that can
change what it takes (a pod finishing or being deleted, a Service's type or ports, a claim's size), requeues the
quotas of its namespace; a creation does not (admission charged it). A cluster without quotas costs no watch.
Every quota is also recounted every ``resync`` seconds, which puts right any usage that drifted.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from portside import api
from portside.api import quota
from portside.client import Client
from portside.client.errors import NotFound
from portside.controllers.base import Controller
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.shared import InformerFactory
from portside.controllers.timers import add_after

QUOTAS = api.lookup("", "v1", "resourcequotas")
RESYNC_S = 30.0
RECOUNT_S = 1.0  # after a quota starts to enforce something, how soon it is counted once more


def usage_may_change(kind: quota.Kind, obj: Any, prev: Any) -> bool:
    """Whether an update can change what the object takes: a pod finishing or being deleted, a Service's type or
    ports, a claim's size. Other kinds are only counted, which no update changes."""
    if kind == quota.PODS:
        was, now = prev.status.phase if prev.status else None, obj.status.phase if obj.status else None
        return was != now or prev.metadata.deletion_timestamp != obj.metadata.deletion_timestamp
    if kind == quota.SERVICES:
        return (prev.spec.type, prev.spec.ports) != (obj.spec.type, obj.spec.ports) if prev.spec and obj.spec else True
    return kind == quota.CLAIMS


def needs_count(q: Any) -> bool:
    """A quota whose status does not yet enforce its spec: ``hard`` differs, or a capped name has no usage."""
    hard = (q.spec.hard if q.spec else None) or {}
    status = q.status
    used = (status.used if status else None) or {}
    return hard != ((status.hard if status else None) or {}) or any(name not in used for name in hard)


def served(kind: quota.Kind) -> api.ResourceInfo | None:
    """The namespaced resource of ``kind`` (group, plural) this API serves, if any."""
    group, plural = kind
    return next((r for r in api.RESOURCES if r.group == group and r.plural == plural and r.namespaced), None)


class ResourceQuotaController(Controller):
    name = "resourcequota-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None, resync: float = RESYNC_S) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.resync = resync
        self.quotas = self.informer(informers.get(QUOTAS))
        self.quotas_in = ByNamespace(self.quotas)
        self.quotas.on_change(self._quota_changed)
        self._informers = informers
        self._followed: dict[quota.Kind, asyncio.Task] = {}

    def _quota_changed(self, kind: str, obj: Any, prev: Any) -> None:
        if kind == "DELETED":
            return
        hard = obj.spec.hard if obj.spec else None
        if kind == "ADDED" or prev is None or hard != (prev.spec.hard if prev.spec else None) or needs_count(obj):
            self.queue.add(cache_key(obj))

    def _follow(self, kinds: set[quota.Kind]) -> None:
        """Follow the kinds no quota capped before (their objects' changes requeue quotas), and again any whose
        informer failed (its first list, say)."""
        for kind in sorted(kinds):
            task, info = self._followed.get(kind), served(kind)
            if info is None or (task is not None and not task.done()):
                continue
            informer = self._informers.get(info)
            if task is None:
                informer.on_change(self._requeue_for(kind))
            self._followed[kind] = asyncio.create_task(informer.run(), name=f"{self.name}:{info.plural}")

    def _requeue_for(self, kind: quota.Kind):
        def changed(event: str, obj: Any, prev: Any) -> None:
            if event == "ADDED" or (event == "MODIFIED" and prev is not None and not usage_may_change(kind, obj, prev)):
                return
            for q in self.quotas_in(obj.metadata.namespace or ""):
                self.queue.add(cache_key(q))
        return changed

    async def run(self, ready: asyncio.Event | None = None) -> None:
        resyncing = asyncio.create_task(self._resync_forever(), name=f"{self.name}:resync")
        try:
            await super().run(ready)
        finally:
            for task in [resyncing, *self._followed.values()]:
                task.cancel()
            await asyncio.gather(resyncing, *self._followed.values(), return_exceptions=True)

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(self.resync)
            for key in list(self.quotas.cache):
                self.queue.add(key)

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        raw = self.client.raw
        try:
            current: dict[str, Any] = await raw.get(QUOTAS, name, namespace)
        except NotFound:
            return
        if (current.get("metadata") or {}).get("deletionTimestamp"):
            return
        hard = (current.get("spec") or {}).get("hard") or {}
        kinds = quota.kinds_for(hard)
        self._follow(kinds)
        objects = await self._objects(namespace, kinds)
        status = {"hard": dict(hard), "used": quota.calculate_used(current, objects, time.time())}
        if status == (current.get("status") or {}):
            return
        await raw.update_status(QUOTAS, {**current, "status": status})
        if (current.get("status") or {}).get("hard") != status["hard"]:
            # Until this write the quota charged nothing for what it now caps: an object created between the lists
            # above and the write was not charged and is not counted. Count once more after that moment.
            add_after(self.queue, key, RECOUNT_S)

    async def _objects(self, namespace: str, kinds: set[quota.Kind]) -> dict[quota.Kind, list[dict[str, Any]]]:
        """The namespace's objects of each kind the server serves (listed now, not from a cache)."""
        out = {}
        for kind in sorted(kinds):
            info = served(kind)
            if info is not None:
                out[kind] = (await self.client.raw.list(info, namespace)).items
        return out


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await ResourceQuotaController(client).run(ready)
