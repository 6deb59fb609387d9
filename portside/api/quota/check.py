"""Quota decisions: may this write happen, and what each quota's ``status.used`` becomes if it does; and what a
quota's usage is, counted from the namespace's objects.

``charge`` is Kubernetes' ``CheckRequest``: a quota that caps something the object takes must have its usage
counted (``status unknown for quota``), a pod must state the compute a quota caps (``failed quota: ... must
specify``), and the object's usage (on an update, only what it grows by) added to ``status.used`` must stay
within ``status.hard`` (``exceeded quota: NAME, requested: ..., used: ..., limited: ...``). Enforcement follows
``status.hard``, which the quota controller copies from the spec, so a quota is enforced once it was counted.

The caller writes the new usages with compare-and-swap on each quota's resourceVersion, in the same commit as the
object, so two writes racing for the last unit of a quota cannot both be charged against the same ``used``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .lists import (
    ZERO,
    ResourceList,
    add,
    exceeded,
    is_zero,
    mask,
    parse_list,
    pretty,
    pretty_names,
    subtract_nonnegative,
    to_wire,
)
from .usage import CLAIMS, PODS, SERVICES, Kind, matches_scopes, matching_resources, pod_constraints, usage

__all__ = ["Refused", "Charge", "handles", "charge", "calculate_used", "IGNORED"]

Obj = dict[str, Any]
IGNORED = frozenset({("", "events"), ("events.k8s.io", "events")})  # Kubernetes' default ignoredResources


class Refused(Exception):
    """The write would break a quota; the message is Kubernetes' (the API server answers 403 Forbidden)."""


@dataclass(frozen=True)
class Charge:
    """One quota the write is charged to, and its ``status.used`` after the charge (wire form)."""

    quota: Obj
    used: dict[str, str]


def handles(kind: Kind, updating: bool) -> bool:
    """Creates are charged for every kind; updates only where usage can grow (a Service's type, a claim's size)."""
    if kind in IGNORED:
        return False
    return not updating or kind in (SERVICES, CLAIMS)


def _name(quota: Obj) -> str:
    return (quota.get("metadata") or {}).get("name", "")


def _hard(quota: Obj) -> ResourceList:
    return parse_list((quota.get("status") or {}).get("hard"))


def _applies(quota: Obj, kind: Kind, obj: Obj) -> list[str]:
    """The names of ``quota`` the object takes from; empty when the quota does not apply to it at all."""
    names = matching_resources(kind, _hard(quota))
    return names if names and matches_scopes(quota, kind, obj) else []


def _delta(kind: Kind, obj: Obj, old: Obj | None, now: float) -> ResourceList:
    grown = usage(kind, obj, now)
    if old is not None:
        grown = subtract_nonnegative(grown, usage(kind, old, now))
    return grown


def _applicable(quotas: Iterable[Obj], kind: Kind, obj: Obj) -> list[Obj]:
    """Quotas that cap what ``obj`` takes; refuses when one was not counted yet or the pod omits compute."""
    out = []
    for quota in quotas:
        names = _applies(quota, kind, obj)
        if not names:
            continue
        if kind == PODS:
            missing = pod_constraints(names, obj)
            if missing:
                raise Refused(f"failed quota: {_name(quota)}: {missing}")
        used = (quota.get("status") or {}).get("used") or {}
        if any(name not in used for name in names):
            raise Refused(f"status unknown for quota: {_name(quota)}, resources: {pretty_names(names)}")
        out.append(quota)
    return out


def charge(quotas: Iterable[Obj], kind: Kind, obj: Obj, old: Obj | None = None, now: float = 0.0) -> list[Charge]:
    """The quotas a create (``old`` None) or update of ``obj`` is charged to, with their new usage; raises
    ``Refused`` when a quota does not allow it. Empty when nothing is charged."""
    applicable = _applicable(quotas, kind, obj)
    delta = _delta(kind, obj, old, now)
    if not applicable or is_zero(delta):
        return []
    out = []
    for quota in applicable:
        hard, used = _hard(quota), parse_list((quota.get("status") or {}).get("used"))
        requested = mask(delta, hard)
        after = add(used, requested)
        over = exceeded(mask(after, requested), hard)
        if over:
            raise Refused(f"exceeded quota: {_name(quota)}, requested: {pretty(mask(requested, over))}, "
                          f"used: {pretty(mask(used, over))}, limited: {pretty(mask(hard, over))}")
        out.append(Charge(quota, to_wire(after)))
    return out


def calculate_used(quota: Obj, objects: Mapping[Kind, list[Obj]], now: float) -> dict[str, str]:
    """``status.used`` counted afresh from ``objects`` (the namespace's objects of each kind the quota tracks):
    every capped name some kind takes starts at zero; names no listed kind takes keep their last count."""
    hard = parse_list((quota.get("spec") or {}).get("hard"))
    used = parse_list((quota.get("status") or {}).get("used"))
    for kind, items in objects.items():
        names = matching_resources(kind, hard)
        if not names:
            continue
        total: ResourceList = dict.fromkeys(names, ZERO)
        for obj in items:
            if matches_scopes(quota, kind, obj):
                total = add(total, mask(usage(kind, obj, now), names))
        used.update(total)
    return to_wire(mask(used, hard))
