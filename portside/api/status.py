"""Status the API server computes itself: reset on create, Pod QoS class, and the Scale subresource view."""

from __future__ import annotations

from typing import Any

from .quantity import parse_quantity
from .selectors import format_label_selector

__all__ = ["reset_status_on_create", "qos_class", "scale_of", "apply_scale"]

_RESET_ON_CREATE = frozenset({"Deployment", "ReplicaSet", "Job", "CronJob", "ResourceQuota"})


def _requests_and_limits(pod: dict[str, Any]) -> list[tuple[dict[str, str], dict[str, str]]]:
    spec = pod.get("spec") or {}
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    out = []
    for c in containers:
        resources = c.get("resources") or {}
        out.append((resources.get("requests") or {}, resources.get("limits") or {}))
    return out


def qos_class(pod: dict[str, Any]) -> str:
    """Guaranteed when every container's cpu and memory limits equal its requests; BestEffort with none at all."""
    pairs = _requests_and_limits(pod)
    relevant = [(r, lim) for r, lim in pairs if any(k in ("cpu", "memory") for k in {**r, **lim})]
    if not relevant:
        return "BestEffort"
    for requests, limits in pairs:
        for name in ("cpu", "memory"):
            if name not in limits:
                return "Burstable"
            if parse_quantity(requests.get(name, limits[name])) != parse_quantity(limits[name]):
                return "Burstable"
    return "Guaranteed"


def reset_status_on_create(kind: str, obj: dict[str, Any]) -> None:
    """Clients do not set status on create; the server writes the initial one, as Kubernetes' strategies do."""
    if kind in _RESET_ON_CREATE:
        obj.pop("status", None)
    elif kind == "Pod":
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj)}
    elif kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    elif kind == "DaemonSet":  # these four counts are not omitempty in Kubernetes: clients require them
        obj["status"] = {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                         "numberReady": 0}
    elif kind == "StatefulSet":  # replicas is not omitempty in Kubernetes: clients require it
        obj["status"] = {"replicas": 0, "availableReplicas": 0}
    elif kind == "PodDisruptionBudget":  # its counts are not omitempty: a new budget allows no disruption
        obj["status"] = {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
    elif kind == "HorizontalPodAutoscaler":  # desiredReplicas is not omitempty: a new autoscaler shows 0
        obj["status"] = {"desiredReplicas": 0}
    elif kind in ("PersistentVolume", "PersistentVolumeClaim"):  # the PV controller moves them on from here
        obj["status"] = {"phase": "Pending"}
    elif kind == "Service":
        # Kubernetes answers every new Service with an empty load balancer status, and clients assert on it.
        obj["status"] = {"loadBalancer": {}}


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The ``autoscaling/v1`` Scale view of a Deployment, ReplicaSet or StatefulSet (``GET .../scale``)."""
    meta = obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0), "selector": format_label_selector(spec.get("selector"))},
    }


def apply_scale(obj: dict[str, Any], scale: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with ``spec.replicas`` from a Scale body (``PUT``/``PATCH .../scale``); other fields untouched."""
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        from .errors import Invalid, invalid

        raise Invalid("Scale", (scale.get("metadata") or {}).get("name", ""),
                      [invalid("spec.replicas", replicas, "must be greater than or equal to 0")], group="autoscaling")
    out = dict(obj)
    out["spec"] = {**(obj.get("spec") or {}), "replicas": replicas}
    return out
