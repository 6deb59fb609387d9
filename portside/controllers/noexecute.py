"""NoExecute taints against a pod's tolerations, pure: when must the pod leave its node (Kubernetes' taint
manager, whose eviction is a delete of the pod).

A NoExecute taint the pod does not tolerate evicts it at once. One it tolerates with ``tolerationSeconds``
evicts it that long after the taint's ``timeAdded`` (a timer that survives a restart of the controller, where
Kubernetes counts from when its taint manager first saw the taint); zero or less means at once. A toleration
without seconds tolerates for good. With several taints the earliest eviction wins; with several tolerations
matching one taint the most patient one counts.
"""

from __future__ import annotations

import math

from portside.api.models import Taint, Toleration
from portside.api.timefmt import parse_time


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Kubernetes' ``Toleration.ToleratesTaint``: an empty effect or key matches all (the key only with
    operator Exists); Equal (the default) compares values."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    operator = toleration.operator or "Equal"
    if not toleration.key:
        return operator == "Exists"
    if toleration.key != taint.key:
        return False
    return operator == "Exists" or (toleration.value or "") == (taint.value or "")


def tolerated_for(tolerations: list[Toleration], taint: Taint) -> float | None:
    """Seconds ``taint`` is tolerated: None when not at all, ``math.inf`` for good."""
    best: float | None = None
    for toleration in tolerations:
        if tolerates(toleration, taint):
            seconds = math.inf if toleration.toleration_seconds is None else max(0, toleration.toleration_seconds)
            best = seconds if best is None else max(best, seconds)
    return best


def eviction_time(tolerations: list[Toleration], taints: list[Taint], now: float) -> float | None:
    """When the pod must be evicted (``now`` or later, on the wall clock), None when never."""
    due = math.inf
    for taint in taints:
        if taint.effect != "NoExecute":
            continue
        seconds = tolerated_for(tolerations, taint)
        if seconds is None:
            return now
        added = parse_time(taint.time_added)
        due = min(due, (added.timestamp() if added else now) + seconds)
    return None if due == math.inf else max(due, now)
