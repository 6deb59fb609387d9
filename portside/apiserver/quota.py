"""ResourceQuota admission: a write that takes from a namespace's quotas is charged to them in the same commit.

The registry asks ``charging(info, obj, old)`` just before it commits: this reads the namespace's quotas from the
store, decides with ``api.quota.charge`` (403 with Kubernetes' message when a quota does not allow the write) and
hands back one compare-and-swap write per charged quota, its ``status.used`` raised by what the object takes.
The registry commits those with the object, all or nothing: if another write charged a quota meanwhile, its
resourceVersion moved, the commit fails with a Conflict on the quota's key, and the registry asks again with the
fresh usage. Two creates racing for a quota's last unit therefore cannot both pass, on one server or several, as
Kubernetes' admission updates quota status with optimistic concurrency on resourceVersion.

This server also charges one namespace's writes one at a time (the lock is held from the read to the commit),
so concurrent creates queue instead of retrying against each other; a namespace without quotas (the watched
cache says so) takes no lock and no store read. Usage that objects give back when they go is returned by the
quota controller, which recounts (``portside.controllers.resourcequota``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

from portside import api
from portside.api import quota
from portside.apiserver import errors
from portside.apiserver.objects import encoder, list_prefix
from portside.apiserver.watched import WatchedObjects
from portside.store import Store, Update, Write

QUOTAS = api.lookup("", "v1", "resourcequotas")


class _NoCharges(contextlib.AbstractAsyncContextManager):
    async def __aenter__(self) -> list[Write]:
        return []

    async def __aexit__(self, *exc: object) -> None:
        return None


NO_CHARGES = _NoCharges()


class QuotaAdmission:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.quotas = WatchedObjects(store, QUOTAS)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def is_quota_key(self, key: str) -> bool:
        return key.startswith(self.quotas.prefix)

    def _lock(self, namespace: str) -> asyncio.Lock:
        lock = self._locks.get(namespace)
        if lock is None:
            lock = self._locks[namespace] = asyncio.Lock()
        return lock

    def charging(self, info: api.ResourceInfo, obj: dict[str, Any],
                 old: dict[str, Any] | None = None) -> contextlib.AbstractAsyncContextManager[list[Write]]:
        """The quota writes to commit with ``obj`` (created, or updated from ``old``); empty when none applies.
        Raises 403 when a quota refuses; holds the namespace's charging lock until the block ends."""
        if not info.namespaced or not quota.handles((info.group, info.plural), old is not None):
            return NO_CHARGES  # most writes: no generator, no lookup
        return self._charging(info, obj, old)

    @contextlib.asynccontextmanager
    async def _charging(self, info: api.ResourceInfo, obj: dict[str, Any],
                        old: dict[str, Any] | None) -> AsyncIterator[list[Write]]:
        meta = obj.get("metadata") or {}
        if not await self.quotas.in_namespace(meta.get("namespace", "")):
            yield []
            return
        async with self._lock(meta.get("namespace", "")):
            listed = await self.store.list(list_prefix(QUOTAS, meta.get("namespace", "")))
            stored = [(kv, json.loads(kv.value)) for kv in listed.items]
            try:
                charges = quota.charge([q for _, q in stored], (info.group, info.plural), obj, old, time.time())
            except quota.Refused as exc:
                raise errors.forbidden_object(info, meta.get("name", ""), str(exc)) from None
            yield [self._write(stored, charge) for charge in charges]

    @staticmethod
    def _write(stored: list[tuple[Any, dict[str, Any]]], charge: quota.Charge) -> Write:
        kv = next(kv for kv, q in stored if q is charge.quota)
        charged = dict(charge.quota)
        charged["status"] = {**(charge.quota.get("status") or {}), "used": charge.used}
        return Update(kv.key, encoder(charged), kv.mod_revision)
