"""The ``scale`` and ``binding`` subresources (``status`` is an ordinary update with ``prepare_status_update``).

Scale is a view: GET renders an autoscaling/v1 Scale from the parent, PUT/PATCH compute a new Scale and write its
replicas back into the parent with the parent's compare-and-swap. Binding is the scheduler's one write: it sets
``spec.nodeName`` once; a second binding of the same pod is a 409.
"""

from __future__ import annotations

import json
from typing import Any

from portside import api
from portside.api import jsonwire
from portside.api.patch import PatchError
from portside.apiserver import errors
from portside.apiserver.objects import Target, decode, now
from portside.apiserver.registry import Registry, WriteOptions

SCALE = api.ResourceInfo("autoscaling", "v1", "Scale", "scale", "scale", True, model=api.models.Scale)


def _dump(obj: dict[str, Any]) -> bytes:
    return jsonwire.dumps(obj)


BOUND = _dump({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})


class Subresources:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def get_scale(self, t: Target) -> bytes:
        return _dump(api.scale_of(decode(await self.registry.read(t))))

    async def put_scale(self, t: Target, scale: Any, opts: WriteOptions) -> bytes:
        if not isinstance(scale, dict):
            raise errors.bad_request("the request body must be a Scale object")
        return await self._write_scale(t, lambda current: scale, opts)

    async def patch_scale(self, t: Target, body: bytes, content_type: str, opts: WriteOptions) -> bytes:
        def patched(current: dict[str, Any]) -> dict[str, Any]:
            try:
                return api.apply_patch(SCALE, current, body, content_type)
            except PatchError as exc:
                raise errors.ApiError(exc.code, "BadRequest" if exc.code == 400 else "Invalid", str(exc)) from None
        return await self._write_scale(t, patched, opts)

    async def _write_scale(self, t: Target, make, opts: WriteOptions) -> bytes:
        for _ in range(5):
            kv = await self.registry.read(t)
            old = decode(kv)
            scale = make(api.scale_of(old))
            rv = (scale.get("metadata") or {}).get("resourceVersion")
            if rv and rv != str(kv.mod_revision):
                raise errors.stale(t.info, t.name)
            try:
                new = api.apply_scale(decode(kv), scale)
            except api.Invalid as exc:
                raise errors.invalid(exc) from None
            try:
                stored = await self.registry.replace(t, kv, old, new, opts)
            except errors.ApiError as exc:
                if exc.reason == "Conflict" and not rv:
                    continue
                raise
            return _dump(api.scale_of(json.loads(stored)))
        raise errors.stale(t.info, t.name)

    async def bind(self, t: Target, binding: Any) -> bytes:
        target = (binding or {}).get("target") if isinstance(binding, dict) else None
        node = (target or {}).get("name")
        if not node:
            raise errors.field_invalid(t.info, t.name, "target.name", node or "", "must name a node")
        kv = await self.registry.read(t)
        pod = decode(kv)
        current = (pod.get("spec") or {}).get("nodeName")
        if current:
            raise errors.conflict(t.info, t.name, f'pod {t.name} is already assigned to node "{current}"')
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.conflict(t.info, t.name, "pod is being deleted, cannot be assigned to a host")
        await self.registry.replace_changed(t, kv, pod, bound(pod, node))
        return BOUND


def bound(pod: dict[str, Any], node: str) -> dict[str, Any]:
    """``pod`` on ``node``: new spec, status and metadata dicts over the old ones' values, so ``pod`` stays
    intact without a deep copy or a second parse (the scheduler binds thousands of pods a second)."""
    meta = pod["metadata"]
    status = dict(pod.get("status") or {})
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                       "lastTransitionTime": now()})
    status["conditions"] = conditions
    # Setting spec.nodeName is a spec change, so the generation moves as any update's would.
    return {**pod, "metadata": {**meta, "generation": meta.get("generation", 1) + 1},
            "spec": {**pod["spec"], "nodeName": node}, "status": status}
