"""The typed API models (``portside.api.models.Pod``/``Node``) to the scheduler's PodInfo/NodeInfo.

This is the one seam between the API's objects and the arrays: quantities are parsed here, once, with the
project's quantity parser, and selectors are compiled here, once, with the project's selector implementation
(``portside.api.selectors``, which decides nil versus empty per field); a bad value raises ``WireError`` naming
the field path. ``typed`` is the one place that turns what the client hands over into a typed model, so that
callers holding a wire dict (a manifest file, a watch event) and callers holding a model take the same path.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from portside.api.models import Affinity, Container, Node, Pod, PodSpec
from portside.api.models import PodAffinityTerm as ApiPodAffinityTerm
from portside.api.quantity import QuantityError, cpu_millis, to_bytes
from portside.api.selectors import (
    SelectorError,
    node_selector_from_object,
    node_term_from_object,
    selector_from_object,
    selector_from_set,
)
from portside.api.typed import Model
from portside.scheduler.model import (
    GANG_ANNOTATION,
    GANG_MIN_ANNOTATION,
    HostPort,
    NodeInfo,
    PodAffinityTerm,
    PodInfo,
    PreferredTerm,
    SpreadConstraint,
    Taint,
    Toleration,
    WeightedPodAffinityTerm,
)

M = TypeVar("M", bound=Model)


class WireError(ValueError):
    """An object the scheduler cannot read; the message starts with the field path."""


def typed(model: type[M], obj: dict[str, Any] | M, where: str = "object") -> M:
    """What the client gives (a wire dict today) as the typed model; a model passes through unchanged."""
    if isinstance(obj, model):
        return obj
    try:
        return model.from_dict(obj)
    except (AttributeError, TypeError, ValueError) as err:
        raise WireError(f"{where}: not a {model.__name__} object: {err}") from None


def pod_placement(obj: dict[str, Any] | Pod) -> tuple[str, str, str]:
    """(uid, spec.nodeName, status.phase) of a pod as the client hands it over, read without decoding the rest:
    under a backlog half the pod events are the scheduler's own bindings coming back, which need nothing more."""
    if isinstance(obj, Pod):
        meta, spec, status = obj.metadata, obj.spec, obj.status
        uid = (meta.uid or f"{meta.namespace}/{meta.name}") if meta is not None else ""
        return uid, (spec.node_name or "") if spec is not None else "", (status.phase or "") if status else ""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    return (meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}", spec.get("nodeName") or "",
            status.get("phase") or "")


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
    """Quantities by resource name; ``where`` is the path of ``raw``, joined with the name only for an error."""
    out = {}
    for name, value in (raw or {}).items():
        try:
            out[name] = _amount(name == "cpu", value) if isinstance(value, (str, int)) else _convert(name == "cpu", value)
        except QuantityError as err:
            raise WireError(f"{where}.{name}: invalid quantity {value!r}: {err}") from None
    return out


def _requests(containers: list[Container] | None, where: str) -> list[dict[str, int]]:
    """Per container, requests with a limit standing in for a missing request (as the API defaults it). The
    field path is built only for an error: every pod event passes here."""
    out = []
    for i, c in enumerate(containers or ()):
        res = c.resources
        merged = {**(res.limits or {}), **(res.requests or {})} if res is not None else {}
        try:
            out.append(resources(merged, ""))
        except WireError as err:
            raise WireError(f"{where}[{i}].resources.requests{err}") from None
    return out


def pod_requests(spec: PodSpec, where: str) -> dict[str, int]:
    """Effective requests: the sum over containers, or the largest init container if that is larger, plus pod
    overhead."""
    total: dict[str, int] = {}
    for requests in _requests(spec.containers, where + ".containers"):
        for name, value in requests.items():
            total[name] = total.get(name, 0) + value
    for requests in _requests(spec.init_containers, where + ".initContainers"):
        for name, value in requests.items():
            total[name] = max(total.get(name, 0), value)
    for name, value in resources(spec.overhead, f"{where}.overhead").items():
        total[name] = total.get(name, 0) + value
    return total


def _host_ports(spec: PodSpec) -> tuple[HostPort, ...]:
    return tuple(HostPort(int(p.host_port), p.protocol or "TCP", p.host_ip or "0.0.0.0")
                 for c in spec.containers or () for p in c.ports or () if p.host_port)


def pod_term(term: ApiPodAffinityTerm, where: str) -> PodAffinityTerm:
    """A nil labelSelector selects no pod; an empty namespaceSelector ({}) means every namespace. A non-empty
    namespaceSelector would need the namespaces' labels, which the scheduler does not follow: such a term looks
    in its listed namespaces (or the pod's own) only."""
    return PodAffinityTerm(selector_from_object(term.label_selector, f"{where}.labelSelector"),
                           term.topology_key or "", tuple(term.namespaces or ()),
                           all_namespaces=term.namespace_selector is not None and not (
                               term.namespace_selector.match_labels or term.namespace_selector.match_expressions))


def _pod_terms(group: Any, where: str) -> tuple[tuple, tuple]:
    if group is None:
        return (), ()
    hard = "requiredDuringSchedulingIgnoredDuringExecution"
    soft = "preferredDuringSchedulingIgnoredDuringExecution"
    required = tuple(pod_term(t, f"{where}.{hard}[{i}]")
                     for i, t in enumerate(group.required_during_scheduling_ignored_during_execution or ()))
    preferred = tuple(WeightedPodAffinityTerm(int(w.weight or 1), pod_term(w.pod_affinity_term, f"{where}.{soft}[{i}]"))
                      for i, w in enumerate(group.preferred_during_scheduling_ignored_during_execution or ())
                      if w.pod_affinity_term is not None)
    return required, preferred


def _affinity_fields(affinity: Affinity | None, where: str) -> dict[str, Any]:
    if affinity is None:
        return {}  # most pods: PodInfo's defaults are no constraints
    node = affinity.node_affinity
    fields: dict[str, Any] = {}
    if node is not None:
        fields["node_affinity"] = node_selector_from_object(
            node.required_during_scheduling_ignored_during_execution,
            f"{where}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution")
        fields["preferred_terms"] = tuple(
            PreferredTerm(int(p.weight or 1), node_term_from_object(
                p.preference, f"{where}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}].preference"))
            for i, p in enumerate(node.preferred_during_scheduling_ignored_during_execution or ()))
    fields["affinity"], fields["preferred_affinity"] = _pod_terms(affinity.pod_affinity, f"{where}.podAffinity")
    fields["anti_affinity"], fields["preferred_anti_affinity"] = _pod_terms(affinity.pod_anti_affinity,
                                                                            f"{where}.podAntiAffinity")
    return fields


def _spread(spec: PodSpec, where: str) -> tuple[SpreadConstraint, ...]:
    return tuple(SpreadConstraint(int(c.max_skew or 1), c.topology_key or "", c.when_unsatisfiable or "DoNotSchedule",
                                  selector_from_object(c.label_selector,
                                                       f"{where}.topologySpreadConstraints[{i}].labelSelector"))
                 for i, c in enumerate(spec.topology_spread_constraints or ()))


def _gang_min(annotations: dict, where: str) -> int:
    raw = annotations.get(GANG_MIN_ANNOTATION, "0")
    try:
        return int(raw)
    except ValueError:
        raise WireError(f"{where}.metadata.annotations[{GANG_MIN_ANNOTATION}]: expected an integer, "
                        f"got {raw!r}") from None


@functools.lru_cache(maxsize=1024)
def _toleration(key: str, operator: str, value: str, effect: str) -> Toleration:
    """Pods carry the same few tolerations (the defaults admission adds): one frozen value each."""
    return Toleration(key, operator, value, effect)


def pod_info(pod: Pod, where: str = "pod", created: float = 0.0) -> PodInfo:
    """The scheduler's view of a typed Pod."""
    meta, spec = pod.metadata, pod.spec or PodSpec()
    if meta is None or not meta.name:
        raise WireError(f"{where}.metadata.name: required")
    annotations = meta.annotations or {}
    path = where + ".spec"
    try:
        placement = _affinity_fields(spec.affinity, path + ".affinity") if spec.affinity is not None else {}
        node_selector = selector_from_set(spec.node_selector, path + ".nodeSelector")
        spread = _spread(spec, path) if spec.topology_spread_constraints else ()
    except SelectorError as err:
        raise WireError(str(err)) from None
    return PodInfo(
        name=meta.name, namespace=meta.namespace or "default", uid=meta.uid or "",
        labels=dict(meta.labels or {}), requests=pod_requests(spec, path),
        priority=int(spec.priority or 0),
        preemption_policy=spec.preemption_policy or "PreemptLowerPriority",
        scheduler_name=spec.scheduler_name or "default-scheduler", node_name=spec.node_name or "",
        node_selector=node_selector,
        tolerations=tuple(_toleration(t.key or "", t.operator or "Equal", t.value or "", t.effect or "")
                          for t in spec.tolerations or ()),
        host_ports=_host_ports(spec), spread=spread,
        images=tuple(c.image for c in spec.containers or () if c.image),
        claims=tuple(v.persistent_volume_claim.claim_name for v in spec.volumes or ()
                     if v.persistent_volume_claim is not None),
        gang=annotations.get(GANG_ANNOTATION, ""), gang_min=_gang_min(annotations, where),
        created=created, resource_version=meta.resource_version or "",
        termination_grace_s=float(30 if spec.termination_grace_period_seconds is None
                                  else spec.termination_grace_period_seconds),
        **placement,
    )


def node_info(node: Node, where: str = "node") -> NodeInfo:
    """The scheduler's view of a typed Node."""
    meta, spec, status = node.metadata, node.spec, node.status
    if meta is None or not meta.name:
        raise WireError(f"{where}.metadata.name: required")
    alloc = (status.allocatable or status.capacity or {}) if status is not None else {}
    images = {name: int(img.size_bytes or 0) for img in (status.images if status is not None else None) or ()
              for name in img.names or ()}
    taints = spec.taints if spec is not None else None
    return NodeInfo(
        name=meta.name, allocatable=resources(alloc, f"{where}.status.allocatable"),
        labels=dict(meta.labels or {}),
        taints=tuple(Taint(t.key or "", t.value or "", t.effect or "NoSchedule") for t in taints or ()),
        unschedulable=bool(spec is not None and spec.unschedulable), images=images,
    )


def pod_from_wire(obj: dict | Pod, where: str = "pod", created: float = 0.0) -> PodInfo:
    """A Pod as a wire dict (a manifest, a watch event) or a typed model."""
    return pod_info(typed(Pod, obj, where), where, created)


def node_from_wire(obj: dict | Node, where: str = "node") -> NodeInfo:
    return node_info(typed(Node, obj, where), where)
