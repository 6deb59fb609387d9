"""DELETE semantics: preconditions, propagation finalizers, pod grace, namespaces, collections.

An object is removed from the store only when nothing holds it. Foreground and Orphan propagation add the
``foregroundDeletion`` / ``orphan`` finalizer and set deletionTimestamp; the garbage collector does the rest and
removes the finalizer, and the update that removes the last finalizer deletes the object (``Registry.replace``).
A bound, running pod gets deletionTimestamp + grace; its node agent deletes it with grace 0 once it has stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portside import api
from portside.apiserver import alloc, errors
from portside.apiserver.objects import Target, decode, encoder, later, list_prefix, meta, now
from portside.apiserver.registry import Registry, WriteOptions
from portside.store import Conflict, Delete, KeyNotFound, KeyValue

PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
POLICIES = ("Background", "Foreground", "Orphan")
FINALIZER_FOR = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}


@dataclass
class DeleteOptions:
    propagation: str = "Background"
    grace: int | None = None
    uid: str | None = None
    resource_version: str | None = None
    dry_run: bool = False

    @classmethod
    def parse(cls, body: dict[str, Any], query: dict[str, str]) -> DeleteOptions:
        policy = body.get("propagationPolicy") or query.get("propagationPolicy")
        if policy is None and (body.get("orphanDependents") is not None or "orphanDependents" in query):
            orphan = body.get("orphanDependents", query.get("orphanDependents") in ("true", "1"))
            policy = "Orphan" if orphan else "Background"
        policy = policy or "Background"
        if policy not in POLICIES:
            raise errors.bad_request(f'propagationPolicy: Unsupported value: "{policy}": supported values: '
                                     f'{", ".join(POLICIES)}')
        grace = body.get("gracePeriodSeconds", query.get("gracePeriodSeconds"))
        pre = body.get("preconditions") or {}
        dry = body.get("dryRun") or query.get("dryRun")
        return cls(policy, None if grace is None else int(grace), pre.get("uid"), pre.get("resourceVersion"),
                   bool(dry))


def _pod_grace(pod: dict[str, Any], opts: DeleteOptions) -> int:
    """Seconds the pod's node gets to stop it; 0 when nothing runs it (unbound or finished)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    grace = opts.grace if opts.grace is not None else spec.get("terminationGracePeriodSeconds", 30)
    return max(0, grace)


class Deleter:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def delete(self, t: Target, opts: DeleteOptions) -> bytes:
        for _ in range(5):
            kv = await self.registry.read(t)
            obj = decode(kv)
            self.preconditions(t, obj, kv, opts)
            try:
                return await self._once(t, kv, obj, opts)
            except errors.ApiError as exc:
                if exc.reason != "Conflict" or opts.resource_version:
                    raise
        raise errors.stale(t.info, t.name)

    @staticmethod
    def preconditions(t: Target, obj: dict[str, Any], kv: KeyValue, opts: DeleteOptions) -> None:
        m = obj["metadata"]
        if opts.uid and opts.uid != m.get("uid"):
            raise errors.conflict(t.info, t.name, f"Precondition failed: UID in precondition: {opts.uid}, UID in "
                                                  f"object meta: {m.get('uid')}")
        if opts.resource_version and opts.resource_version != str(kv.mod_revision):
            raise errors.conflict(t.info, t.name, f"Precondition failed: ResourceVersion in precondition: "
                                                  f"{opts.resource_version}, ResourceVersion in object meta: "
                                                  f"{kv.mod_revision}")
        if t.info.kind == "Namespace" and t.name in PROTECTED_NAMESPACES:
            raise errors.forbidden(f'namespaces "{t.name}" is forbidden: this namespace may not be deleted')

    async def _once(self, t: Target, kv: KeyValue, obj: dict[str, Any], opts: DeleteOptions) -> bytes:
        new = decode(kv)  # a second parse is cheaper than a deep copy
        m = meta(new)
        finalizers = list(m.get("finalizers") or [])
        wanted = FINALIZER_FOR.get(opts.propagation)
        if wanted and wanted not in finalizers and not m.get("deletionTimestamp"):
            finalizers.append(wanted)
        grace = _pod_grace(obj, opts) if t.info.kind == "Pod" else 0
        if not finalizers and grace == 0:
            return await self._remove(t, kv, obj, opts)
        if finalizers:
            m["finalizers"] = finalizers
        self._mark(m, grace)
        if new == obj or opts.dry_run:
            return kv.value if new == obj else encoder(new)(kv.mod_revision)
        return await self.registry.replace(t, kv, obj, new, WriteOptions(dry_run=opts.dry_run))

    @staticmethod
    def _mark(m: dict[str, Any], grace: int) -> None:
        current = m.get("deletionGracePeriodSeconds")
        if m.get("deletionTimestamp") and (current is None or current <= grace):
            return
        m["deletionTimestamp"] = later(grace) if grace else now()
        if grace or current is not None:
            m["deletionGracePeriodSeconds"] = grace

    async def _remove(self, t: Target, kv: KeyValue, obj: dict[str, Any], opts: DeleteOptions) -> bytes:
        if opts.dry_run:
            return kv.value
        if t.info.kind == "Namespace":
            await self._empty_namespace(t.name)
        return await self.registry.finalize(t.info, kv, obj)

    async def _empty_namespace(self, namespace: str) -> None:
        """Remove everything in the namespace (what Kubernetes' namespace controller does, done inline)."""
        store = self.registry.store
        for info in api.RESOURCES:
            if not info.namespaced or not info.is_stored:
                continue
            for kv in (await store.list(list_prefix(info, namespace))).items:
                obj = decode(kv)
                released = alloc.writes(kv.key, obj, None) if info.kind == "Service" else []
                try:
                    await store.commit([Delete(kv.key, kv.mod_revision, encoder(obj)), *released])
                except (KeyNotFound, Conflict):  # removed or rewritten meanwhile by its own owner
                    continue

    async def delete_collection(self, info: api.ResourceInfo, namespace: str, names: list[str],
                                opts: DeleteOptions) -> list[bytes]:
        out = []
        for name in names:
            try:
                out.append(await self.delete(Target(info, namespace, name), opts))
            except errors.ApiError as exc:
                if exc.code != 404:
                    raise
        return out

