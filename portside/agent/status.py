"""Pod status from what runs: phase, conditions, podIP and containerStatuses. Pure: the worker hands in the
runs, probe results and waiting reasons, and writes the result through the status subresource only when it
differs from what the API holds (``changed``).

Transition times are kept from the previous status while a condition keeps its value, so a status recomputed
from the same facts compares equal and costs no write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portside.agent.model import Run, latest, previous

CONDITIONS = ("PodScheduled", "Initialized", "ContainersReady", "Ready")


@dataclass(frozen=True)
class Facts:
    init: list[str]
    apps: list[str]
    images: dict[str, str]  # container name -> the image the spec asks for
    restart_policy: str
    runs: list[Run]
    pod_ip: str = ""
    host_ip: str = ""
    start_time: str = ""
    ready: dict[str, bool] = field(default_factory=dict)  # readiness probe verdict (absent: no probe)
    started: dict[str, bool] = field(default_factory=dict)  # startup probe verdict (absent: no probe)
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (reason, message)
    init_failed: bool = False


def terminated(run: Run) -> dict[str, Any]:
    return {"terminated": {"exitCode": run.exit_code, "reason": run.reason(), "startedAt": run.started_at,
                           "finishedAt": run.finished_at, "containerID": f"portside://{run.cid}"}}


def _state(name: str, run: Run | None, facts: Facts, default: str) -> dict[str, Any]:
    if name in facts.waiting:
        reason, message = facts.waiting[name]
        return {"waiting": {"reason": reason, "message": message} if message else {"reason": reason}}
    if run is None:
        return {"waiting": {"reason": default}}
    if run.running:
        return {"running": {"startedAt": run.started_at}}
    return terminated(run)


def _last_state(name: str, run: Run | None, facts: Facts) -> dict[str, Any]:
    if run is not None and run.ended and name in facts.waiting:
        return terminated(run)  # waiting to restart: the run that ended is the last state
    prev = previous(facts.runs, name)
    return terminated(prev) if prev is not None and prev.ended else {}


def container_status(name: str, facts: Facts, newest: dict[str, Run], default: str) -> dict[str, Any]:
    run = newest.get(name)
    running = run is not None and run.running
    started = running and facts.started.get(name, True)
    out = {"name": name, "image": facts.images.get(name, ""), "imageID": run.image_id if run else "",
           "ready": started and facts.ready.get(name, True), "restartCount": run.attempt if run else 0,
           "started": started, "state": _state(name, run, facts, default),
           "lastState": _last_state(name, run, facts)}
    if run is not None:
        out["containerID"] = f"portside://{run.cid}"
    return out


def initialized(facts: Facts, newest: dict[str, Run]) -> bool:
    return all((r := newest.get(n)) is not None and r.ended and r.exit_code == 0 for n in facts.init)


def phase(facts: Facts, newest: dict[str, Run]) -> str:
    if facts.init_failed:
        return "Failed"
    runs = [newest.get(n) for n in facts.apps]
    if not initialized(facts, newest) or any(r is None for r in runs):
        return "Pending"
    if any(r.running for r in runs) or facts.restart_policy == "Always":
        return "Running"
    if all(r.exit_code == 0 for r in runs):
        return "Succeeded"
    return "Running" if facts.restart_policy == "OnFailure" else "Failed"


def _condition(kind: str, value: bool, old: dict[str, dict], now: str, reason: str) -> dict[str, Any]:
    status = "True" if value else "False"
    prior = old.get(kind) or {}
    since = prior.get("lastTransitionTime") if prior.get("status") == status else None
    out = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": since or now}
    if not value and reason:
        out["reason"] = reason
    return out


def conditions(facts: Facts, statuses: list[dict], newest: dict[str, Run], old: dict, now: str) -> list[dict]:
    prior = {c.get("type"): c for c in old.get("conditions") or []}
    init_done = initialized(facts, newest)
    ready = init_done and all(s["ready"] for s in statuses)
    unready = "PodCompleted" if phase(facts, newest) in ("Succeeded", "Failed") else "ContainersNotReady"
    values = {"PodScheduled": (True, ""), "Initialized": (init_done, "ContainersNotInitialized"),
              "ContainersReady": (ready, unready), "Ready": (ready, unready)}
    return [_condition(k, values[k][0], prior, now, values[k][1]) for k in CONDITIONS]


def compute(facts: Facts, old: dict[str, Any], now: str) -> dict[str, Any]:
    """The whole status the agent owns; fields it does not compute (qosClass, ...) are carried over."""
    newest = latest(facts.runs)
    inits = [container_status(n, facts, newest, "PodInitializing") for n in facts.init]
    apps = [container_status(n, facts, newest, "PodInitializing" if facts.init else "ContainerCreating")
            for n in facts.apps]
    out = dict(old)
    out.update(phase=phase(facts, newest), conditions=conditions(facts, apps, newest, old, now),
               containerStatuses=apps, hostIP=facts.host_ip, hostIPs=[{"ip": facts.host_ip}],
               startTime=old.get("startTime") or now)
    if inits:
        out["initContainerStatuses"] = inits
    if facts.pod_ip:
        out.update(podIP=facts.pod_ip, podIPs=[{"ip": facts.pod_ip}])
    return out


def changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return old != new
