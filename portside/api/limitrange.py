"""LimitRange, free of I/O: the defaults a LimitRange gets when stored, the defaults it gives containers, and the
bounds it holds pods and claims to - in Kubernetes' words (``minimum cpu usage per Container is 100m, but request
is 50m``).

Order, as Kubernetes' LimitRanger plugin: defaults first (a container lacking a request or limit takes the
``Container`` item's ``defaultRequest``/``default``; the pod is annotated ``kubernetes.io/limit-ranger`` with what
was set), then the bounds: ``min``, ``max`` and ``maxLimitRequestRatio`` per container (init containers too), per
pod (the sum over containers, as a pod's request is summed), and per claim (its storage request).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from .quantity import parse_quantity
from .quota.lists import to_wire
from .quota.usage import container_totals

__all__ = ["ANNOTATION", "default_item", "apply_defaults", "pod_violations", "claim_violations", "aggregate"]

Obj = dict[str, Any]
ANNOTATION = "kubernetes.io/limit-ranger"
_MAX_MILLI = Fraction(2**63 - 1, 1000)


def default_item(item: Obj) -> None:
    """A Container item's defaults, as the API server stores them: ``default`` from ``max``, ``defaultRequest``
    from ``default``, then from ``min`` (in place; an item that sets them keeps its own)."""
    if item.get("type") != "Container":
        return
    default, request = item.setdefault("default", {}), item.setdefault("defaultRequest", {})
    for name, amount in (item.get("max") or {}).items():
        default.setdefault(name, amount)
    for source in (default, item.get("min") or {}):
        for name, amount in source.items():
            request.setdefault(name, amount)
    for key in ("default", "defaultRequest"):
        if not item[key]:
            del item[key]


def _items(limitranges: Iterable[Obj], kind: str) -> list[Obj]:
    return [item for lr in limitranges for item in ((lr.get("spec") or {}).get("limits") or [])
            if item.get("type") == kind]


# -- defaults --------------------------------------------------------------------------------------------------

def _fill(container: Obj, part: str, defaults: dict[str, str]) -> list[str]:
    resources = container.setdefault("resources", {})
    have = resources.setdefault(part, {})
    added = sorted(name for name in defaults if name not in have)
    for name in added:
        have[name] = defaults[name]
    if not have:
        del resources[part]
    return added


def _merge_container(container: Obj, requests: dict[str, str], limits: dict[str, str], what: str) -> list[str]:
    notes = []
    set_requests, set_limits = _fill(container, "requests", requests), _fill(container, "limits", limits)
    if set_requests:
        notes.append(f"{', '.join(set_requests)} request for {what} {container.get('name', '')}")
    if set_limits:
        notes.append(f"{', '.join(set_limits)} limit for {what} {container.get('name', '')}")
    return notes


def _apply_one(pod: Obj, items: list[Obj]) -> bool:
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    for item in items:
        requests.update(item.get("defaultRequest") or {})
        limits.update(item.get("default") or {})
    spec = pod.get("spec") or {}
    notes = [note for c in spec.get("containers") or [] for note in _merge_container(c, requests, limits, "container")]
    notes += [note for c in spec.get("initContainers") or []
              for note in _merge_container(c, requests, limits, "init container")]
    if notes:
        pod.setdefault("metadata", {}).setdefault("annotations", {})[ANNOTATION] = \
            "LimitRanger plugin set: " + "; ".join(notes)
    return bool(notes)


def apply_defaults(pod: Obj, limitranges: Iterable[Obj]) -> bool:
    """Give the pod's containers each LimitRange's Container defaults where they have no request or limit; True
    when anything was set."""
    changed = False
    for lr in limitranges:
        items = _items([lr], "Container")
        if items:
            changed = _apply_one(pod, items) or changed
    return changed


# -- bounds ----------------------------------------------------------------------------------------------------

def _compared(*amounts: str | None) -> list[int]:
    """Kubernetes compares in milli-units unless a value is too large for them, then in whole units."""
    values = [parse_quantity(a) if a is not None else Fraction(0) for a in amounts]
    if all(abs(v) <= _MAX_MILLI for v in values):
        return [math.ceil(v * 1000) for v in values]
    return [math.ceil(v) for v in values]


def _min(kind: str, name: str, bound: str, requests: Obj, limits: Obj) -> str:
    request, limit = requests.get(name), limits.get(name)
    got_request, got_limit, enforced = _compared(request, limit, bound)
    if request is None:
        return f"minimum {name} usage per {kind} is {bound}.  No request is specified"
    if got_request < enforced:
        return f"minimum {name} usage per {kind} is {bound}, but request is {request}"
    if limit is not None and got_limit < enforced:
        return f"minimum {name} usage per {kind} is {bound}, but limit is {limit}"
    return ""


def _max(kind: str, name: str, bound: str, requests: Obj, limits: Obj) -> str:
    request, limit = requests.get(name), limits.get(name)
    got_request, got_limit, enforced = _compared(request, limit, bound)
    if limit is None:
        return f"maximum {name} usage per {kind} is {bound}.  No limit is specified"
    if got_limit > enforced:
        return f"maximum {name} usage per {kind} is {bound}, but limit is {limit}"
    if request is not None and got_request > enforced:
        return f"maximum {name} usage per {kind} is {bound}, but request is {request}"
    return ""


def _max_request(kind: str, name: str, bound: str, requests: Obj) -> str:
    """A claim has no limit: its request is held to the maximum."""
    request = requests.get(name)
    got_request, enforced = _compared(request, bound)
    if request is None:
        return f"maximum {name} usage per {kind} is {bound}.  No request is specified"
    if got_request > enforced:
        return f"maximum {name} usage per {kind} is {bound}, but request is {request}"
    return ""


def _ratio(kind: str, name: str, bound: str, requests: Obj, limits: Obj) -> str:
    request, limit = requests.get(name), limits.get(name)
    got_request, got_limit = _compared(request, limit)
    if request is None or got_request == 0:
        return f"{name} max limit to request ratio per {kind} is {bound}, but no request is specified or request is 0"
    if limit is None or got_limit == 0:
        return f"{name} max limit to request ratio per {kind} is {bound}, but no limit is specified or limit is 0"
    observed = Fraction(got_limit, got_request)
    if observed > parse_quantity(bound):
        return f"{name} max limit to request ratio per {kind} is {bound}, but provided ratio is {float(observed):f}"
    return ""


def _bounds(item: Obj, kind: str, requests: Obj, limits: Obj) -> list[str]:
    found = [_min(kind, n, b, requests, limits) for n, b in sorted((item.get("min") or {}).items())]
    found += [_max(kind, n, b, requests, limits) for n, b in sorted((item.get("max") or {}).items())]
    found += [_ratio(kind, n, b, requests, limits) for n, b in sorted((item.get("maxLimitRequestRatio") or {}).items())]
    return [f for f in found if f]


def pod_violations(pod: Obj, limitranges: Iterable[Obj]) -> list[str]:
    """Every bound the (defaulted) pod breaks, per container first, then for the pod as a whole."""
    limitranges = list(limitranges)
    spec = pod.get("spec") or {}
    out = []
    for item in _items(limitranges, "Container"):
        for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            resources = c.get("resources") or {}
            out += _bounds(item, "Container", resources.get("requests") or {}, resources.get("limits") or {})
    for item in _items(limitranges, "Pod"):
        requests, limits = to_wire(container_totals(spec, "requests")), to_wire(container_totals(spec, "limits"))
        out += _bounds(item, "Pod", requests, limits)
    return out


def claim_violations(pvc: Obj, limitranges: Iterable[Obj]) -> list[str]:
    requests = (((pvc.get("spec") or {}).get("resources") or {}).get("requests")) or {}
    out = []
    for item in _items(limitranges, "PersistentVolumeClaim"):
        out += [_min("PersistentVolumeClaim", n, b, requests, {}) for n, b in sorted((item.get("min") or {}).items())]
        out += [_max_request("PersistentVolumeClaim", n, b, requests)
                for n, b in sorted((item.get("max") or {}).items())]
    return [f for f in out if f]


def aggregate(messages: list[str]) -> str:
    """Several errors as Kubernetes' aggregate prints them: duplicates once, ``[a, b]`` when more than one."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
