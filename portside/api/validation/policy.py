"""PodDisruptionBudget rules (``ValidatePodDisruptionBudgetSpec``): at most one of minAvailable and
maxUnavailable, each a non-negative count or a percentage of at most 100%, a valid selector and a known
unhealthy-pod eviction policy. Neither bound set is accepted, as Kubernetes accepts it (every healthy pod may go).
"""

from __future__ import annotations

from typing import Any

from ..names import is_dns1123_subdomain
from .common import Errs, validate_label_selector, validate_meta
from .workloads import _int_or_percent

__all__ = ["validate_pdb", "UNHEALTHY_POD_EVICTION_POLICIES"]

UNHEALTHY_POD_EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"]


def validate_pdb(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    spec = obj.get("spec") or {}
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    if low is not None and high is not None:
        errs.invalid("spec.minAvailable", low, "minAvailable and maxUnavailable cannot be both set")
    for key, value in (("minAvailable", low), ("maxUnavailable", high)):
        if value is not None:
            _int_or_percent(value, f"spec.{key}", errs)
    validate_label_selector(spec.get("selector"), "spec.selector", errs)
    errs.enum("spec.unhealthyPodEvictionPolicy", spec.get("unhealthyPodEvictionPolicy"),
              UNHEALTHY_POD_EVICTION_POLICIES)
