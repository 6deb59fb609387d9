"""The Deployment's reconcile core, pure: template hashes, surge and unavailability bounds, the ReplicaSet sizes
each step of a RollingUpdate or Recreate wants, revisions, and which old ReplicaSets history keeps.

Functions take the Deployment and its ReplicaSets as wire dicts and return numbers or ``{rs name: replicas}``;
``deployment.py`` turns those into API writes. The arithmetic follows Kubernetes' deployment controller
(``rolling.go``, ``recreate.go``, ``util/deployment_util.go``) so kubectl's expectations hold.
"""

from __future__ import annotations

import copy
import json
import math

from portside.controllers.pods import Obj, is_terminating, meta

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
NOT_COPIED = frozenset({REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS,
                        "kubectl.kubernetes.io/last-applied-configuration", "deprecated.deployment.rollback.to"})
_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' alphabet for generated names: no vowels, no look-alikes


def template_hash(template: Obj, collisions: int = 0) -> str:
    """A short stable name part for a pod template: FNV-1a over its canonical JSON, then the safe alphabet."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode() + str(collisions or "").encode()
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE[ord(c) % len(_SAFE)] for c in str(h))


def without_hash(template: Obj) -> Obj:
    out = copy.deepcopy(template)
    (out.get("metadata") or {}).get("labels", {}).pop(HASH_LABEL, None)
    return out


def same_template(rs: Obj, deployment: Obj) -> bool:
    return without_hash((rs.get("spec") or {}).get("template") or {}) == deployment["spec"].get("template")


def replicas(rs: Obj) -> int:
    return (rs.get("spec") or {}).get("replicas") or 0


def available(rs: Obj) -> int:
    """Available pods of ``rs``, never more than it is asked for: its status lags a scale-down we just made."""
    return min((rs.get("status") or {}).get("availableReplicas") or 0, replicas(rs))


def scaled(value: int | str | None, total: int, round_up: bool) -> int:
    """An IntOrString against ``total``: ``"25%"`` of 10 is 3 rounded up, 2 rounded down."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    fraction = int(value.rstrip("%")) * total / 100
    return math.ceil(fraction) if round_up else math.floor(fraction)


def bounds(deployment: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable); both zero would freeze a rollout, so unavailability becomes 1."""
    spec = deployment["spec"]
    if (spec.get("strategy") or {}).get("type") == "Recreate":
        return 0, spec.get("replicas", 1)
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    want = spec.get("replicas", 1)
    surge = scaled(rolling.get("maxSurge", "25%"), want, True)
    unavailable = scaled(rolling.get("maxUnavailable", "25%"), want, False)
    return (surge, 1) if surge == 0 and unavailable == 0 else (surge, unavailable)


def new_rs_size(deployment: Obj, new: Obj | None, all_sets: list[Obj]) -> int:
    """How big the new ReplicaSet may be now: up to the desired count, never above desired + surge in total."""
    want, current = deployment["spec"].get("replicas", 1), replicas(new) if new else 0
    if (deployment["spec"].get("strategy") or {}).get("type") == "Recreate":
        return want
    if current >= want:
        return want
    room = want + bounds(deployment)[0] - sum(replicas(rs) for rs in all_sets)
    return current + max(0, min(room, want - current))


def _by_age(sets: list[Obj]) -> list[Obj]:
    return sorted(sets, key=lambda rs: (meta(rs).get("creationTimestamp") or "", meta(rs).get("name", "")))


def old_rs_sizes(deployment: Obj, new: Obj | None, old: list[Obj]) -> dict[str, int]:
    """Scale-downs of old ReplicaSets a rolling step allows: first their unavailable pods, then available ones,
    keeping at least ``replicas - maxUnavailable`` available across all sets."""
    all_sets = old + ([new] if new else [])
    if not any(replicas(rs) for rs in old):
        return {}
    min_available = deployment["spec"].get("replicas", 1) - bounds(deployment)[1]
    new_unavailable = replicas(new) - available(new) if new else 0
    budget = sum(replicas(rs) for rs in all_sets) - min_available - new_unavailable
    sizes: dict[str, int] = {}
    for rs in _by_age(old):  # unhealthy first: removing a pod that serves nothing costs no availability
        cut = min(max(budget, 0), replicas(rs) - available(rs))
        if cut > 0:
            sizes[meta(rs)["name"]], budget = replicas(rs) - cut, budget - cut
    spare = sum(available(rs) for rs in all_sets) - min_available
    for rs in _by_age(old):
        current = sizes.get(meta(rs)["name"], replicas(rs))
        cut = min(current, max(spare, 0))
        if cut > 0:
            sizes[meta(rs)["name"]], spare = current - cut, spare - cut
    return sizes


def revision(rs: Obj | None) -> int:
    value = (meta(rs).get("annotations") or {}).get(REVISION, "0") if rs else "0"
    return int(value) if value.isdigit() else 0


def copied_annotations(deployment: Obj) -> dict[str, str]:
    return {k: v for k, v in (meta(deployment).get("annotations") or {}).items() if k not in NOT_COPIED}


def new_rs_annotations(deployment: Obj, new: Obj, old: list[Obj]) -> dict[str, str]:
    """What the new ReplicaSet's annotations lack: the Deployment's own, and a revision above every old one (the
    revision it had before goes into ``revision-history``)."""
    notes = meta(new).get("annotations") or {}
    patch = {k: v for k, v in copied_annotations(deployment).items() if notes.get(k) != v}
    top, current = max((revision(rs) for rs in old), default=0), revision(new)
    if current <= top:
        history = ",".join(x for x in (notes.get(REVISION_HISTORY), str(current) if current else "") if x)
        patch[REVISION] = str(top + 1)
        if history:
            patch[REVISION_HISTORY] = history
    return patch


def history_to_delete(deployment: Obj, old: list[Obj]) -> list[Obj]:
    """Old, empty ReplicaSets beyond ``revisionHistoryLimit``, lowest revision first."""
    limit = deployment["spec"].get("revisionHistoryLimit")
    if limit is None:
        return []
    empty = [rs for rs in old if replicas(rs) == 0 and not (rs.get("status") or {}).get("replicas")
             and not is_terminating(rs)]
    empty.sort(key=revision)
    return empty[:max(0, len(empty) - limit)]


def old_pods_gone(old: list[Obj]) -> bool:
    """Recreate's gate: every old ReplicaSet asked for zero and has reported that none of its pods remain."""
    for rs in old:
        status = rs.get("status") or {}
        if replicas(rs) or status.get("replicas") or status.get("terminatingReplicas"):
            return False
        if (status.get("observedGeneration") or 0) < (meta(rs).get("generation") or 0):
            return False
    return True
