"""ResourceQuota and LimitRange rules (``ValidateResourceQuota``, ``ValidateLimitRange``).

A quota names standard quota resources or domain-qualified ones (``count/...``, storage classes, extended
resources), with non-negative amounts, whole numbers for counts; its scopes are known, do not conflict
(BestEffort with NotBestEffort, Terminating with NotTerminating) and fit every standard resource it caps; scopes
never change. A LimitRange has one item per type, each with resource names its type can bound and amounts in
order: min <= defaultRequest <= default <= max, and a limit-to-request ratio of at least 1 that min and max allow.
"""

from __future__ import annotations

from typing import Any

from ..names import is_dns1123_subdomain, is_qualified_name
from ..quantity import parse_quantity
from ..quota import (
    SCOPE_OPERATORS,
    SCOPES,
    is_integer_resource,
    is_standard_quota_name,
    is_standard_resource_name,
    scope_valid_for,
)
from .common import Errs, child, index, validate_meta

__all__ = ["validate_resourcequota", "validate_resourcequota_update", "validate_resourcequota_status",
           "validate_limitrange", "LIMIT_TYPES"]

LIMIT_TYPES = ["Pod", "Container", "PersistentVolumeClaim"]
_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_CONFLICTING = ({"BestEffort", "NotBestEffort"}, {"Terminating", "NotTerminating"})


def _key(path: str, name: str) -> str:
    return f"{path}[{name}]"


def _resource_name(name: str, path: str, errs: Errs) -> bool:
    """A qualified name, standard unless it has a domain; False when it is not one (no further checks)."""
    problems = is_qualified_name(name)
    errs.each(path, name, problems)
    if problems:
        return False
    if "/" not in name and not is_standard_resource_name(name):
        errs.invalid(path, name, "must be a standard resource type or fully qualified")
        return False
    return True


def _quota_name(name: str, path: str, errs: Errs) -> None:
    if _resource_name(name, path, errs) and "/" not in name and not is_standard_quota_name(name):
        errs.invalid(path, name, "must be a standard resource for quota")


def _amount(name: str, amount: str, path: str, errs: Errs) -> None:
    value = parse_quantity(amount)
    if value < 0:
        errs.invalid(path, amount, "must be greater than or equal to 0")
    if is_integer_resource(name) and value.denominator != 1:
        errs.invalid(path, amount, "must be an integer")


def _resource_list(amounts: dict[str, str] | None, path: str, errs: Errs) -> None:
    for name, amount in (amounts or {}).items():
        _quota_name(name, _key(path, name), errs)
        _amount(name, amount, _key(path, name), errs)


def _scopes(spec: dict[str, Any], errs: Errs) -> None:
    scopes = spec.get("scopes") or []
    if not scopes:
        return
    for scope in scopes:
        if scope not in SCOPES:
            errs.invalid("spec.scopes", scopes, "unsupported scope")
        for name in sorted(spec.get("hard") or {}):
            if is_standard_quota_name(name) and not scope_valid_for(scope, name):
                errs.invalid("spec.scopes", scopes, "unsupported scope applied to resource")
    for pair in _CONFLICTING:
        if pair <= set(scopes):
            errs.invalid("spec.scopes", scopes, "conflicting scopes")


def _selector_requirement(req: dict[str, Any], hard: dict[str, str], path: str, selector: Any, errs: Errs) -> None:
    scope, op, values = req.get("scopeName"), req.get("operator"), req.get("values") or []
    if scope not in SCOPES:
        errs.invalid(child(path, "scopeName"), scope, "unsupported scope")
    for name in sorted(hard):
        if is_standard_quota_name(name) and not scope_valid_for(scope, name):
            errs.invalid(path, selector, "unsupported scope applied to resource")
    if scope in SCOPES and scope != "PriorityClass" and op != "Exists":
        errs.invalid(child(path, "operator"), op,
                     "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, "
                     "ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort "
                     "or ResourceQuotaScopeCrossNamespacePodAffinity")
    if op in ("In", "NotIn") and not values:
        errs.required(child(path, "values"), "must be at least one value when `operator` is 'In' or 'NotIn' for "
                                             "scope selector")
    elif op in ("Exists", "DoesNotExist") and values:
        errs.invalid(child(path, "values"), values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' "
                                                    "for scope selector")
    elif op not in SCOPE_OPERATORS:
        errs.invalid(child(path, "operator"), op, "not a valid selector operator")


def _scope_selector(spec: dict[str, Any], errs: Errs) -> None:
    selector = spec.get("scopeSelector")
    if selector is None:
        return
    path = "spec.scopeSelector.matchExpressions"
    names = set()
    for req in selector.get("matchExpressions") or []:
        _selector_requirement(req, spec.get("hard") or {}, path, selector, errs)
        names.add(req.get("scopeName"))
    for pair in _CONFLICTING:
        if pair <= names:
            errs.invalid(path, spec.get("scopes") or [], "conflicting scopes")


def validate_resourcequota_status(obj: dict[str, Any], errs: Errs) -> None:
    status = obj.get("status") or {}
    _resource_list(status.get("hard"), "status.hard", errs)
    _resource_list(status.get("used"), "status.used", errs)


def validate_resourcequota(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    spec = obj.get("spec") or {}
    _resource_list(spec.get("hard"), "spec.hard", errs)
    _scopes(spec, errs)
    _scope_selector(spec, errs)
    validate_resourcequota_status(obj, errs)


def validate_resourcequota_update(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    new_scopes = (new.get("spec") or {}).get("scopes") or []
    if set(new_scopes) != set((old.get("spec") or {}).get("scopes") or []):
        errs.invalid("spec.scopes", new_scopes, "field is immutable")


# -- LimitRange ------------------------------------------------------------------------------------------------

def _limit_resource(kind: str, name: str, path: str, errs: Errs) -> None:
    if not _resource_name(name, path, errs):
        return
    if kind in ("Pod", "Container") and "/" not in name and name not in _CONTAINER_RESOURCES \
            and not name.startswith("hugepages-"):
        errs.invalid(path, name, "must be a standard resource for containers")


def _limit_type(kind: Any, path: str, errs: Errs) -> None:
    problems = is_qualified_name(kind or "")
    errs.each(path, kind, problems)
    if not problems and "/" not in kind and kind not in LIMIT_TYPES:
        errs.invalid(path, kind, "must be a standard limit type or fully qualified")


def _item_parts(item: dict[str, Any], path: str, errs: Errs) -> dict[str, dict[str, str]]:
    kind = item.get("type") or ""
    parts = {}
    for part in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
        amounts = item.get(part) or {}
        if kind == "Pod" and part in ("default", "defaultRequest"):
            if amounts:
                errs.forbidden(child(path, part), "may not be specified when `type` is 'Pod'")
            parts[part] = {}
            continue
        for name in amounts:
            _limit_resource(kind, name, _key(child(path, part), name), errs)
        parts[part] = amounts
    if kind == "PersistentVolumeClaim" and "storage" not in parts["min"] and "storage" not in parts["max"]:
        errs.required(child(path, "limits"), "either minimum or maximum storage value is required, but neither was "
                                             "provided")
    return parts


_ORDER = (  # (lower part, higher part, the part the error is reported on, the value it shows, message)
    ("min", "max", "min", "min", "min value {lo} is greater than max value {hi}"),
    ("min", "defaultRequest", "defaultRequest", "defaultRequest",
     "min value {lo} is greater than default request value {hi}"),
    ("defaultRequest", "max", "defaultRequest", "defaultRequest",
     "default request value {lo} is greater than max value {hi}"),
    ("defaultRequest", "default", "defaultRequest", "defaultRequest",
     "default request value {lo} is greater than default limit value {hi}"),
    ("min", "default", "default", "min", "min value {lo} is greater than default value {hi}"),
    ("default", "max", "default", "max", "default value {lo} is greater than max value {hi}"),
)


def _item_order(parts: dict[str, dict[str, str]], path: str, errs: Errs) -> None:
    names = sorted({name for amounts in parts.values() for name in amounts})
    for name in names:
        for low, high, where, shown, message in _ORDER:
            lo, hi = parts[low].get(name), parts[high].get(name)
            if lo is not None and hi is not None and parse_quantity(lo) > parse_quantity(hi):
                errs.invalid(_key(child(path, where), name), parts[shown][name], message.format(lo=lo, hi=hi))
        _ratio(parts, name, path, errs)


def _ratio(parts: dict[str, dict[str, str]], name: str, path: str, errs: Errs) -> None:
    ratio = parts["maxLimitRequestRatio"].get(name)
    if ratio is None:
        return
    here = _key(child(path, "maxLimitRequestRatio"), name)
    if parse_quantity(ratio) < 1:
        errs.invalid(here, ratio, f"ratio {ratio} is less than 1")
    low, high = parts["min"].get(name), parts["max"].get(name)
    if low is not None and high is not None and parse_quantity(low) > 0:
        allowed = parse_quantity(high) / parse_quantity(low)
        if parse_quantity(ratio) > allowed:
            errs.invalid(here, ratio, f"ratio {ratio} is greater than max/min = {float(allowed):f}")


def validate_limitrange(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    seen: set[str] = set()
    for i, item in enumerate(((obj.get("spec") or {}).get("limits")) or []):
        path = index("spec.limits", i)
        _limit_type(item.get("type"), child(path, "type"), errs)
        if item.get("type") in seen:
            errs.duplicate(child(path, "type"), item.get("type"))
        seen.add(item.get("type"))
        _item_order(_item_parts(item, path, errs), path, errs)
