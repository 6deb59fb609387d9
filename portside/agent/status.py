"""Pod status from what runs: phase, conditions, podIP and containerStatuses. Pure: the worker hands in the
runs, probe results and waiting reasons, and writes the result through the status subresource only when it
differs from what the API holds (``changed``).

Transition times are kept from the previous status while a condition keeps its value, so a status recomputed
from the same facts compares equal and costs no write.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from portside.agent.model import Run, latest, previous
from portside.api.models import (
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    PodCondition,
    PodIP,
    PodStatus,
)

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


def terminated(run: Run) -> ContainerState:
    return ContainerState(terminated=ContainerStateTerminated(
        exit_code=run.exit_code, reason=run.reason(), started_at=run.started_at, finished_at=run.finished_at,
        container_id=f"portside://{run.cid}"))


def _state(name: str, run: Run | None, facts: Facts, default: str) -> ContainerState:
    if name in facts.waiting:
        reason, message = facts.waiting[name]
        return ContainerState(waiting=ContainerStateWaiting(reason=reason, message=message or None))
    if run is None:
        return ContainerState(waiting=ContainerStateWaiting(reason=default))
    if run.running:
        return ContainerState(running=ContainerStateRunning(started_at=run.started_at))
    return terminated(run)


def _last_state(name: str, run: Run | None, facts: Facts) -> ContainerState:
    if run is not None and run.ended and name in facts.waiting:
        return terminated(run)  # waiting to restart: the run that ended is the last state
    prev = previous(facts.runs, name)
    return terminated(prev) if prev is not None and prev.ended else ContainerState()


def container_status(name: str, facts: Facts, newest: dict[str, Run], default: str) -> ContainerStatus:
    run = newest.get(name)
    running = run is not None and run.running
    started = running and facts.started.get(name, True)
    return ContainerStatus(
        name=name, image=facts.images.get(name, ""), image_id=run.image_id if run else "",
        ready=started and facts.ready.get(name, True), restart_count=run.attempt if run else 0, started=started,
        state=_state(name, run, facts, default), last_state=_last_state(name, run, facts),
        container_id=f"portside://{run.cid}" if run is not None else None)


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


def _condition(kind: str, value: bool, old: dict[str, PodCondition], now: str, reason: str) -> PodCondition:
    status = "True" if value else "False"
    prior = old.get(kind)
    since = prior.last_transition_time if prior is not None and prior.status == status else None
    return PodCondition(type=kind, status=status, last_transition_time=since or now,
                        reason=reason if not value and reason else None)


def conditions(facts: Facts, statuses: list[ContainerStatus], newest: dict[str, Run], old: PodStatus,
               now: str) -> list[PodCondition]:
    prior = {c.type: c for c in old.conditions or []}
    init_done = initialized(facts, newest)
    ready = init_done and all(s.ready for s in statuses)
    unready = "PodCompleted" if phase(facts, newest) in ("Succeeded", "Failed") else "ContainersNotReady"
    values = {"PodScheduled": (True, ""), "Initialized": (init_done, "ContainersNotInitialized"),
              "ContainersReady": (ready, unready), "Ready": (ready, unready)}
    return [_condition(k, values[k][0], prior, now, values[k][1]) for k in CONDITIONS]


def compute(facts: Facts, old: PodStatus, now: str) -> PodStatus:
    """The whole status the agent owns; fields it does not compute (qosClass, ...) are carried over."""
    newest = latest(facts.runs)
    inits = [container_status(n, facts, newest, "PodInitializing") for n in facts.init]
    apps = [container_status(n, facts, newest, "PodInitializing" if facts.init else "ContainerCreating")
            for n in facts.apps]
    out = dataclasses.replace(
        old, phase=phase(facts, newest), conditions=conditions(facts, apps, newest, old, now),
        container_statuses=apps, host_ip=facts.host_ip, host_ips=[PodIP(ip=facts.host_ip)],
        start_time=old.start_time or now)
    if inits:
        out.init_container_statuses = inits
    if facts.pod_ip:
        out.pod_ip, out.pod_ips = facts.pod_ip, [PodIP(ip=facts.pod_ip)]
    return out


def changed(old: PodStatus, new: PodStatus) -> bool:
    return old != new
