"""A Deployment's status, pure: counts summed from its ReplicaSets, and the Available and Progressing conditions
that ``kubectl rollout status`` reads (reason ProgressDeadlineExceeded ends it with an error).

Progressing moves to True whenever a step makes progress (a counter grows or old pods shrink); it becomes False
with ProgressDeadlineExceeded when no progress was made for ``progressDeadlineSeconds``; NewReplicaSetAvailable
marks a finished rollout and is then left alone until the template changes.
"""

from __future__ import annotations

import dataclasses

from portside.api.models import Deployment, DeploymentStatus, ReplicaSet, WorkloadCondition
from portside.controllers.pods import condition, desired, seconds, timestamp
from portside.controllers.rollout import bounds, status_of

NEW_RS_AVAILABLE, UPDATED, CREATED = "NewReplicaSetAvailable", "ReplicaSetUpdated", "NewReplicaSetCreated"
TIMED_OUT, PAUSED, RESUMED = "ProgressDeadlineExceeded", "DeploymentPaused", "DeploymentResumed"


def counts(deployment: Deployment, new: ReplicaSet | None, all_sets: list[ReplicaSet]) -> DeploymentStatus:
    available = sum(status_of(rs).available_replicas or 0 for rs in all_sets)
    return DeploymentStatus(
        observed_generation=deployment.metadata.generation or 0,
        replicas=sum(status_of(rs).replicas or 0 for rs in all_sets),
        updated_replicas=(status_of(new).replicas or 0) if new else 0,
        ready_replicas=sum(status_of(rs).ready_replicas or 0 for rs in all_sets),
        available_replicas=available,
        unavailable_replicas=max(0, desired(deployment) - available))


def make_condition(kind: str, status: str, reason: str, message: str,
                   previous: WorkloadCondition | None) -> WorkloadCondition:
    """A condition; lastTransitionTime only moves when the status does, as Kubernetes keeps it."""
    stamp = timestamp()
    changed = previous is None or previous.status != status
    return WorkloadCondition(type=kind, status=status, last_update_time=stamp, reason=reason, message=message,
                             last_transition_time=stamp if changed else previous.last_transition_time or stamp)


def is_complete(deployment: Deployment, status: DeploymentStatus) -> bool:
    want = desired(deployment)
    return (status.updated_replicas == want and status.replicas == want and status.available_replicas == want
            and status.observed_generation >= (deployment.metadata.generation or 0))


def _progressed(old: DeploymentStatus, new: DeploymentStatus) -> bool:
    old_pods = (old.replicas or 0) - (old.updated_replicas or 0)
    new_pods = new.replicas - new.updated_replicas
    return (new.updated_replicas > (old.updated_replicas or 0) or new_pods < old_pods
            or new.ready_replicas > (old.ready_replicas or 0)
            or new.available_replicas > (old.available_replicas or 0))


def timed_out(deployment: Deployment, progressing: WorkloadCondition | None, now: float) -> bool:
    deadline = deployment.spec.progress_deadline_seconds
    if deadline is None or progressing is None:
        return False
    if progressing.reason == TIMED_OUT:
        return True
    since = seconds(progressing.last_update_time) or now
    return since + deadline < now


def progressing(deployment: Deployment, new: ReplicaSet | None, status: DeploymentStatus,
                now: float) -> WorkloadCondition | None:
    """The Progressing condition to write, or None to leave the current one."""
    current = condition(deployment, "Progressing")
    reason = current.reason if current else None
    name = new.metadata.name if new else ""
    if deployment.spec.paused:
        return None if reason == PAUSED else \
            make_condition("Progressing", "Unknown", PAUSED, "Deployment is paused", current)
    if reason == PAUSED:
        return make_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed", current)
    if reason == NEW_RS_AVAILABLE and status.replicas == status.updated_replicas:
        return None
    if is_complete(deployment, status):
        return make_condition("Progressing", "True", NEW_RS_AVAILABLE, f'ReplicaSet "{name}" has successfully '
                              f'progressed.', current)
    if current is None or _progressed(deployment.status or DeploymentStatus(), status):
        return make_condition("Progressing", "True", UPDATED, f'ReplicaSet "{name}" is progressing.', current)
    if timed_out(deployment, current, now) and reason != TIMED_OUT:
        return make_condition("Progressing", "False", TIMED_OUT, f'ReplicaSet "{name}" has timed out progressing.',
                              current)
    return None


def available_condition(deployment: Deployment, status: DeploymentStatus) -> WorkloadCondition:
    current = condition(deployment, "Available")
    floor = desired(deployment) - bounds(deployment)[1]
    if status.available_replicas >= floor:
        cond = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    else:
        cond = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    if current and (current.status, current.reason) == cond[:2]:
        return current
    return make_condition("Available", *cond, current)


def status(deployment: Deployment, new: ReplicaSet | None, all_sets: list[ReplicaSet], now: float,
           created: ReplicaSet | None = None) -> DeploymentStatus:
    """The full status to write; ``created`` names a ReplicaSet this sync created (reason NewReplicaSetCreated)."""
    out = counts(deployment, new, all_sets)
    current = condition(deployment, "Progressing")
    prog = (make_condition("Progressing", "True", CREATED, f'Created new replica set "{created.metadata.name}"',
                           current) if created else progressing(deployment, new, out, now)) or current
    collisions = deployment.status.collision_count if deployment.status else None
    return dataclasses.replace(out, conditions=[available_condition(deployment, out)] + ([prog] if prog else []),
                               collision_count=collisions or None)
