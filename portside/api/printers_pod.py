"""The pod row of ``kubectl get pods``: READY, STATUS (Kubernetes' reason logic), RESTARTS, AGE and the wide columns.

STATUS is not ``status.phase``: Kubernetes shows the most telling reason (``Init:0/1``, ``CrashLoopBackOff``,
``Completed``, ``Terminating``...), derived from container states in this order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .timefmt import age

__all__ = ["pod_cells", "pod_reason"]

Obj = dict[str, Any]


def _terminated_reason(term: Obj, prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _init_reason(pod: Obj, reason: str) -> str | None:
    """The reason while init containers run, or None once they all succeeded."""
    statuses = (pod.get("status") or {}).get("initContainerStatuses") or []
    total = len((pod.get("spec") or {}).get("initContainers") or [])
    for i, status in enumerate(statuses):
        state = status.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and term.get("exitCode", 0) == 0:
            continue
        if term is not None:
            return _terminated_reason(term, "Init:")
        if waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return "Init:" + waiting["reason"]
        return f"Init:{i}/{total}"
    return None


def _has_condition(pod: Obj, kind: str, reason: str | None = None) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind and (c.get("reason") == reason if reason else c.get("status") == "True"):
            return True
    return False


def _container_reason(pod: Obj, reason: str) -> tuple[str, int]:
    ready, running = 0, False
    for status in reversed((pod.get("status") or {}).get("containerStatuses") or []):
        state = status.get("state") or {}
        waiting, term = state.get("waiting"), state.get("terminated")
        if waiting is not None and waiting.get("reason"):
            reason = waiting["reason"]
        elif term is not None:
            reason = _terminated_reason(term)
        elif status.get("ready") and state.get("running") is not None:
            running, ready = True, ready + 1
    if reason == "Completed" and running:
        reason = "Running" if _has_condition(pod, "Ready") else "NotReady"
    return reason, ready


def pod_reason(pod: Obj) -> tuple[str, int]:
    """(STATUS text, ready container count) as ``kubectl get pods`` computes them."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or ""
    if _has_condition(pod, "PodScheduled", "SchedulingGated"):
        reason = "SchedulingGated"
    init = _init_reason(pod, reason)
    ready = 0
    if init is None or _has_condition(pod, "Initialized"):
        reason, ready = _container_reason(pod, reason)
    else:
        reason = init
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready


def _restarts(pod: Obj, now: dt.datetime) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    count = sum(s.get("restartCount", 0) for s in statuses)
    finished = [((s.get("lastState") or {}).get("terminated") or {}).get("finishedAt") for s in statuses]
    finished = [f for f in finished if f]
    return f"{count} ({age(max(finished), now)} ago)" if finished and count else str(count)


def _gates(pod: Obj) -> str:
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    if not gates:
        return "<none>"
    met = sum(_has_condition(pod, g.get("conditionType", "")) for g in gates)
    return f"{met}/{len(gates)}"


def pod_cells(pod: Obj, now: dt.datetime) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    reason, ready = pod_reason(pod)
    created = age((pod.get("metadata") or {}).get("creationTimestamp"), now)
    return [f"{ready}/{len(spec.get('containers') or [])}", reason, _restarts(pod, now), created,
            status.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", _gates(pod)]
