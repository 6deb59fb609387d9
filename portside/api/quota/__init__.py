"""ResourceQuota's arithmetic, free of I/O: what objects take, which quotas apply, whether a write fits.

``charge`` decides an admission (the API server), ``calculate_used`` recounts a quota (the quota controller);
both read the same per-kind usage (``usage``), so what admission charges is what the controller counts.
"""

from .check import IGNORED, Charge, Refused, calculate_used, charge, handles
from .lists import ResourceList, parse_list, pretty, to_wire
from .names import (
    SCOPE_OPERATORS,
    SCOPES,
    is_integer_resource,
    is_standard_quota_name,
    is_standard_resource_name,
    object_count_name,
    scope_valid_for,
)
from .usage import CLAIMS, PODS, SERVICES, Kind, kinds_for, matching_resources, pod_limits, pod_requests, usage

__all__ = [
    "Charge", "Refused", "charge", "calculate_used", "handles", "IGNORED",
    "ResourceList", "parse_list", "pretty", "to_wire",
    "SCOPES", "SCOPE_OPERATORS", "is_integer_resource", "is_standard_quota_name", "is_standard_resource_name",
    "object_count_name", "scope_valid_for",
    "Kind", "PODS", "SERVICES", "CLAIMS", "kinds_for", "matching_resources", "pod_requests", "pod_limits", "usage",
]
