"""Pure facts about pods and ownership that every workload controller asks: ready, available, active, owned.

Everything here reads wire dicts (what the informer caches hold) and returns plain values, so the reconcile cores
built on it are tested on data alone. ``Written`` is the one bit of state: a controller's own writes, kept until
its cache has caught up with them.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from portside import api
from portside.api.timefmt import parse_time

Obj = dict[str, Any]


def now_s() -> float:
    return dt.datetime.now(dt.UTC).timestamp()


def timestamp(value: float | None = None) -> str:
    """RFC 3339 at second resolution, the form the API server writes."""
    moment = dt.datetime.fromtimestamp(now_s() if value is None else value, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(value: str | None) -> float | None:
    moment = parse_time(value)
    return moment.timestamp() if moment else None


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def condition(obj: Obj, kind: str) -> Obj | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def is_ready(pod: Obj) -> bool:
    ready = condition(pod, "Ready")
    return ready is not None and ready.get("status") == "True"


def is_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``min_ready_seconds`` (the Ready condition's transition time), as Kubernetes counts."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = seconds((condition(pod, "Ready") or {}).get("lastTransitionTime"))
    return since is not None and since + min_ready_seconds <= now


def available_in(pod: Obj, min_ready_seconds: int, now: float) -> float | None:
    """Seconds until a ready pod becomes available, None when it is not ready or already available."""
    if min_ready_seconds <= 0 or not is_ready(pod):
        return None
    since = seconds((condition(pod, "Ready") or {}).get("lastTransitionTime"))
    left = (since or now) + min_ready_seconds - now
    return left if left > 0 else None


def is_terminating(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def is_finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_active(pod: Obj) -> bool:
    """Counts toward a controller's replicas: neither finished nor on its way out."""
    return not is_terminating(pod) and not is_finished(pod)


def controller_of(obj: Obj) -> Obj | None:
    return next((r for r in meta(obj).get("ownerReferences") or [] if r.get("controller")), None)


def owned_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == meta(owner).get("uid")


def owner_ref(owner: Obj, info: api.ResourceInfo) -> Obj:
    """The controller reference to ``owner`` (list items may lack apiVersion and kind, so ``info`` says them)."""
    m = meta(owner)
    api_version = f"{info.group}/{info.version}" if info.group else info.version
    return {"apiVersion": api_version, "kind": info.kind, "name": m["name"], "uid": m["uid"], "controller": True,
            "blockOwnerDeletion": True}


def owner_json_patch(obj: Obj, refs: list[Obj]) -> list[Obj]:
    """Replace ownerReferences only if the object is still the version we judged (the adopt/release race)."""
    return [{"op": "test", "path": "/metadata/resourceVersion", "value": meta(obj)["resourceVersion"]},
            {"op": "replace" if "ownerReferences" in meta(obj) else "add", "path": "/metadata/ownerReferences",
             "value": refs}]


def from_template(template: Obj, ref: Obj, prefix: str) -> Obj:
    """A new pod stamped from ``template`` with ``ref`` (an ``owner_ref``) as its controller."""
    tmeta = template.get("metadata") or {}
    body_meta: Obj = {"generateName": prefix, "ownerReferences": [ref]}
    for key in ("labels", "annotations", "finalizers"):
        if tmeta.get(key):
            body_meta[key] = copy.deepcopy(tmeta[key])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": body_meta, "spec": copy.deepcopy(template.get("spec"))}


def deletion_rank(pod: Obj) -> tuple:
    """Sort key, most deletable first: unscheduled, pending, not ready, most restarts, newest.

    Kubernetes' ``ActivePodsWithRanks`` order, less its co-location rank: losing a pod that never served costs
    nothing, and a young pod has proved least.
    """
    status = pod.get("status") or {}
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", "Pending"), 0)
    restarts = sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or [])
    ready_since = seconds((condition(pod, "Ready") or {}).get("lastTransitionTime")) or 0.0
    created = seconds(meta(pod).get("creationTimestamp")) or 0.0
    return (bool((pod.get("spec") or {}).get("nodeName")), phase_rank, is_ready(pod),
            -ready_since if is_ready(pod) else 0.0, -restarts, -created, meta(pod).get("name", ""))


class Written:
    """Objects this controller wrote, until its informer's cache shows them or something newer.

    The watch delivers our own write a moment after the API answered it, and may first deliver older versions;
    a sync in between must not act on those (finish a Job twice, scale a ReplicaSet from a stale size).
    """

    def __init__(self) -> None:
        self._objs: dict[str, Obj] = {}

    def keep(self, key: str, obj: Obj) -> Obj:
        self._objs[key] = obj
        return obj

    def fresh(self, key: str, cached: Obj | None) -> Obj | None:
        mine = self._objs.get(key)
        if mine is None or cached is None:
            self._objs.pop(key, None)
            return cached
        if _revision(cached) >= _revision(mine):
            del self._objs[key]
            return cached
        return mine


def _revision(obj: Obj) -> int:
    value = meta(obj).get("resourceVersion") or "0"
    return int(value) if value.isdigit() else 0
