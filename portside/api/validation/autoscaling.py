"""HorizontalPodAutoscaler rules (autoscaling/v2, the stored form; a v1 object is converted before it gets here),
in Kubernetes' words: replica bounds, the scale target, each metric's source and target, and ``behavior``."""

from __future__ import annotations

from typing import Any

from ..names import is_dns1123_label, is_dns1123_subdomain, is_qualified_name
from ..quantity import QuantityError, parse_quantity
from .common import Errs, child, index, path_segment_name, validate_meta

__all__ = ["validate_hpa", "METRIC_SOURCE_TYPES", "MAX_PERIOD_SECONDS", "MAX_STABILIZATION_WINDOW_SECONDS"]

MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600
METRIC_SOURCE_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"]
_SOURCE_FIELD = {"Object": "object", "Pods": "pods", "Resource": "resource", "External": "external",
                 "ContainerResource": "containerResource"}
_TARGET_TYPES = ("Utilization", "Value", "AverageValue")
_SELECT_POLICIES = ["Disabled", "Max", "Min"]
_POLICY_TYPES = ["Percent", "Pods"]
_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def validate_hpa(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    spec = obj.get("spec") or {}
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if low is not None and low < 1:
        errs.invalid("spec.minReplicas", low, "must be greater than or equal to 1")
    if high is None:
        errs.required("spec.maxReplicas")
    elif high < 1:
        errs.invalid("spec.maxReplicas", high, "must be greater than 0")
    elif low is not None and high < low:
        errs.invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`")
    _reference(spec.get("scaleTargetRef") or {}, "spec.scaleTargetRef", errs)
    for i, metric in enumerate(spec.get("metrics") or []):
        _metric(metric, index("spec.metrics", i), errs)
    behavior = spec.get("behavior")
    if behavior is not None:
        for key in ("scaleUp", "scaleDown"):
            if behavior.get(key) is not None:
                _rules(behavior[key], child("spec.behavior", key), errs)


def _reference(ref: dict[str, Any], path: str, errs: Errs) -> None:
    for key in ("kind", "name"):
        if not ref.get(key):
            errs.required(child(path, key))
        else:
            errs.each(child(path, key), ref[key], path_segment_name(ref[key]))


def _metric(metric: dict[str, Any], path: str, errs: Errs) -> None:
    kind = metric.get("type")
    if not kind:
        errs.required(child(path, "type"), "must specify a metric source type")
    if kind not in METRIC_SOURCE_TYPES:
        errs.unsupported(child(path, "type"), kind or "", METRIC_SOURCE_TYPES)
    present = [f for f in _SOURCE_FIELD.values() if metric.get(f) is not None]
    if present:
        _SOURCES[present[0]](metric[present[0]], child(path, present[0]), errs)
    expected = _SOURCE_FIELD.get(kind or "")
    if expected is not None and metric.get(expected) is None:
        errs.required(child(path, expected), "must populate information for the given metric source")
    if len(present) > 1:
        for field in present:
            if field != expected:
                errs.forbidden(child(path, field), "must populate the given metric source only")


def _target(target: dict[str, Any], path: str, errs: Errs) -> None:
    kind = target.get("type")
    if not kind:
        errs.required(child(path, "type"), "must specify a metric target type")
    if kind not in _TARGET_TYPES:
        errs.invalid(child(path, "type"), kind or "", "must be either Utilization, Value, or AverageValue")
    for key in ("value", "averageValue"):
        if target.get(key) is not None and not _positive(target[key]):
            errs.invalid(child(path, key), target[key], "must be positive")
    utilization = target.get("averageUtilization")
    if utilization is not None and utilization < 1:
        errs.invalid(child(path, "averageUtilization"), utilization, "must be greater than 0")


def _positive(quantity: str) -> bool:
    try:
        return parse_quantity(quantity) > 0
    except QuantityError:
        return False  # the schema already reported its form


def _identifier(metric: dict[str, Any], path: str, errs: Errs) -> None:
    name = metric.get("name")
    if not name:
        errs.required(child(path, "name"), "must specify a metric name")
    else:
        errs.each(child(path, "name"), name, path_segment_name(name))


def _resource(source: dict[str, Any], path: str, errs: Errs) -> None:
    if not source.get("name"):
        errs.required(child(path, "name"), "must specify a resource name")
    _utilization_or_value(source.get("target") or {}, child(path, "target"), errs)


def _container_resource(source: dict[str, Any], path: str, errs: Errs) -> None:
    name, container = source.get("name"), source.get("container")
    if not name:
        errs.required(child(path, "name"), "must specify a resource name")
    else:
        errs.each(child(path, "name"), name, _container_resource_name(name))
    if not container:
        errs.required(child(path, "container"), "must specify a container")
    else:
        errs.each(child(path, "container"), container, is_dns1123_label(container))
    _utilization_or_value(source.get("target") or {}, child(path, "target"), errs)


def _container_resource_name(name: str) -> list[str]:
    problems = is_qualified_name(name)
    if problems or "/" in name or name in _CONTAINER_RESOURCES or name.startswith("hugepages-"):
        return problems
    return ["must be a standard resource for containers"]


def _utilization_or_value(target: dict[str, Any], path: str, errs: Errs) -> None:
    _target(target, path, errs)
    if target.get("averageUtilization") is None and target.get("averageValue") is None:
        errs.required(child(path, "averageUtilization"), "must set either a target raw value or a target utilization")
    if target.get("averageUtilization") is not None and target.get("averageValue") is not None:
        errs.forbidden(child(path, "averageValue"), "may not set both a target raw value and a target utilization")


def _pods(source: dict[str, Any], path: str, errs: Errs) -> None:
    _identifier(source.get("metric") or {}, child(path, "metric"), errs)
    target = source.get("target") or {}
    _target(target, child(path, "target"), errs)
    if target.get("averageValue") is None:
        errs.required(child(path, "target.averageValue"), "must specify a positive target averageValue")


def _object(source: dict[str, Any], path: str, errs: Errs) -> None:
    _reference(source.get("describedObject") or {}, child(path, "describedObject"), errs)
    _identifier(source.get("metric") or {}, child(path, "metric"), errs)
    target = source.get("target") or {}
    _target(target, child(path, "target"), errs)
    if target.get("value") is None and target.get("averageValue") is None:
        errs.required(child(path, "target.averageValue"), "must set either a target value or averageValue")


def _external(source: dict[str, Any], path: str, errs: Errs) -> None:
    _identifier(source.get("metric") or {}, child(path, "metric"), errs)
    target = source.get("target") or {}
    _target(target, child(path, "target"), errs)
    if target.get("value") is None and target.get("averageValue") is None:
        errs.required(child(path, "target.averageValue"), "must set either a target value for metric or a per-pod "
                                                          "target")
    if target.get("value") is not None and target.get("averageValue") is not None:
        errs.forbidden(child(path, "target.value"), "may not set both a target value for metric and a per-pod target")


_SOURCES = {"resource": _resource, "containerResource": _container_resource, "pods": _pods, "object": _object,
            "external": _external}


def _rules(rules: dict[str, Any], path: str, errs: Errs) -> None:
    window = rules.get("stabilizationWindowSeconds")
    if window is not None and window < 0:
        errs.invalid(child(path, "stabilizationWindowSeconds"), window, "must be greater than or equal to zero")
    if window is not None and window > MAX_STABILIZATION_WINDOW_SECONDS:
        errs.invalid(child(path, "stabilizationWindowSeconds"), window,
                     f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}")
    errs.enum(child(path, "selectPolicy"), rules.get("selectPolicy"), _SELECT_POLICIES)
    policies = rules.get("policies") or []
    if not policies:
        errs.required(child(path, "policies"), "must specify at least one Policy")
    for i, policy in enumerate(policies):
        _policy(policy, index(child(path, "policies"), i), errs)


def _policy(policy: dict[str, Any], path: str, errs: Errs) -> None:
    if policy.get("type") not in _POLICY_TYPES:
        errs.unsupported(child(path, "type"), policy.get("type") or "", _POLICY_TYPES)
    value, period = policy.get("value"), policy.get("periodSeconds")
    if value is None or value <= 0:
        errs.invalid(child(path, "value"), value or 0, "must be greater than zero")
    if period is None or period <= 0:
        errs.invalid(child(path, "periodSeconds"), period or 0, "must be greater than zero")
    elif period > MAX_PERIOD_SECONDS:
        errs.invalid(child(path, "periodSeconds"), period, f"must be less than or equal to {MAX_PERIOD_SECONDS}")
