"""The resource quota controller: keeps each ResourceQuota's status - ``hard`` as its spec says, ``used`` counted
from the namespace's objects - so that what objects took is given back when they go (admission charges a quota as
objects are created; nothing else ever lowers it).

``sync`` is level-triggered: it reads the quota, then lists the namespace's objects of every kind the quota caps
(``api.quota.kinds_for``), both from the API rather than from the informers' caches. That order makes the count
safe against admission: whatever was charged to the quota before it was read is in the lists that follow it (a
charge commits with its object), and whatever is charged after changes the quota's resourceVersion, so the
status write, a compare-and-swap on the version read, fails and the quota is counted again. Counts use the wire
dicts that admission's arithmetic (``api.quota``) reads, so both count the same way.

Changes to pods (created, deleted, finished, being deleted), Services (created, deleted, their type or ports), claims,
ConfigMaps and Secrets requeue their namespace's quotas; a quota's own change requeues it; and every quota is
recounted every ``resync`` seconds, for the kinds no watch follows (``count/deployments.apps`` and the like).
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

QUOTAS = api.lookup("", "v1", "resourcequotas")
FOLLOWED = ("pods", "services", "persistentvolumeclaims", "configmaps", "secrets")  # core kinds quotas often cap
RESYNC_S = 30.0


def usage_may_change(plural: str, obj: Any, prev: Any) -> bool:
    """Whether an update of a pod or Service can change what it takes (a pod finishing or being deleted, a Service
    changing type or ports); other updates of followed kinds never do, except a claim's (its size)."""
    if plural == "pods":
        was, now = prev.status.phase if prev.status else None, obj.status.phase if obj.status else None
        return was != now or prev.metadata.deletion_timestamp != obj.metadata.deletion_timestamp
    if plural == "services":
        return (prev.spec.type, prev.spec.ports) != (obj.spec.type, obj.spec.ports) if prev.spec and obj.spec else True
    return plural == "persistentvolumeclaims"


class ResourceQuotaController(Controller):
    name = "resourcequota-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None, resync: float = RESYNC_S) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.resync = resync
        self.quotas = self.informer(informers.get(QUOTAS))
        self.quotas_in = ByNamespace(self.quotas)
        self.quotas.on_change(self._quota_changed)
        for plural in FOLLOWED:
            info = api.lookup("", "v1", plural)
            if info is not None:  # claims only where the server serves them
                self.informer(informers.get(info)).on_change(self._follower(plural))

    def _quota_changed(self, kind: str, obj: Any, prev: Any) -> None:
        if kind != "DELETED":
            self.queue.add(cache_key(obj))

    def _follower(self, plural: str):
        def changed(kind: str, obj: Any, prev: Any) -> None:
            if kind == "MODIFIED" and prev is not None and not usage_may_change(plural, obj, prev):
                return
            for q in self.quotas_in(obj.metadata.namespace or ""):
                self.queue.add(cache_key(q))
        return changed

    async def run(self, ready: asyncio.Event | None = None) -> None:
        resyncing = asyncio.create_task(self._resync_forever(), name=f"{self.name}:resync")
        try:
            await super().run(ready)
        finally:
            resyncing.cancel()

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
        objects = await self._objects(namespace, quota.kinds_for(hard))
        status = {"hard": dict(hard), "used": quota.calculate_used(current, objects, time.time())}
        if status != (current.get("status") or {}):
            await raw.update_status(QUOTAS, {**current, "status": status})

    async def _objects(self, namespace: str, kinds: set[quota.Kind]) -> dict[quota.Kind, list[dict[str, Any]]]:
        """The namespace's objects of each kind the server serves (listed now, not from a cache)."""
        out = {}
        for group, plural in sorted(kinds):
            info = next((r for r in api.RESOURCES if r.group == group and r.plural == plural and r.namespaced), None)
            if info is not None:
                out[(group, plural)] = (await self.client.raw.list(info, namespace)).items
        return out


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await ResourceQuotaController(client).run(ready)
