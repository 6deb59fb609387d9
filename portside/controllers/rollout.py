"""The Deployment's reconcile core, pure: template hashes, surge and unavailability bounds, the ReplicaSet sizes
each step of a RollingUpdate or Recreate wants, revisions, and which old ReplicaSets history keeps.

Functions take the Deployment and its ReplicaSets as typed models and return numbers or ``{rs name: replicas}``;
``deployment.py`` turns those into API writes. The arithmetic follows Kubernetes' deployment controller
(``rolling.go``, ``recreate.go``, ``util/deployment_util.go``) so kubectl's expectations hold.
"""

from __future__ import annotations

import dataclasses
import json
import math

from portside.api.models import Deployment, PodTemplateSpec, ReplicaSet, ReplicaSetStatus
from portside.controllers.pods import annotations, desired, is_terminating

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
NOT_COPIED = frozenset({REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS,
                        "kubectl.kubernetes.io/last-applied-configuration", "deprecated.deployment.rollback.to"})
_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' alphabet for generated names: no vowels, no look-alikes


def template_hash(template: PodTemplateSpec, collisions: int = 0) -> str:
    """A short stable name part for a pod template: FNV-1a over its canonical JSON, then the safe alphabet."""
    data = json.dumps(template.to_dict(), sort_keys=True, separators=(",", ":")).encode()
    data += str(collisions or "").encode()
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE[ord(c) % len(_SAFE)] for c in str(h))


def without_hash(template: PodTemplateSpec) -> PodTemplateSpec:
    """The template less its ``pod-template-hash`` label (a shallow copy; ``template`` is left as it is)."""
    meta = template.metadata
    if meta is None or HASH_LABEL not in (meta.labels or {}):
        return template
    labels = {k: v for k, v in meta.labels.items() if k != HASH_LABEL}
    return dataclasses.replace(template, metadata=dataclasses.replace(meta, labels=labels))


def same_template(rs: ReplicaSet, deployment: Deployment) -> bool:
    return without_hash(rs.spec.template or PodTemplateSpec()) == deployment.spec.template


def replicas(rs: ReplicaSet) -> int:
    return rs.spec.replicas or 0


def status_of(rs: ReplicaSet) -> ReplicaSetStatus:
    return rs.status or ReplicaSetStatus()


def available(rs: ReplicaSet) -> int:
    """Available pods of ``rs``, never more than it is asked for: its status lags a scale-down we just made."""
    return min(status_of(rs).available_replicas or 0, replicas(rs))


def scaled(value: int | str | None, total: int, round_up: bool) -> int:
    """An IntOrString against ``total``: ``"25%"`` of 10 is 3 rounded up, 2 rounded down."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    fraction = int(value.rstrip("%")) * total / 100
    return math.ceil(fraction) if round_up else math.floor(fraction)


def is_recreate(deployment: Deployment) -> bool:
    strategy = deployment.spec.strategy
    return strategy is not None and strategy.type == "Recreate"


def bounds(deployment: Deployment) -> tuple[int, int]:
    """(maxSurge, maxUnavailable); both zero would freeze a rollout, so unavailability becomes 1."""
    want = desired(deployment)
    if is_recreate(deployment):
        return 0, want
    rolling = deployment.spec.strategy.rolling_update if deployment.spec.strategy else None
    surge = scaled(rolling.max_surge if rolling and rolling.max_surge is not None else "25%", want, True)
    unavailable = scaled(rolling.max_unavailable if rolling and rolling.max_unavailable is not None else "25%",
                         want, False)
    return (surge, 1) if surge == 0 and unavailable == 0 else (surge, unavailable)


def new_rs_size(deployment: Deployment, new: ReplicaSet | None, all_sets: list[ReplicaSet]) -> int:
    """How big the new ReplicaSet may be now: up to the desired count, never above desired + surge in total."""
    want, current = desired(deployment), replicas(new) if new else 0
    if is_recreate(deployment):
        return want
    if current >= want:
        return want
    room = want + bounds(deployment)[0] - sum(replicas(rs) for rs in all_sets)
    return current + max(0, min(room, want - current))


def age(rs: ReplicaSet) -> tuple[str, str]:
    return rs.metadata.creation_timestamp or "", rs.metadata.name or ""


def old_rs_sizes(deployment: Deployment, new: ReplicaSet | None, old: list[ReplicaSet]) -> dict[str, int]:
    """Scale-downs of old ReplicaSets a rolling step allows: first their unavailable pods, then available ones,
    keeping at least ``replicas - maxUnavailable`` available across all sets."""
    all_sets = old + ([new] if new else [])
    if not any(replicas(rs) for rs in old):
        return {}
    min_available = desired(deployment) - bounds(deployment)[1]
    new_unavailable = replicas(new) - available(new) if new else 0
    budget = sum(replicas(rs) for rs in all_sets) - min_available - new_unavailable
    sizes: dict[str, int] = {}
    for rs in sorted(old, key=age):  # unhealthy first: removing a pod that serves nothing costs no availability
        cut = min(max(budget, 0), replicas(rs) - available(rs))
        if cut > 0:
            sizes[rs.metadata.name], budget = replicas(rs) - cut, budget - cut
    spare = sum(available(rs) for rs in all_sets) - min_available
    for rs in sorted(old, key=age):
        current = sizes.get(rs.metadata.name, replicas(rs))
        cut = min(current, max(spare, 0))
        if cut > 0:
            sizes[rs.metadata.name], spare = current - cut, spare - cut
    return sizes


def revision(rs: ReplicaSet | Deployment | None) -> int:
    value = annotations(rs).get(REVISION, "0") if rs else "0"
    return int(value) if value.isdigit() else 0


def copied_annotations(deployment: Deployment) -> dict[str, str]:
    return {k: v for k, v in annotations(deployment).items() if k not in NOT_COPIED}


def new_rs_annotations(deployment: Deployment, new: ReplicaSet, old: list[ReplicaSet]) -> dict[str, str]:
    """What the new ReplicaSet's annotations lack: the Deployment's own, and a revision above every old one (the
    revision it had before goes into ``revision-history``)."""
    notes = annotations(new)
    patch = {k: v for k, v in copied_annotations(deployment).items() if notes.get(k) != v}
    top, current = max((revision(rs) for rs in old), default=0), revision(new)
    if current <= top:
        history = ",".join(x for x in (notes.get(REVISION_HISTORY), str(current) if current else "") if x)
        patch[REVISION] = str(top + 1)
        if history:
            patch[REVISION_HISTORY] = history
    return patch


def history_to_delete(deployment: Deployment, old: list[ReplicaSet]) -> list[ReplicaSet]:
    """Old, empty ReplicaSets beyond ``revisionHistoryLimit``, lowest revision first."""
    limit = deployment.spec.revision_history_limit
    if limit is None:
        return []
    empty = [rs for rs in old if replicas(rs) == 0 and not status_of(rs).replicas and not is_terminating(rs)]
    empty.sort(key=revision)
    return empty[:max(0, len(empty) - limit)]


def old_pods_gone(old: list[ReplicaSet]) -> bool:
    """Recreate's gate: every old ReplicaSet asked for zero and has reported that none of its pods remain."""
    for rs in old:
        status = status_of(rs)
        if replicas(rs) or status.replicas or status.terminating_replicas:
            return False
        if (status.observed_generation or 0) < (rs.metadata.generation or 0):
            return False
    return True
