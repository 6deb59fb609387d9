"""Pod priority from PriorityClasses, as Kubernetes' Priority admission plugin resolves it.

The API server calls :func:`resolve_priority` on pod create with the PriorityClasses it has; the scheduler then
reads ``spec.priority`` and ``spec.preemptionPolicy`` directly. The two system classes exist implicitly, as in
Kubernetes, so critical pods work on a fresh cluster.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SYSTEM_PRIORITY_CLASSES", "resolve_priority", "PriorityRefused"]

SYSTEM_PRIORITY_CLASSES: dict[str, int] = {"system-cluster-critical": 2_000_000_000,
                                           "system-node-critical": 2_000_001_000}


class PriorityRefused(Exception):
    """The pod names a missing class or contradicts its class; the server answers 403 Forbidden."""


def _find(name: str, classes: list[dict[str, Any]]) -> dict[str, Any] | None:
    for pc in classes:
        if (pc.get("metadata") or {}).get("name") == name:
            return pc
    if name in SYSTEM_PRIORITY_CLASSES:
        return {"metadata": {"name": name}, "value": SYSTEM_PRIORITY_CLASSES[name]}
    return None


def _chosen(spec: dict[str, Any], classes: list[dict[str, Any]]) -> dict[str, Any] | None:
    name = spec.get("priorityClassName")
    if name:
        found = _find(name, classes)
        if found is None:
            raise PriorityRefused(f"no PriorityClass with name {name} was found")
        return found
    return next((pc for pc in classes if pc.get("globalDefault")), None)


def resolve_priority(pod: dict[str, Any], classes: list[dict[str, Any]]) -> dict[str, Any]:
    """Fill ``spec.priority``/``preemptionPolicy`` (and the default class name) in place; returns ``pod``."""
    spec = pod.setdefault("spec", {})
    chosen = _chosen(spec, classes)
    value = chosen.get("value", 0) if chosen else 0
    policy = (chosen or {}).get("preemptionPolicy", "PreemptLowerPriority")
    if spec.get("priority") is not None and spec["priority"] != value:
        raise PriorityRefused(f"the integer value of priority ({spec['priority']}) must not be provided in pod spec; "
                              f"priority admission controller computed {value} from the given PriorityClass name")
    if spec.get("preemptionPolicy") is not None and spec["preemptionPolicy"] != policy:
        raise PriorityRefused(f"the string value of PreemptionPolicy ({spec['preemptionPolicy']}) must not be "
                              f"provided in pod spec; priority admission controller computed {policy} from the "
                              "given PriorityClass name")
    if chosen is not None:
        spec["priorityClassName"] = chosen["metadata"]["name"]
    spec["priority"], spec["preemptionPolicy"] = value, policy
    return pod
