"""The ReplicaSet's reconcile core, pure: which pods it owns, adopts and releases; how many to create; which to
delete; what its status says. The controller (``replicaset.py``) reads the caches, calls these and writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portside import api
from portside.api import models
from portside.controllers.pods import (
    Obj,
    controller_of,
    deletion_rank,
    is_active,
    is_available,
    is_ready,
    is_terminating,
    timestamp,
)

BURST = 500  # most pods created or deleted in one sync, as Kubernetes' burstReplicas
FIRST_BATCH = 1
Pod = models.Pod


@dataclass
class Claim:
    owned: list[Obj] = field(default_factory=list)
    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)


def selector_of(owner: Obj) -> api.Selector:
    selector = owner.spec.selector if owner.spec else None
    return api.selector_from_object(selector.to_dict() if selector else None)


def claim(owner: Obj, objs: list[Obj]) -> Claim:
    """Kubernetes' ControllerRefManager: keep what is ours and matches, adopt matching orphans, release the rest.

    A terminating owner adopts nothing (it would only orphan them again); a terminating object is not adopted.
    """
    out, uid, selector = Claim(), owner.metadata.uid, selector_of(owner)
    for obj in objs:
        ref, matches = controller_of(obj), selector.matches(obj.metadata.labels)
        if ref is not None and ref.uid == uid:
            (out.owned if matches else out.release).append(obj)
        elif ref is None and matches and not is_terminating(owner) and not is_terminating(obj):
            out.adopt.append(obj)
    return out


@dataclass(frozen=True)
class Diff:
    create: int = 0
    delete: tuple[Pod, ...] = ()


def diff(replicas: int, pods: list[Pod]) -> Diff:
    """How to get from ``pods`` (owned) to ``replicas`` active ones; deletes the most deletable first."""
    active = [p for p in pods if is_active(p)]
    gap = replicas - len(active)
    if gap > 0:
        return Diff(create=min(gap, BURST))
    if gap < 0:
        ranked = sorted(active, key=deletion_rank)
        return Diff(delete=tuple(ranked[:min(-gap, BURST)]))
    return Diff()


def slow_start(count: int, first: int = FIRST_BATCH) -> list[int]:
    """Batch sizes 1, 2, 4, ... summing to ``count``: a template that cannot be created fails once, not N times."""
    batches, size = [], first
    while count > 0:
        batches.append(min(size, count))
        count -= batches[-1]
        size *= 2
    return batches


def _fully_labeled(pod: Pod, template_labels: dict[str, str]) -> bool:
    labels = pod.metadata.labels or {}
    return all(labels.get(k) == v for k, v in template_labels.items())


def min_ready_seconds(rs: models.ReplicaSet) -> int:
    return (rs.spec.min_ready_seconds if rs.spec else None) or 0


def status(rs: models.ReplicaSet, pods: list[Pod], now: float, failure: str = "") -> models.ReplicaSetStatus:
    """ReplicaSet status from its owned pods (``pods``); terminating pods are counted apart, as Kubernetes does.

    ``failure`` (why the last pod create failed) becomes the ReplicaFailure condition; without one, that condition
    goes (``conditions`` None: ``status_patch`` sends it as null, which removes the field).
    """
    active = [p for p in pods if is_active(p)]
    template = rs.spec.template if rs.spec else None
    labels = (template.metadata.labels if template and template.metadata else None) or {}
    min_ready = min_ready_seconds(rs)
    return models.ReplicaSetStatus(
        replicas=len(active),
        fully_labeled_replicas=sum(_fully_labeled(p, labels) for p in active),
        ready_replicas=sum(is_ready(p) for p in active),
        available_replicas=sum(is_available(p, min_ready, now) for p in active),
        terminating_replicas=sum(is_terminating(p) for p in pods),
        observed_generation=rs.metadata.generation or 0,
        conditions=replica_failure(rs, failure) or None)


def status_patch(status: models.ReplicaSetStatus) -> dict:
    """The merge patch that writes ``status``; absent conditions are sent as null so that the field goes."""
    return {"status": {**status.to_dict(), "conditions": status.conditions}}


def replica_failure(rs: models.ReplicaSet, failure: str) -> list[models.WorkloadCondition]:
    current = (rs.status.conditions if rs.status else None) or []
    kept = [c for c in current if c.type != "ReplicaFailure"]
    if not failure:
        return kept
    previous = next((c for c in current if c.type == "ReplicaFailure"), None)
    since = (previous.last_transition_time if previous else None) or timestamp()
    return kept + [models.WorkloadCondition(type="ReplicaFailure", status="True", reason="FailedCreate",
                                            message=failure, last_transition_time=since)]
