"""A Deployment's status, pure: counts summed from its ReplicaSets, and the Available and Progressing conditions
that ``kubectl rollout status`` reads (reason ProgressDeadlineExceeded ends it with an error).

Progressing moves to True whenever a step makes progress (a counter grows or old pods shrink); it becomes False
with ProgressDeadlineExceeded when no progress was made for ``progressDeadlineSeconds``; NewReplicaSetAvailable
marks a finished rollout and is then left alone until the template changes.
"""

from __future__ import annotations

from portside.controllers.pods import Obj, condition, meta, seconds, timestamp
from portside.controllers.rollout import bounds

NEW_RS_AVAILABLE, UPDATED, CREATED = "NewReplicaSetAvailable", "ReplicaSetUpdated", "NewReplicaSetCreated"
TIMED_OUT, PAUSED, RESUMED = "ProgressDeadlineExceeded", "DeploymentPaused", "DeploymentResumed"


def _sum(sets: list[Obj], field: str) -> int:
    return sum((rs.get("status") or {}).get(field) or 0 for rs in sets)


def counts(deployment: Obj, new: Obj | None, all_sets: list[Obj]) -> Obj:
    want, available = deployment["spec"].get("replicas", 1), _sum(all_sets, "availableReplicas")
    return {
        "observedGeneration": meta(deployment).get("generation", 0),
        "replicas": _sum(all_sets, "replicas"),
        "updatedReplicas": ((new or {}).get("status") or {}).get("replicas") or 0,
        "readyReplicas": _sum(all_sets, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, want - available),
    }


def make_condition(kind: str, status: str, reason: str, message: str, previous: Obj | None) -> Obj:
    """A condition; lastTransitionTime only moves when the status does, as Kubernetes keeps it."""
    stamp = timestamp()
    changed = previous is None or previous.get("status") != status
    return {"type": kind, "status": status, "lastUpdateTime": stamp, "reason": reason, "message": message,
            "lastTransitionTime": stamp if changed else previous.get("lastTransitionTime", stamp)}


def is_complete(deployment: Obj, status: Obj) -> bool:
    want = deployment["spec"].get("replicas", 1)
    return (status["updatedReplicas"] == want and status["replicas"] == want
            and status["availableReplicas"] == want and status["observedGeneration"] >= meta(deployment)
            .get("generation", 0))


def _progressed(old: Obj, new: Obj) -> bool:
    old_pods = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_pods = new["replicas"] - new["updatedReplicas"]
    return (new["updatedReplicas"] > old.get("updatedReplicas", 0) or new_pods < old_pods
            or new["readyReplicas"] > old.get("readyReplicas", 0)
            or new["availableReplicas"] > old.get("availableReplicas", 0))


def timed_out(deployment: Obj, progressing: Obj | None, now: float) -> bool:
    deadline = deployment["spec"].get("progressDeadlineSeconds")
    if deadline is None or progressing is None:
        return False
    if progressing.get("reason") == TIMED_OUT:
        return True
    since = seconds(progressing.get("lastUpdateTime")) or now
    return since + deadline < now


def progressing(deployment: Obj, new: Obj | None, status: Obj, now: float) -> Obj | None:
    """The Progressing condition to write, or None to leave the current one."""
    old_status = deployment.get("status") or {}
    current = condition(deployment, "Progressing")
    name = meta(new).get("name", "") if new else ""
    if deployment["spec"].get("paused"):
        return None if current and current.get("reason") == PAUSED else \
            make_condition("Progressing", "Unknown", PAUSED, "Deployment is paused", current)
    if current and current.get("reason") == PAUSED:
        return make_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed", current)
    if current and current.get("reason") == NEW_RS_AVAILABLE and status["replicas"] == status["updatedReplicas"]:
        return None
    if is_complete(deployment, status):
        return make_condition("Progressing", "True", NEW_RS_AVAILABLE, f'ReplicaSet "{name}" has successfully '
                              f'progressed.', current)
    if current is None or _progressed(old_status, status):
        return make_condition("Progressing", "True", UPDATED, f'ReplicaSet "{name}" is progressing.', current)
    if timed_out(deployment, current, now) and current.get("reason") != TIMED_OUT:
        return make_condition("Progressing", "False", TIMED_OUT, f'ReplicaSet "{name}" has timed out progressing.',
                              current)
    return None


def available_condition(deployment: Obj, status: Obj) -> Obj:
    current = condition(deployment, "Available")
    floor = deployment["spec"].get("replicas", 1) - bounds(deployment)[1]
    if status["availableReplicas"] >= floor:
        cond = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    else:
        cond = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    if current and (current.get("status"), current.get("reason")) == cond[:2]:
        return current
    return make_condition("Available", *cond, current)


def status(deployment: Obj, new: Obj | None, all_sets: list[Obj], now: float, created: Obj | None = None) -> Obj:
    """The full status to write; ``created`` names a ReplicaSet this sync created (reason NewReplicaSetCreated)."""
    out = counts(deployment, new, all_sets)
    current = condition(deployment, "Progressing")
    prog = (make_condition("Progressing", "True", CREATED, f'Created new replica set "{meta(created)["name"]}"',
                           current) if created else progressing(deployment, new, out, now)) or current
    conditions = [available_condition(deployment, out)] + ([prog] if prog else [])
    collisions = (deployment.get("status") or {}).get("collisionCount")
    out["conditions"] = conditions
    if collisions:
        out["collisionCount"] = collisions
    return out
