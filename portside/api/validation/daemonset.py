"""DaemonSet and ControllerRevision rules, worded as Kubernetes words them."""

from __future__ import annotations

from typing import Any

from ..names import is_dns1123_subdomain
from .common import Errs, child, validate_meta
from .workloads import _int_or_percent, _selector_and_template, _template

__all__ = ["validate_daemonset", "validate_controllerrevision"]

_STRATEGIES = ["RollingUpdate", "OnDelete"]


def _rolling_update(rolling: dict[str, Any], errs: Errs) -> None:
    """Either bound may be set, not both: a node either loses its pod first or runs two for a while."""
    path = "spec.updateStrategy.rollingUpdate"
    unavailable = _int_or_percent(rolling.get("maxUnavailable", 0), child(path, "maxUnavailable"), errs)
    surge = _int_or_percent(rolling.get("maxSurge", 0), child(path, "maxSurge"), errs)
    if unavailable and surge:
        errs.invalid(child(path, "maxSurge"), rolling.get("maxSurge"), "may not be set when maxUnavailable is non-zero")
    elif unavailable == 0 and surge == 0:
        errs.required(child(path, "maxUnavailable"), "cannot be 0 when maxSurge is 0")


def _update_strategy(strategy: dict[str, Any], errs: Errs) -> None:
    kind = strategy.get("type")
    errs.enum("spec.updateStrategy.type", kind, _STRATEGIES, required=True)
    rolling = strategy.get("rollingUpdate")
    if kind == "RollingUpdate" and rolling is None:
        errs.required("spec.updateStrategy.rollingUpdate")
    elif kind == "RollingUpdate":
        _rolling_update(rolling, errs)


def validate_daemonset(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    spec = obj.get("spec") or {}
    _selector_and_template(spec, errs, "daemonset")
    _template(spec, errs, ["Always"])
    if ((spec.get("template") or {}).get("spec") or {}).get("activeDeadlineSeconds") is not None:
        errs.forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in DaemonSet is not Supported")
    _update_strategy(spec.get("updateStrategy") or {}, errs)
    for key in ("minReadySeconds", "revisionHistoryLimit"):
        errs.nonnegative(child("spec", key), spec.get(key))


def validate_controllerrevision(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    if obj.get("data") is None:
        errs.required("data", "data is mandatory")
    if obj.get("revision") is None:
        errs.required("revision")
    errs.nonnegative("revision", obj.get("revision"))
