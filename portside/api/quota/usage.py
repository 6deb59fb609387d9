"""What one object takes from a quota, per kind, and whether a quota's scopes select it.

Pods are measured as Kubernetes' pod evaluator measures them: ``count/pods`` for every pod in storage; ``pods``
and compute (``cpu`` = ``requests.cpu``, ``limits.cpu``, memory and ephemeral-storage alike, hugepages, extended
resources as ``requests.<name>``) only while the pod is not finished (Succeeded, Failed) nor stuck past twice
its grace period in deletion. A pod's request is the sum over its containers plus its sidecars (restartable
init containers), raised to what any init container needs while it runs, plus the pod overhead.

Services count ``services``, ``services.loadbalancers`` and their ``services.nodeports`` (every port of a
NodePort or LoadBalancer Service, only the explicit ones when a LoadBalancer allocates none); claims count
``persistentvolumeclaims`` and ``requests.storage`` (also per storage class); every other kind its
``count/<resource>.<group>``, ConfigMaps, Secrets, ReplicationControllers and ResourceQuotas also by their
legacy names. Scopes select pods only: a quota with scopes matches no other kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from ..quantity import Format, Quantity
from ..selectors import SelectorError, selector_from_object
from ..status import qos_class
from ..timefmt import parse_time
from .lists import ResourceList, add, parse_list
from .names import STORAGE_CLASS_SUFFIX, is_extended_resource, object_count_name, parse_count_name

__all__ = [
    "Kind", "PODS", "SERVICES", "CLAIMS", "container_totals", "pod_requests", "pod_limits", "usage",
    "matching_resources", "matches_scopes", "scope_selectors", "pod_constraints", "kinds_for",
]

Obj = dict[str, Any]
Kind = tuple[str, str]  # (API group, plural)
PODS: Kind = ("", "pods")
SERVICES: Kind = ("", "services")
CLAIMS: Kind = ("", "persistentvolumeclaims")
LEGACY_COUNTS = {("", "configmaps"): "configmaps", ("", "secrets"): "secrets",
                 ("", "replicationcontrollers"): "replicationcontrollers", ("", "resourcequotas"): "resourcequotas"}
POD_RESOURCES = frozenset({
    "count/pods", "pods", "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
})
SERVICE_RESOURCES = frozenset({"count/services", "services", "services.nodeports", "services.loadbalancers"})
CLAIM_RESOURCES = frozenset({"count/persistentvolumeclaims", "persistentvolumeclaims", "requests.storage"})
COMPUTE = ("cpu", "memory", "ephemeral-storage")
ONE = Quantity(Fraction(1), Format.DECIMAL_SI)
# pods ask for compute that a quota bounding it must see requested explicitly by every container
CONSTRAINED = frozenset({"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"})


def _quantity(n: int) -> Quantity:
    return Quantity(Fraction(n), Format.DECIMAL_SI)


# -- pods ------------------------------------------------------------------------------------------------------

def _largest(into: ResourceList, other: ResourceList) -> None:
    for name, q in other.items():
        if name not in into or q.value > into[name].value:
            into[name] = q


def container_totals(spec: Obj, part: str) -> ResourceList:
    """Containers plus sidecars, raised to each init container's need while it runs (with the sidecars before
    it), as Kubernetes' resource helper sums a pod."""
    total: ResourceList = {}
    for c in spec.get("containers") or []:
        total = add(total, parse_list((c.get("resources") or {}).get(part)))
    sidecars: ResourceList = {}
    peak: ResourceList = {}
    for c in spec.get("initContainers") or []:
        own = parse_list((c.get("resources") or {}).get(part))
        if c.get("restartPolicy") == "Always":
            total, sidecars = add(total, own), add(sidecars, own)
            _largest(peak, sidecars)
        else:
            _largest(peak, add(own, sidecars))
    _largest(total, peak)
    return total


def pod_requests(pod: Obj) -> ResourceList:
    spec = pod.get("spec") or {}
    return add(container_totals(spec, "requests"), parse_list(spec.get("overhead")))


def pod_limits(pod: Obj) -> ResourceList:
    """Overhead is added only to resources some container limits (an unlimited resource stays unlimited)."""
    spec = pod.get("spec") or {}
    limits = container_totals(spec, "limits")
    overhead = parse_list(spec.get("overhead"))
    return add(limits, {name: q for name, q in overhead.items() if name in limits})


def _compute_usage(requests: ResourceList, limits: ResourceList) -> ResourceList:
    out: ResourceList = {"pods": ONE}
    for name in COMPUTE:
        if name in requests:
            out[name] = out[f"requests.{name}"] = requests[name]
        if name in limits:
            out[f"limits.{name}"] = limits[name]
    for name, q in requests.items():
        if name.startswith("hugepages-"):
            out[name] = out[f"requests.{name}"] = q
        elif is_extended_resource(name):
            out[f"requests.{name}"] = q
    return out


def _counts_toward_quota(pod: Obj, now: float) -> bool:
    """Finished pods and pods stuck in deletion past twice their grace period take no compute (or ``pods``)."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    meta = pod.get("metadata") or {}
    deleted, grace = parse_time(meta.get("deletionTimestamp")), meta.get("deletionGracePeriodSeconds")
    return deleted is None or grace is None or now <= deleted.timestamp() + grace


def _pod_usage(pod: Obj, now: float) -> ResourceList:
    out: ResourceList = {"count/pods": ONE}
    if _counts_toward_quota(pod, now):
        out = add(out, _compute_usage(pod_requests(pod), pod_limits(pod)))
    return out


def pod_constraints(required: Iterable[str], pod: Obj) -> str:
    """Kubernetes' rule from before QoS existed: a quota on cpu or memory needs every container to state it.
    Empty when the pod complies, else ``must specify limits.cpu for: a,b; ...``."""
    wanted = set(required) & CONSTRAINED
    missing: dict[str, set[str]] = {}
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        res = c.get("resources") or {}
        has = set(_compute_usage(parse_list(res.get("requests")), parse_list(res.get("limits"))))
        for name in wanted - has:
            missing.setdefault(name, set()).add(c.get("name", ""))
    if not missing:
        return ""
    return "must specify " + "; ".join(f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing))


# -- services and claims ---------------------------------------------------------------------------------------

def _service_usage(svc: Obj) -> ResourceList:
    spec = svc.get("spec") or {}
    ports = spec.get("ports") or []
    kind = spec.get("type", "ClusterIP")
    node_ports, balancers = 0, 0
    if kind == "NodePort":
        node_ports = len(ports)
    elif kind == "LoadBalancer":
        balancers = 1
        explicit = spec.get("allocateLoadBalancerNodePorts") is False
        node_ports = sum(1 for p in ports if p.get("nodePort")) if explicit else len(ports)
    return {"count/services": ONE, "services": ONE, "services.loadbalancers": _quantity(balancers),
            "services.nodeports": _quantity(node_ports)}


def _claim_usage(pvc: Obj) -> ResourceList:
    """The larger of the requested and the allocated size (a claim being resized is charged its new size)."""
    spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
    out: ResourceList = {"count/persistentvolumeclaims": ONE, "persistentvolumeclaims": ONE}
    sizes = [parse_list(x).get("storage") for x in (((spec.get("resources") or {}).get("requests")),
                                                     status.get("allocatedResources"))]
    sizes = [q for q in sizes if q is not None]
    storage_class = spec.get("storageClassName") or ""
    if storage_class:
        out[f"{storage_class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = ONE
    if sizes:
        size = max(sizes, key=lambda q: q.value)
        out["requests.storage"] = size
        if storage_class:
            out[f"{storage_class}{STORAGE_CLASS_SUFFIX}requests.storage"] = size
    return out


# -- any kind --------------------------------------------------------------------------------------------------

def usage(kind: Kind, obj: Obj, now: float) -> ResourceList:
    """What ``obj`` (of ``kind``) takes, under every name a quota may track it by."""
    if kind == PODS:
        return _pod_usage(obj, now)
    if kind == SERVICES:
        return _service_usage(obj)
    if kind == CLAIMS:
        return _claim_usage(obj)
    out: ResourceList = {object_count_name(*kind): ONE}
    if kind in LEGACY_COUNTS:
        out[LEGACY_COUNTS[kind]] = ONE
    return out


def _pod_resource(name: str) -> bool:
    return (name in POD_RESOURCES or name.startswith(("hugepages-", "requests.hugepages-"))
            or (name.startswith("requests.") and is_extended_resource(name.removeprefix("requests."))))


def _claim_resource(name: str) -> bool:
    return name in CLAIM_RESOURCES or (STORAGE_CLASS_SUFFIX in name and
                                       name.endswith(("/requests.storage", "/persistentvolumeclaims")))


def matching_resources(kind: Kind, names: Iterable[str]) -> list[str]:
    """Those of ``names`` that objects of ``kind`` can take."""
    if kind == PODS:
        return [n for n in names if _pod_resource(n)]
    if kind == SERVICES:
        return [n for n in names if n in SERVICE_RESOURCES]
    if kind == CLAIMS:
        return [n for n in names if _claim_resource(n)]
    own = {object_count_name(*kind), LEGACY_COUNTS.get(kind, "")}
    return [n for n in names if n in own]


def kinds_for(names: Iterable[str]) -> set[Kind]:
    """The kinds whose objects a quota on ``names`` counts (what its controller must list)."""
    out: set[Kind] = set()
    for name in names:
        counted = parse_count_name(name)
        if counted is not None:
            out.add(counted)
        for kind in (PODS, SERVICES, CLAIMS, *LEGACY_COUNTS):
            if matching_resources(kind, [name]):
                out.add(kind)
    return out


# -- scopes ----------------------------------------------------------------------------------------------------

def scope_selectors(quota: Obj) -> list[Obj]:
    """The quota's ``scopes`` (each as ``Exists``) followed by its ``scopeSelector`` expressions."""
    spec = quota.get("spec") or {}
    out = [{"scopeName": s, "operator": "Exists"} for s in spec.get("scopes") or []]
    return out + list((spec.get("scopeSelector") or {}).get("matchExpressions") or [])


def _cross_namespace_affinity(spec: Obj) -> bool:
    affinity = spec.get("affinity") or {}
    for which in ("podAffinity", "podAntiAffinity"):
        rules = affinity.get(which) or {}
        terms = [*(rules.get("requiredDuringSchedulingIgnoredDuringExecution") or []),
                 *((t.get("podAffinityTerm") or {}) for t in rules.get("preferredDuringSchedulingIgnoredDuringExecution")
                   or [])]
        if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms):
            return True
    return False


def _priority_class_matches(selector: Obj, pod: Obj) -> bool:
    name = (pod.get("spec") or {}).get("priorityClassName") or ""
    if selector.get("operator") == "Exists":
        return bool(name)
    expression = {"key": "PriorityClass", "operator": selector.get("operator"), "values": selector.get("values") or []}
    try:
        chosen = selector_from_object({"matchExpressions": [expression]})
    except SelectorError:
        return False
    return chosen.matches({"PriorityClass": name} if name else {})


def _scope_matches(selector: Obj, pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    scope = selector.get("scopeName")
    deadline = spec.get("activeDeadlineSeconds")
    terminating = deadline is not None and deadline >= 0
    if scope in ("Terminating", "NotTerminating"):
        return terminating == (scope == "Terminating")
    if scope in ("BestEffort", "NotBestEffort"):
        return (qos_class(pod) == "BestEffort") == (scope == "BestEffort")
    if scope == "PriorityClass":
        return _priority_class_matches(selector, pod)
    if scope == "CrossNamespacePodAffinity":
        return _cross_namespace_affinity(spec)
    return False


def matches_scopes(quota: Obj, kind: Kind, obj: Obj) -> bool:
    """True when every scope of ``quota`` selects ``obj``; a quota without scopes selects everything."""
    selectors = scope_selectors(quota)
    if not selectors:
        return True
    return kind == PODS and all(_scope_matches(s, obj) for s in selectors)
