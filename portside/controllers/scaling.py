"""The ReplicaSet's reconcile core, pure: which pods it owns, adopts and releases; how many to create; which to
delete; what its status says. The controller (``replicaset.py``) reads the caches, calls these and writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portside import api
from portside.controllers.pods import (
    Obj,
    controller_of,
    deletion_rank,
    is_active,
    is_available,
    is_ready,
    is_terminating,
    meta,
    timestamp,
)

BURST = 500  # most pods created or deleted in one sync, as Kubernetes' burstReplicas
FIRST_BATCH = 1


@dataclass
class Claim:
    owned: list[Obj] = field(default_factory=list)
    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)


def selector_of(owner: Obj) -> api.Selector:
    return api.selector_from_object((owner.get("spec") or {}).get("selector"))


def claim(owner: Obj, pods: list[Obj]) -> Claim:
    """Kubernetes' ControllerRefManager: keep what is ours and matches, adopt matching orphans, release the rest.

    A terminating owner adopts nothing (it would only orphan them again); a terminating pod is not adopted.
    """
    out, uid, selector = Claim(), meta(owner).get("uid"), selector_of(owner)
    for pod in pods:
        ref, matches = controller_of(pod), selector.matches(meta(pod).get("labels"))
        if ref is not None and ref.get("uid") == uid:
            (out.owned if matches else out.release).append(pod)
        elif ref is None and matches and not is_terminating(owner) and not is_terminating(pod):
            out.adopt.append(pod)
    return out


@dataclass(frozen=True)
class Diff:
    create: int = 0
    delete: tuple[Obj, ...] = ()


def diff(replicas: int, pods: list[Obj]) -> Diff:
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


def _fully_labeled(pod: Obj, template_labels: dict[str, str]) -> bool:
    labels = meta(pod).get("labels") or {}
    return all(labels.get(k) == v for k, v in template_labels.items())


def status(rs: Obj, pods: list[Obj], now: float, failure: str = "") -> Obj:
    """ReplicaSet status from its owned pods (``pods``); terminating pods are counted apart, as Kubernetes does.

    ``failure`` (why the last pod create failed) becomes the ReplicaFailure condition; without one, that condition
    goes (``conditions: None`` removes the field in the merge patch the controller sends).
    """
    spec = rs.get("spec") or {}
    active = [p for p in pods if is_active(p)]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = spec.get("minReadySeconds") or 0
    out = {
        "replicas": len(active),
        "fullyLabeledReplicas": sum(_fully_labeled(p, labels) for p in active),
        "readyReplicas": sum(is_ready(p) for p in active),
        "availableReplicas": sum(is_available(p, min_ready, now) for p in active),
        "terminatingReplicas": sum(is_terminating(p) for p in pods),
        "observedGeneration": meta(rs).get("generation", 0),
    }
    out["conditions"] = replica_failure(rs, failure) or None
    return out


def replica_failure(rs: Obj, failure: str) -> list[Obj]:
    current = (rs.get("status") or {}).get("conditions") or []
    kept = [c for c in current if c.get("type") != "ReplicaFailure"]
    if not failure:
        return kept
    previous = next((c for c in current if c.get("type") == "ReplicaFailure"), {})
    return kept + [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": failure,
                    "lastTransitionTime": previous.get("lastTransitionTime") or timestamp()}]
