"""The garbage collector: dependents follow their owners (ownerReferences), as Kubernetes' GC does.

- Background: a dependent all of whose owners are gone is deleted; one that lost only some owners loses those
  references. "Gone" is confirmed with a live GET by name and uid, because the owner's and the dependent's watches
  are separate streams and a new dependent may be seen before its new owner.
- Orphan: an owner carrying the ``orphan`` finalizer has its references removed from every dependent, then the
  finalizer removed (which lets the API server delete it).
- Foreground: an owner carrying ``foregroundDeletion`` has its dependents deleted (in foreground themselves when
  they block it); once no dependent with ``blockOwnerDeletion`` remains, the finalizer is removed.

Keys are ``group/plural/namespace/name``; every change enqueues the object, its dependents and its owners. The
informers decode objects as ``PartialObjectMetadata`` (metadata only): the collector follows every kind and reads
nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from portside import api
from portside.api.models import OwnerReference, PartialObjectMetadata
from portside.client import Client, NotFound
from portside.controllers.base import Controller
from portside.controllers.informer import Informer

ORPHAN, FOREGROUND = "orphan", "foregroundDeletion"
Obj = Any  # a PartialObjectMetadata of its informers, or a typed model from a GET: only ``metadata`` is read


def _key(info: api.ResourceInfo, obj: Obj) -> str:
    m = obj.metadata
    return f"{info.group}/{info.plural}/{m.namespace or ''}/{m.name}"


def _owner_info(ref: OwnerReference) -> api.ResourceInfo | None:
    group = (ref.api_version or "").rpartition("/")[0]
    return api.by_kind(group, ref.kind or "")


class GarbageCollector(Controller):
    name = "garbage-collector"

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.by_plural: dict[tuple[str, str], Informer] = {}
        self.uids: dict[str, str] = {}  # uid -> key
        self.dependents: dict[str, set[str]] = {}  # owner uid -> dependent keys
        for info in api.RESOURCES:
            if "watch" in info.verbs and "list" in info.verbs and info.is_stored:
                inf = self.informer(Informer(client, dataclasses.replace(info, model=PartialObjectMetadata)))
                inf.on_change(lambda kind, obj, prev, info=info: self._changed(info, kind, obj, prev))
                self.by_plural[(info.group, info.plural)] = inf

    def _changed(self, info: api.ResourceInfo, kind: str, obj: Obj, prev: Obj | None) -> None:
        key, m = _key(info, obj), obj.metadata
        for ref in (prev.metadata.owner_references if prev else None) or []:
            held = self.dependents.get(ref.uid)
            if held is not None:
                held.discard(key)
                if not held:  # no entry outlives the last dependent, so the index does not grow with history
                    del self.dependents[ref.uid]
        if kind == "DELETED":
            self.uids.pop(m.uid or "", None)
        else:
            self.uids[m.uid or ""] = key
            for ref in m.owner_references or []:
                self.dependents.setdefault(ref.uid, set()).add(key)
        if m.owner_references or m.deletion_timestamp:  # nothing to collect or finalize otherwise
            self.queue.add(key)
        for dependent in list(self.dependents.get(m.uid or "", ())):
            self.queue.add(dependent)
        for ref in m.owner_references or []:  # an owner waiting in foreground re-checks its dependents
            owner = self.uids.get(ref.uid or "")
            if owner is not None:
                self.queue.add(owner)

    def _lookup(self, key: str) -> tuple[api.ResourceInfo, Obj] | None:
        group, plural, namespace, name = key.split("/", 3)
        inf = self.by_plural.get((group, plural))
        obj = inf.get(namespace, name) if inf else None
        return (inf.info, obj) if obj is not None else None

    async def sync(self, key: str) -> None:
        found = self._lookup(key)
        if found is None:
            return
        info, obj = found
        m = obj.metadata
        if m.deletion_timestamp:
            if ORPHAN in (m.finalizers or []):
                await self._orphan(info, obj)
            elif FOREGROUND in (m.finalizers or []):
                await self._foreground(info, obj)
        if m.owner_references:
            await self._check_owners(info, obj)

    def _dependents_of(self, obj: Obj) -> list[tuple[api.ResourceInfo, Obj]]:
        found = (self._lookup(k) for k in list(self.dependents.get(obj.metadata.uid, ())))
        return [f for f in found if f is not None]

    async def _orphan(self, info: api.ResourceInfo, obj: Obj) -> None:
        uid = obj.metadata.uid
        for dep_info, dep in self._dependents_of(obj):
            await self._drop_refs(dep_info, dep, {uid})
        await self._remove_finalizer(info, obj, ORPHAN)

    async def _foreground(self, info: api.ResourceInfo, obj: Obj) -> None:
        uid, blocking = obj.metadata.uid, False
        for dep_info, dep in self._dependents_of(obj):
            ref = next((r for r in dep.metadata.owner_references or [] if r.uid == uid), None)
            blocks = bool(ref and ref.block_owner_deletion)
            blocking = blocking or blocks
            if not dep.metadata.deletion_timestamp:
                await self._delete(dep_info, dep, "Foreground" if blocks else "Background")
        if not blocking:
            await self._remove_finalizer(info, obj, FOREGROUND)

    async def _check_owners(self, info: api.ResourceInfo, obj: Obj) -> None:
        refs = obj.metadata.owner_references
        absent = {r.uid for r in refs if await self._owner_absent(obj, r)}
        if not absent:
            return
        if len(absent) == len(refs):
            await self._delete(info, obj, "Background")
        else:
            await self._drop_refs(info, obj, absent)

    async def _owner_absent(self, dependent: Obj, ref: OwnerReference) -> bool:
        owner_info = _owner_info(ref)
        if owner_info is None or ref.uid in self.uids:
            return False  # an owner kind not served here is not ours to judge
        namespace = (dependent.metadata.namespace or "") if owner_info.namespaced else ""
        try:
            live = await self.client.get(owner_info, ref.name or "", namespace)
        except NotFound:
            return True
        return live.metadata.uid != ref.uid

    async def _drop_refs(self, info: api.ResourceInfo, obj: Obj, uids: set[str]) -> None:
        m = obj.metadata
        kept = [r for r in m.owner_references or [] if r.uid not in uids]
        patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": m.resource_version},
                 {"op": "replace", "path": "/metadata/ownerReferences", "value": kept}]
        await self._quietly(self.client.patch(info, m.name, patch, m.namespace or "", type="json"))

    async def _remove_finalizer(self, info: api.ResourceInfo, obj: Obj, finalizer: str) -> None:
        m = obj.metadata
        kept = [f for f in m.finalizers or [] if f != finalizer]
        patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": m.resource_version},
                 {"op": "replace", "path": "/metadata/finalizers", "value": kept}]
        await self._quietly(self.client.patch(info, m.name, patch, m.namespace or "", type="json"))

    async def _delete(self, info: api.ResourceInfo, obj: Obj, policy: str) -> None:
        m = obj.metadata
        await self._quietly(self.client.delete(info, m.name, m.namespace or "", propagation=policy,
                                               uid=m.uid or ""))

    @staticmethod
    async def _quietly(call) -> None:
        """A target already gone is the goal reached; anything else (a conflict) fails the sync for a retry."""
        try:
            await call
        except NotFound:
            pass


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await GarbageCollector(client).run(ready)
