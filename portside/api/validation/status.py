"""Status writes (``/status``): counts are never negative and conditions use Kubernetes' status words.

Controllers and the node agent are the writers here, so these checks catch their bugs before they reach
``kubectl get``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .common import Errs, child, index
from .quota import validate_resourcequota_status

__all__ = ["validate_status"]

_CONDITION_STATUS = ["True", "False", "Unknown"]
_POD_PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown"]
_PHASES = {"PersistentVolume": ["Pending", "Available", "Bound", "Released", "Failed"],
           "PersistentVolumeClaim": ["Pending", "Bound", "Lost"]}
_COUNTS = {
    "Deployment": ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"),
    "ReplicaSet": ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"),
    "DaemonSet": ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
                  "updatedNumberScheduled", "numberAvailable", "numberUnavailable"),
    "StatefulSet": ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas",
                    "observedGeneration", "collisionCount"),
    "Job": ("active", "succeeded", "failed", "ready"),
    "PodDisruptionBudget": ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"),
    "HorizontalPodAutoscaler": ("currentReplicas", "desiredReplicas"),
}


def _conditions(status: dict[str, Any], errs: Errs) -> None:
    for i, condition in enumerate(status.get("conditions") or []):
        here = index("status.conditions", i)
        if not condition.get("type"):
            errs.required(child(here, "type"))
        errs.enum(child(here, "status"), condition.get("status"), _CONDITION_STATUS, required=True)


def _pod(status: dict[str, Any], errs: Errs) -> None:
    errs.enum("status.phase", status.get("phase"), _POD_PHASES)
    for key in ("containerStatuses", "initContainerStatuses"):
        for i, c in enumerate(status.get(key) or []):
            errs.nonnegative(child(index(child("status", key), i), "restartCount"), c.get("restartCount"))


def _phase(kind: str) -> Callable[[dict[str, Any], Errs], None]:
    def check(status: dict[str, Any], errs: Errs) -> None:
        errs.enum("status.phase", status.get("phase"), _PHASES[kind])

    return check


def _counts(kind: str) -> Callable[[dict[str, Any], Errs], None]:
    def check(status: dict[str, Any], errs: Errs) -> None:
        for key in _COUNTS[kind]:
            errs.nonnegative(child("status", key), status.get(key))

    return check


def _statefulset(status: dict[str, Any], errs: Errs) -> None:
    """Kubernetes' ``ValidateStatefulSetStatus``: no count above the pods there are, none available unready."""
    _counts("StatefulSet")(status, errs)
    replicas = status.get("replicas") or 0
    for key in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
        if (status.get(key) or 0) > replicas:
            errs.invalid(child("status", key), status[key], "cannot be greater than status.replicas")
    if (status.get("availableReplicas") or 0) > (status.get("readyReplicas") or 0):
        errs.invalid("status.availableReplicas", status["availableReplicas"],
                     "cannot be greater than status.readyReplicas")


_RULES: dict[str, Callable[[dict[str, Any], Errs], None]] = {
    "Pod": _pod, **{k: _counts(k) for k in _COUNTS}, **{k: _phase(k) for k in _PHASES},
    "StatefulSet": _statefulset,
    "ResourceQuota": lambda status, errs: validate_resourcequota_status({"status": status}, errs),
}


def validate_status(kind: str, obj: dict[str, Any]) -> Errs:
    """Problems in ``obj["status"]`` (empty when there is no status or nothing is wrong)."""
    errs = Errs()
    status = obj.get("status")
    if status:
        _conditions(status, errs)
        rule = _RULES.get(kind)
        if rule is not None:
            rule(status, errs)
    return errs
