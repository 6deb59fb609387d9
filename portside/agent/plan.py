"""The pod worker's decision core: given the pod's spec and what runs, what to do next. Pure: no engine, no
clock, no API; the worker observes, calls ``decide``, and carries the actions out.

Order follows the kubelet: init containers one at a time, each to a successful exit, before any app
container; then every app container that has no run is started, a running one whose liveness (or startup) probe
failed or whose image was changed is killed, and an ended one restarts as the restart policy says, once its
back-off has passed (a changed one at once).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from portside.agent.backoff import Entry, Policy, effective, restart_at
from portside.agent.model import Run


class Kind(enum.Enum):
    START = "start"
    KILL = "kill"
    WAIT = "wait"  # a restart held back until ``at`` (CrashLoopBackOff)


@dataclass(frozen=True)
class Action:
    kind: Kind
    container: str
    init: bool = False
    at: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class Observed:
    runs: dict[str, Run]  # container name -> newest run
    now: float
    backoff: dict[str, Entry] = field(default_factory=dict)
    unhealthy: frozenset[str] = frozenset()  # running containers whose liveness or startup probe failed
    policy: Policy = Policy()
    images: dict[str, str] = field(default_factory=dict)  # container name -> the image the spec asks for now


def restarts(restart_policy: str, run: Run) -> bool:
    return restart_policy == "Always" or (restart_policy == "OnFailure" and run.exit_code != 0)


def _again(name: str, run: Run, obs: Observed, init: bool) -> Action:
    entry = effective(obs.backoff.get(name, Entry()), run.ran_for(), obs.policy)
    at = restart_at(entry, run.finished())
    if at <= obs.now:
        return Action(Kind.START, name, init)
    return Action(Kind.WAIT, name, init, at=at, reason="CrashLoopBackOff")


def init_actions(names: list[str], restart_policy: str, obs: Observed) -> list[Action] | None:
    """The next init step, [] while one runs or the pod failed, None once every init container succeeded."""
    for name in names:
        run = obs.runs.get(name)
        if run is None:
            return [Action(Kind.START, name, init=True)]
        if run.running:
            return []
        if run.exit_code == 0:
            continue
        return [] if restart_policy == "Never" else [_again(name, run, obs, True)]
    return None


def changed(name: str, run: Run, obs: Observed) -> bool:
    """The spec's image was updated since this run started (the one container field a pod may change)."""
    return name in obs.images and obs.images[name] != run.image


def app_action(name: str, restart_policy: str, obs: Observed) -> Action | None:
    run = obs.runs.get(name)
    if run is None:
        return Action(Kind.START, name)
    if run.running:
        if changed(name, run, obs):
            return Action(Kind.KILL, name, reason="ImageChanged")
        return Action(Kind.KILL, name, reason="Unhealthy") if name in obs.unhealthy else None
    if changed(name, run, obs):
        return Action(Kind.START, name)  # as the kubelet does: a changed container starts whatever the policy
    return _again(name, run, obs, False) if restarts(restart_policy, run) else None


def decide(init: list[str], apps: list[str], restart_policy: str, obs: Observed) -> list[Action]:
    first = init_actions(init, restart_policy, obs)
    if first is not None:
        return first
    actions = (app_action(name, restart_policy, obs) for name in apps)
    return [a for a in actions if a is not None]


def init_failed(init: list[str], restart_policy: str, runs: dict[str, Run]) -> bool:
    """An init container failed for good: the pod is Failed (restartPolicy Never)."""
    return restart_policy == "Never" and any(
        (r := runs.get(n)) is not None and r.ended and r.exit_code != 0 for n in init)
