"""Pure facts about pods and ownership that every workload controller asks: ready, available, active, owned.

Everything here reads the typed models the informer caches hold and returns plain values, so the reconcile cores
built on it are tested on data alone. ``Written`` is the one bit of state: a controller's own writes, kept until
its cache has caught up with them.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from portside import api
from portside.api import models
from portside.api.timefmt import parse_time

Obj = Any  # a typed model: Pod, ReplicaSet, Deployment, Job... (anything with metadata, most with spec/status)


def now_s() -> float:
    return dt.datetime.now(dt.UTC).timestamp()


def timestamp(value: float | None = None) -> str:
    """RFC 3339 at second resolution, the form the API server writes."""
    moment = dt.datetime.fromtimestamp(now_s() if value is None else value, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(value: str | None) -> float | None:
    moment = parse_time(value)
    return moment.timestamp() if moment else None


def condition(obj: Obj, kind: str) -> Any | None:
    """The status condition of type ``kind`` (a PodCondition, WorkloadCondition...), None when absent."""
    status = obj.status
    return next((c for c in (status.conditions if status else None) or [] if c.type == kind), None)


def ready_since(pod: models.Pod) -> float | None:
    ready = condition(pod, "Ready")
    return seconds(ready.last_transition_time) if ready else None


def is_ready(pod: models.Pod) -> bool:
    ready = condition(pod, "Ready")
    return ready is not None and ready.status == "True"


def is_available(pod: models.Pod, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``min_ready_seconds`` (the Ready condition's transition time), as Kubernetes counts."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds <= now


def available_in(pod: models.Pod, min_ready_seconds: int, now: float) -> float | None:
    """Seconds until a ready pod becomes available, None when it is not ready or already available."""
    if min_ready_seconds <= 0 or not is_ready(pod):
        return None
    left = (ready_since(pod) or now) + min_ready_seconds - now
    return left if left > 0 else None


def desired(obj: Obj) -> int:
    """``spec.replicas`` of a ReplicaSet or Deployment, 1 when unset (as the API server defaults it)."""
    value = obj.spec.replicas if obj.spec else None
    return 1 if value is None else value


def annotations(obj: Obj) -> dict[str, str]:
    return obj.metadata.annotations or {}


def is_terminating(obj: Obj) -> bool:
    return bool(obj.metadata.deletion_timestamp)


def phase(pod: models.Pod) -> str | None:
    return pod.status.phase if pod.status else None


def is_finished(pod: models.Pod) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def is_active(pod: models.Pod) -> bool:
    """Counts toward a controller's replicas: neither finished nor on its way out."""
    return not is_terminating(pod) and not is_finished(pod)


def container_statuses(pod: models.Pod) -> list[models.ContainerStatus]:
    return (pod.status.container_statuses if pod.status else None) or []


def controller_of(obj: Obj) -> models.OwnerReference | None:
    return next((r for r in obj.metadata.owner_references or [] if r.controller), None)


def owned_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.uid == owner.metadata.uid


def owner_ref(owner: Obj, info: api.ResourceInfo) -> models.OwnerReference:
    """The controller reference to ``owner`` (list items may lack apiVersion and kind, so ``info`` says them)."""
    return models.OwnerReference(api_version=info.api_version, kind=info.kind, name=owner.metadata.name,
                                 uid=owner.metadata.uid, controller=True, block_owner_deletion=True)


def owner_json_patch(obj: Obj, refs: list[models.OwnerReference]) -> list[dict[str, Any]]:
    """Replace ownerReferences only if the object is still the version we judged (the adopt/release race)."""
    m = obj.metadata
    return [{"op": "test", "path": "/metadata/resourceVersion", "value": m.resource_version},
            {"op": "replace" if m.owner_references is not None else "add", "path": "/metadata/ownerReferences",
             "value": refs}]


def from_template(template: models.PodTemplateSpec, ref: models.OwnerReference, prefix: str) -> models.Pod:
    """A new pod stamped from ``template`` with ``ref`` (an ``owner_ref``) as its controller."""
    tmeta = template.metadata or models.ObjectMeta()
    meta = models.ObjectMeta(generate_name=prefix, owner_references=[ref], labels=copy.copy(tmeta.labels) or None,
                             annotations=copy.copy(tmeta.annotations) or None,
                             finalizers=copy.copy(tmeta.finalizers) or None)
    return models.Pod(api_version="v1", kind="Pod", metadata=meta, spec=copy.deepcopy(template.spec))


def deletion_rank(pod: models.Pod) -> tuple:
    """Sort key, most deletable first: unscheduled, pending, not ready, most restarts, newest.

    Kubernetes' ``ActivePodsWithRanks`` order, less its co-location rank: losing a pod that never served costs
    nothing, and a young pod has proved least.
    """
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(phase(pod) or "Pending", 0)
    restarts = sum(c.restart_count or 0 for c in container_statuses(pod))
    ready = is_ready(pod)
    created = seconds(pod.metadata.creation_timestamp) or 0.0
    return (bool(pod.spec.node_name), phase_rank, ready, -(ready_since(pod) or 0.0) if ready else 0.0, -restarts,
            -created, pod.metadata.name or "")


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
    value = obj.metadata.resource_version or "0"
    return int(value) if value.isdigit() else 0
