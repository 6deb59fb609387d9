"""Object semantics over the store: create, read, list, update and patch, free of HTTP.

Every write goes: decode/default/validate (``api.prepare_*``), server-owned metadata (uid, timestamps,
generation), admission (namespace exists, Job dependency cycles, Service allocations, LimitRange, Pod Security),
then one store commit with compare-and-swap on the revision that was read, carrying the object's ResourceQuota
charges (each a compare-and-swap on its quota: a charge that lost a race is charged again). A 409 comes from that
compare, never from a lock.

Patches that pin no resourceVersion are re-applied when a concurrent write wins; to keep a busy object (a
controller writing its status while a user labels it) from making one of them lose every retry, this server also
takes them one at a time per object. That lock only orders patches through this server; the compare still
decides, and other writers (another API server on the same etcd) are still met by the retries.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from portside import api
from portside.api.patch import PatchError
from portside.apiserver import admission, alloc, errors
from portside.apiserver.objects import Target, decode, encoder, generate_name, key, key_of, list_prefix, meta, now
from portside.apiserver.quota import NO_CHARGES  # subresource writes are never charged, as in Kubernetes
from portside.store import Conflict, Create, Delete, KeyExists, KeyNotFound, KeyValue, ListResult, Store, Update

PATCH_RETRIES = 5
APPLY = "application/apply-patch+yaml"
_SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                "generation", "managedFields", "selfLink")


@dataclass
class WriteOptions:
    strict: bool = False
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    user: str = ""  # who asks (admission's exemptions go by user name); "" for the server's own writes


def _drop_empty_maps(m: dict[str, Any]) -> None:
    """Go's omitempty leaves empty label and annotation maps out of the JSON; so do we (kubectl diff compares)."""
    for name in ("labels", "annotations", "finalizers", "ownerReferences"):
        if name in m and not m[name]:
            del m[name]


def _without_rv(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    out["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
    return out


class Registry:
    def __init__(self, store: Store, toleration_seconds: int = admission.DEFAULT_TOLERATION_SECONDS) -> None:
        self.store = store
        self.admission = admission.Admission(self, toleration_seconds)
        self._patching: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def read(self, t: Target) -> KeyValue:
        kv = await self.store.get(key(t.info, t.namespace, t.name))
        if kv is None:
            raise errors.not_found(t.info, t.name)
        return kv

    async def list(self, info: api.ResourceInfo, namespace: str, *, revision: int = 0, start: str = "",
                   limit: int = 0) -> ListResult:
        return await self.store.list(list_prefix(info, namespace), revision=revision, start=start, limit=limit)

    # -- create ----------------------------------------------------------------------------------------------

    def _prepare_create(self, t: Target, obj: Any, opts: WriteOptions) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise errors.bad_request("the request body must be a JSON object")
        m = meta(obj)
        if t.info.namespaced:
            if m.get("namespace") and m["namespace"] != t.namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                         "on the request")
            m["namespace"] = t.namespace
        else:
            m.pop("namespace", None)  # cluster-scoped: a namespace given by the client means nothing
        if not m.get("name") and m.get("generateName"):
            m["name"] = generate_name(m["generateName"])
        for k in _SERVER_META:
            m.pop(k, None)
        try:
            clean = api.prepare_create(t.info, obj, opts.warnings, opts.strict)
        except api.Invalid as exc:
            raise errors.invalid(exc) from None
        except api.UnknownFields as exc:
            raise errors.bad_request(str(exc)) from None
        m = meta(clean)
        _drop_empty_maps(m)
        m.setdefault("uid", str(uuid.UUID(int=random.getrandbits(128), version=4)))  # unique, need not be secret
        m["creationTimestamp"] = now()
        m["generation"] = 1
        return clean

    async def create(self, t: Target, obj: Any, opts: WriteOptions) -> bytes:
        clean = self._prepare_create(t, obj, opts)
        await self.admission.on_create(t.info, clean, opts)
        if opts.dry_run:
            async with self.admission.quota.charging(t.info, clean):  # refuses as the real write would
                return encoder(clean)(0)
        return (await self._commit_create(t.info, clean)).value

    async def _commit_create(self, info: api.ResourceInfo, obj: dict[str, Any]) -> KeyValue:
        """Create ``obj`` with its Service allocations and quota charges, all in one commit."""
        k = key_of(info, obj)
        spec = obj.get("spec") or {}
        for _ in range(16):
            chosen = alloc.assign(spec) if info.kind == "Service" else set()
            extra = alloc.writes(k, None, obj) if info.kind == "Service" else []
            try:
                async with self.admission.quota.charging(info, obj) as charges:
                    return (await self.store.commit([Create(k, encoder(obj)), *extra, *charges]))[0]
            except KeyExists as exc:
                if exc.key == k:
                    raise errors.already_exists(info, meta(obj)["name"]) from None
                self._collision(info, obj, exc, chosen)
            except (Conflict, KeyNotFound) as exc:
                self._quota_moved(info, obj, exc)
        if info.kind == "Service":
            raise errors.timeout("could not allocate a free address for the Service after 16 attempts")
        raise errors.timeout(f"could not charge the {info.kind} to its namespace's quotas after 16 attempts")

    def _quota_moved(self, info: api.ResourceInfo, obj: dict[str, Any], exc: Conflict | KeyNotFound) -> None:
        """A quota changed (or went) between its read and the commit: charge again. Any other key is an error."""
        if self.admission.quota.is_quota_key(exc.key):
            return
        if isinstance(exc, KeyNotFound):  # the object itself was deleted since it was read
            raise errors.not_found(info, meta(obj).get("name", "")) from None
        raise errors.stale(info, meta(obj).get("name", "")) from None

    @staticmethod
    def _collision(info: api.ResourceInfo, obj: dict[str, Any], exc: KeyExists, chosen: set[str]) -> None:
        problem = alloc.explain_collision(exc, obj, chosen)
        if problem is not None:
            raise errors.field_invalid(info, meta(obj).get("name", ""), problem.path, problem.value, problem.detail)
        alloc.clear_chosen(obj.get("spec") or {}, chosen)

    # -- update and patch ------------------------------------------------------------------------------------

    async def update(self, t: Target, obj: Any, opts: WriteOptions) -> bytes:
        if not isinstance(obj, dict):
            raise errors.bad_request("the request body must be a JSON object")
        kv = await self.read(t)
        self._check_identity(t, obj, kv)
        old = decode(kv)
        new = self._prepare_update(t, obj, old, opts)
        return await self.replace(t, kv, old, new, opts)

    def _check_identity(self, t: Target, obj: dict[str, Any], kv: KeyValue) -> None:
        m = obj.get("metadata") or {}
        if m.get("name") and m["name"] != t.name:
            raise errors.bad_request(f"the name of the object ({m['name']}) does not match the name on the URL "
                                     f"({t.name})")
        if t.info.namespaced and m.get("namespace") and m["namespace"] != t.namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on "
                                     "the request")
        rv = m.get("resourceVersion")
        if rv and rv != str(kv.mod_revision):
            raise errors.stale(t.info, t.name)

    def _prepare_update(self, t: Target, obj: dict[str, Any], old: dict[str, Any], opts: WriteOptions) -> dict:
        try:
            if t.subresource == "status":
                return api.prepare_status_update(t.info, obj, old, opts.warnings)
            return api.prepare_update(t.info, obj, old, opts.warnings, opts.strict)
        except api.Invalid as exc:
            raise errors.invalid(exc) from None
        except api.UnknownFields as exc:
            raise errors.bad_request(str(exc)) from None

    async def patch(self, t: Target, body: bytes, content_type: str, opts: WriteOptions) -> bytes:
        name = key(t.info, t.namespace, t.name)
        lock = self._patching.get(name)
        if lock is None:
            lock = self._patching[name] = asyncio.Lock()
        async with lock:
            return await self._patch(t, body, content_type, opts)

    async def _patch(self, t: Target, body: bytes, content_type: str, opts: WriteOptions) -> bytes:
        for _ in range(PATCH_RETRIES):
            kv = await self.store.get(key(t.info, t.namespace, t.name))
            if kv is None and content_type.startswith(APPLY) and not t.subresource:
                return await self._create_by_apply(t, body, content_type, opts)
            if kv is None:
                raise errors.not_found(t.info, t.name)
            old = decode(kv)
            patched, pinned = self._patch_onto(t, api.from_stored(t.info, decode(kv)), body, content_type)
            self._check_identity(t, patched, kv)
            new = self._prepare_update(t, patched, old, opts)
            try:
                return await self.replace(t, kv, old, new, opts)
            except errors.ApiError as exc:
                if exc.code != 409 or pinned or exc.reason != "Conflict":
                    raise
        raise errors.stale(t.info, t.name)

    def _patch_onto(self, t: Target, current: dict[str, Any], body: bytes, content_type: str
                    ) -> tuple[dict[str, Any], bool]:
        """The patched object, and whether the patch itself pins metadata.resourceVersion.

        Only a patch that pins a resourceVersion (sets it, or JSON-patch tests it) may fail with a conflict: any
        other is re-applied onto the fresh object when a concurrent write (a controller's status update) wins the
        race, as Kubernetes does.
        """
        return self._apply_patch(t, current, body, content_type), _pins_version(body, content_type)

    async def _create_by_apply(self, t: Target, body: bytes, content_type: str, opts: WriteOptions) -> bytes:
        """Server-side apply of an object that does not exist yet creates it from the applied configuration."""
        obj = self._apply_patch(t, {}, body, content_type)
        meta(obj).setdefault("name", t.name)
        if meta(obj)["name"] != t.name:
            raise errors.bad_request(f"the name of the object ({meta(obj)['name']}) does not match the name on the "
                                     f"URL ({t.name})")
        try:
            return await self.create(t, obj, opts)
        except errors.ApiError as exc:
            if exc.reason != "AlreadyExists":
                raise
            return await self._patch(t, body, content_type, opts)  # created meanwhile (the lock is held)

    @staticmethod
    def _apply_patch(t: Target, old: dict[str, Any], body: bytes, content_type: str) -> dict[str, Any]:
        """The patched object; ``old`` may be consumed (callers pass a fresh parse, never a shared object)."""
        try:
            return api.apply_patch(t.info, old, body, content_type)
        except PatchError as exc:
            code = getattr(exc, "code", 422)
            reasons = {400: "BadRequest", 415: "UnsupportedMediaType", 422: "Invalid"}
            raise errors.ApiError(code, reasons.get(code, "Invalid"), str(exc)) from None

    async def replace(self, t: Target, kv: KeyValue, old: dict[str, Any], new: dict[str, Any],
                      opts: WriteOptions) -> bytes:
        """Store ``new`` over ``old`` if ``kv`` is still current; no write when nothing changed."""
        m, old_m = meta(new), old.get("metadata") or {}
        _drop_empty_maps(m)
        m["generation"] = old_m.get("generation", 1) + (1 if api.spec_changed(t.info, new, old) else 0)
        if _without_rv(new) == _without_rv(old):
            return kv.value
        return await self.replace_changed(t, kv, old, new, opts)

    async def replace_changed(self, t: Target, kv: KeyValue, old: dict[str, Any], new: dict[str, Any],
                              opts: WriteOptions | None = None) -> bytes:
        """``replace`` for a caller that made the change itself and set the generation (a binding): the
        comparisons that find a no-op or a spec change are skipped, admission and the compare-and-swap are not."""
        opts, m = opts or WriteOptions(), meta(new)
        await self.admission.on_update(t.info, new, old, opts, t.subresource)
        if opts.dry_run:
            async with self.admission.quota.charging(t.info, new, old) if not t.subresource else NO_CHARGES:
                return encoder(new)(kv.mod_revision)
        if m.get("deletionTimestamp") and not m.get("finalizers") and not m.get("deletionGracePeriodSeconds"):
            return await self.finalize(t.info, kv, new)
        return await self._commit_update(t, kv, old, new)

    async def _commit_update(self, t: Target, kv: KeyValue, old: dict[str, Any], new: dict[str, Any]) -> bytes:
        k, service = key_of(t.info, new), t.info.kind == "Service"
        for _ in range(16):
            chosen = alloc.assign(new.get("spec") or {}) if service else set()  # e.g. type changed to NodePort
            extra = alloc.writes(k, old, new) if service else []
            try:
                async with self.admission.quota.charging(t.info, new, old) if not t.subresource else NO_CHARGES \
                        as charges:
                    writes = [Update(k, encoder(new), kv.mod_revision), *extra, *charges]
                    return (await self.store.commit(writes))[0].value
            except (Conflict, KeyNotFound) as exc:  # the object changed or went since it was read, or a quota did
                self._quota_moved(t.info, new, exc)
            except KeyExists as exc:
                self._collision(t.info, new, exc, chosen)
        if service:
            raise errors.timeout("could not allocate a free node port for the Service after 16 attempts")
        raise errors.timeout(f"could not charge the {t.info.kind} to its namespace's quotas after 16 attempts")

    async def finalize(self, info: api.ResourceInfo, kv: KeyValue, last: dict[str, Any]) -> bytes:
        """Remove the object for good (its deletion is due and nothing holds it); the tombstone is ``last``."""
        extra = alloc.writes(kv.key, last, None) if info.kind == "Service" else []
        try:
            done = await self.store.commit([Delete(kv.key, kv.mod_revision, encoder(last)), *extra])
        except Conflict:
            raise errors.stale(info, meta(last).get("name", "")) from None
        except KeyNotFound:
            raise errors.not_found(info, meta(last).get("name", "")) from None
        if info.kind == "Namespace":
            self.admission.forget_namespace(meta(last).get("name", ""))
        return done[0].value


def _pins_version(body: bytes, content_type: str) -> bool:
    try:
        if content_type.startswith(APPLY):
            import yaml
            doc = yaml.safe_load(body)
        else:
            doc = json.loads(body)
    except Exception:  # noqa: BLE001 - a malformed patch is refused with its own error when it is applied
        return False
    if isinstance(doc, list):
        return any(isinstance(op, dict) and op.get("path") == "/metadata/resourceVersion" for op in doc)
    return isinstance(doc, dict) and bool((doc.get("metadata") or {}).get("resourceVersion"))
