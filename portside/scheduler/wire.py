"""Kubernetes JSON (as the API serves it, or as a manifest file holds it) to the scheduler's PodInfo/NodeInfo.

This is the one seam between the API's objects and the arrays: quantities are parsed here, once, with the
project's quantity parser; a bad value raises ``WireError`` naming the field path.
"""

from __future__ import annotations

import functools
from typing import Any

from portside.api.quantity import QuantityError, cpu_millis, to_bytes
from portside.scheduler.model import (
    GANG_ANNOTATION,
    GANG_MIN_ANNOTATION,
    HostPort,
    LabelSelector,
    NodeInfo,
    NodeSelectorTerm,
    PodAffinityTerm,
    PodInfo,
    PreferredTerm,
    Requirement,
    SpreadConstraint,
    Taint,
    Toleration,
    WeightedPodAffinityTerm,
)


class WireError(ValueError):
    """An object the scheduler cannot read; the message starts with the field path."""


def amount(name: str, value: Any, where: str) -> int:
    """A resource quantity in the scheduler's integer unit: millicores for cpu, plain units for the rest."""
    try:
        return _amount(name == "cpu", value) if isinstance(value, (str, int)) else _convert(name == "cpu", value)
    except QuantityError as err:
        raise WireError(f"{where}: invalid quantity {value!r}: {err}") from None


def _convert(cpu: bool, value: Any) -> int:
    return cpu_millis(value) if cpu else to_bytes(value)


@functools.lru_cache(maxsize=4096)
def _amount(cpu: bool, value: str | int) -> int:
    """Exact parsing works on Fractions and is slow; a cluster repeats the same few quantity strings endlessly."""
    return _convert(cpu, value)


def resources(raw: dict | None, where: str) -> dict[str, int]:
    return {name: amount(name, value, f"{where}.{name}") for name, value in (raw or {}).items()}


def requirement(raw: dict) -> Requirement:
    return Requirement(raw["key"], raw.get("operator", "In"), tuple(raw.get("values") or ()))


def label_selector(raw: dict | None) -> LabelSelector:
    raw = raw or {}
    return LabelSelector(tuple(sorted((raw.get("matchLabels") or {}).items())),
                         tuple(requirement(r) for r in raw.get("matchExpressions") or ()))


def node_term(raw: dict) -> NodeSelectorTerm:
    reqs = [requirement(r) for r in raw.get("matchExpressions") or ()]
    # matchFields supports metadata.name only; every node carries its name as the hostname label.
    reqs += [Requirement("kubernetes.io/hostname", r.get("operator", "In"), tuple(r.get("values") or ()))
             for r in raw.get("matchFields") or ()]
    return NodeSelectorTerm(tuple(reqs))


def pod_term(raw: dict) -> PodAffinityTerm:
    return PodAffinityTerm(label_selector(raw.get("labelSelector")), raw.get("topologyKey", ""),
                           tuple(raw.get("namespaces") or ()))


def _weighted(raw: list | None) -> tuple[WeightedPodAffinityTerm, ...]:
    return tuple(WeightedPodAffinityTerm(int(w.get("weight", 1)), pod_term(w["podAffinityTerm"])) for w in raw or ())


def pod_requests(spec: dict, where: str) -> dict[str, int]:
    """Effective requests: the sum over containers (a limit stands in for a missing request, as the API
    defaults it), or the largest init container if that is larger, plus pod overhead."""
    total: dict[str, int] = {}
    for i, c in enumerate(spec.get("containers") or ()):
        res = c.get("resources") or {}
        merged = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        for name, value in resources(merged, f"{where}.containers[{i}].resources.requests").items():
            total[name] = total.get(name, 0) + value
    for i, c in enumerate(spec.get("initContainers") or ()):
        res = c.get("resources") or {}
        merged = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        for name, value in resources(merged, f"{where}.initContainers[{i}].resources.requests").items():
            total[name] = max(total.get(name, 0), value)
    for name, value in resources(spec.get("overhead"), f"{where}.overhead").items():
        total[name] = total.get(name, 0) + value
    return total


def _host_ports(spec: dict) -> tuple[HostPort, ...]:
    return tuple(HostPort(int(p["hostPort"]), p.get("protocol", "TCP"), p.get("hostIP") or "0.0.0.0")
                 for c in spec.get("containers") or () for p in c.get("ports") or () if p.get("hostPort"))


def _affinity_fields(affinity: dict) -> dict[str, Any]:
    if not affinity:
        return {}  # most pods: PodInfo's defaults are the empty terms
    node = affinity.get("nodeAffinity") or {}
    required = (node.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or ()
    pa, anti = affinity.get("podAffinity") or {}, affinity.get("podAntiAffinity") or {}
    hard = "requiredDuringSchedulingIgnoredDuringExecution"
    soft = "preferredDuringSchedulingIgnoredDuringExecution"
    return {
        "required_terms": tuple(node_term(t) for t in required),
        "preferred_terms": tuple(PreferredTerm(int(p.get("weight", 1)), node_term(p.get("preference") or {}))
                                 for p in node.get(soft) or ()),
        "affinity": tuple(pod_term(t) for t in pa.get(hard) or ()),
        "anti_affinity": tuple(pod_term(t) for t in anti.get(hard) or ()),
        "preferred_affinity": _weighted(pa.get(soft)),
        "preferred_anti_affinity": _weighted(anti.get(soft)),
    }


def _gang_min(annotations: dict, where: str) -> int:
    raw = annotations.get(GANG_MIN_ANNOTATION, "0")
    try:
        return int(raw)
    except ValueError:
        raise WireError(f"{where}.metadata.annotations[{GANG_MIN_ANNOTATION}]: expected an integer, "
                        f"got {raw!r}") from None


def pod_from_wire(obj: dict, where: str = "pod", created: float = 0.0) -> PodInfo:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    annotations = meta.get("annotations") or {}
    if not meta.get("name"):
        raise WireError(f"{where}.metadata.name: required")
    return PodInfo(
        name=meta["name"], namespace=meta.get("namespace") or "default", uid=meta.get("uid") or "",
        labels=dict(meta.get("labels") or {}), requests=pod_requests(spec, f"{where}.spec"),
        priority=int(spec.get("priority") or 0),
        preemption_policy=spec.get("preemptionPolicy") or "PreemptLowerPriority",
        scheduler_name=spec.get("schedulerName") or "default-scheduler", node_name=spec.get("nodeName") or "",
        node_selector=tuple(sorted((spec.get("nodeSelector") or {}).items())),
        tolerations=tuple(Toleration(t.get("key", ""), t.get("operator", "Equal"), t.get("value", ""),
                                     t.get("effect", "")) for t in spec.get("tolerations") or ()),
        host_ports=_host_ports(spec),
        spread=tuple(SpreadConstraint(int(c.get("maxSkew", 1)), c.get("topologyKey", ""),
                                      c.get("whenUnsatisfiable", "DoNotSchedule"), label_selector(c.get("labelSelector")))
                     for c in spec.get("topologySpreadConstraints") or ()),
        images=tuple(c["image"] for c in spec.get("containers") or () if c.get("image")),
        gang=annotations.get(GANG_ANNOTATION, ""), gang_min=_gang_min(annotations, where),
        created=created, resource_version=meta.get("resourceVersion") or "",
        termination_grace_s=float(spec.get("terminationGracePeriodSeconds", 30)),
        **_affinity_fields(spec.get("affinity") or {}),
    )


def node_from_wire(obj: dict, where: str = "node") -> NodeInfo:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    if not meta.get("name"):
        raise WireError(f"{where}.metadata.name: required")
    alloc = status.get("allocatable") or status.get("capacity") or {}
    images = {name: int(img.get("sizeBytes") or 0) for img in status.get("images") or () for name in img.get("names") or ()}
    return NodeInfo(
        name=meta["name"], allocatable=resources(alloc, f"{where}.status.allocatable"),
        labels=dict(meta.get("labels") or {}),
        taints=tuple(Taint(t["key"], t.get("value", ""), t.get("effect", "NoSchedule")) for t in spec.get("taints") or ()),
        unschedulable=bool(spec.get("unschedulable")), images=images,
    )
