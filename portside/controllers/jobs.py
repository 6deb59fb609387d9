"""The Job's reconcile core, pure: pod counts, the verdict (running, Complete, or Failed with a reason), how many
pods should be active, and where the Job's dependencies stand.

Dependencies: ``portside.io/depends-on: a,b`` names Jobs of the same namespace. Until all of them are Complete the
Job's pods exist but carry the scheduling gate ``GATE``, which keeps every scheduler from placing them
(Kubernetes' ``schedulingGates``); the gate is lifted once they are, and the Job fails with DependencyFailed as
soon as one of them fails. The API server refuses cycles at admission.
"""

from __future__ import annotations

from dataclasses import dataclass

from portside import api
from portside.controllers import indexed
from portside.controllers.pods import Obj, condition, is_active, is_ready, meta, seconds

GATE = api.DEPENDS_ON
BACKOFF_LIMIT = "BackoffLimitExceeded"
DEADLINE = "DeadlineExceeded"
DEPENDENCY = "DependencyFailed"
FAILURE_BACKOFF_S, MAX_FAILURE_BACKOFF_S = 10.0, 600.0  # Kubernetes' pod failure back-off for Jobs


@dataclass(frozen=True)
class Counts:
    active: tuple[Obj, ...]
    succeeded: int
    failed: int
    ready: int
    last_failure: float | None = None  # when the latest failed pod ended
    completed_indexes: str | None = None  # Indexed Jobs only


@dataclass(frozen=True)
class Verdict:
    kind: str = ""  # "", "Complete" or "Failed"
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class Dependencies:
    failed: str = ""  # the first failed dependency's name
    waiting: tuple[str, ...] = ()

    @property
    def met(self) -> bool:
        return not self.failed and not self.waiting


def finished(job: Obj) -> str:
    """``Complete`` or ``Failed`` once the Job carries that condition as True; "" while it runs."""
    for kind in ("Complete", "Failed"):
        cond = condition(job, kind)
        if cond is not None and cond.get("status") == "True":
            return kind
    return ""


def finish_time(job: Obj) -> float | None:
    cond = condition(job, finished(job)) if finished(job) else None
    return seconds((job.get("status") or {}).get("completionTime") or (cond or {}).get("lastTransitionTime"))


def count(job: Obj, pods: list[Obj]) -> Counts:
    """Counts never go down: a finished pod someone deleted still happened (status keeps the larger number)."""
    status = job.get("status") or {}
    phases = [(p.get("status") or {}).get("phase") for p in pods]
    active = tuple(p for p in pods if is_active(p))
    ended = [_ended_at(p) for p in pods if (p.get("status") or {}).get("phase") == "Failed"]
    succeeded, done = max(status.get("succeeded") or 0, phases.count("Succeeded")), None
    if indexed.is_indexed(job):  # an index succeeds once, however many of its pods did
        indexes = indexed.completed(job, pods)
        succeeded, done = len(indexes), indexed.format_indexes(indexes)
    return Counts(active, succeeded, max(status.get("failed") or 0, phases.count("Failed")),
                  sum(is_ready(p) for p in active), max(ended, default=None), done)


def _ended_at(pod: Obj) -> float:
    """The last container's finish time, else when the pod stopped being Ready, else its creation."""
    status = pod.get("status") or {}
    stamps = [((c.get("state") or {}).get("terminated") or {}).get("finishedAt")
              for c in status.get("containerStatuses") or []]
    stamps.append((condition(pod, "Ready") or {}).get("lastTransitionTime"))
    found = [t for t in map(seconds, stamps) if t is not None]
    return max(found) if found else seconds(meta(pod).get("creationTimestamp")) or 0.0


def backoff_left(counts: Counts, now: float) -> float:
    """Seconds before a failed pod may be replaced: 10 s, doubling with each failure, at most 10 min."""
    if not counts.failed or counts.last_failure is None:
        return 0.0
    delay = min(MAX_FAILURE_BACKOFF_S, FAILURE_BACKOFF_S * 2 ** (counts.failed - 1))
    return max(0.0, counts.last_failure + delay - now)


def restarts(pods: tuple[Obj, ...]) -> int:
    """Container restarts of active pods: with restartPolicy OnFailure, these are the Job's failures."""
    return sum(c.get("restartCount", 0) for p in pods for c in (p.get("status") or {}).get("containerStatuses") or [])


def dependencies(job: Obj, jobs: dict[str, Obj]) -> Dependencies:
    """``jobs`` are the namespace's Jobs by name; one not created yet is waited for."""
    waiting = []
    for name in api.parse_depends_on(meta(job).get("annotations")):
        state = finished(jobs[name]) if name in jobs else ""
        if state == "Failed":
            return Dependencies(failed=name)
        if state != "Complete":
            waiting.append(name)
    return Dependencies(waiting=tuple(waiting))


def verdict(job: Obj, counts: Counts, deps: Dependencies, now: float) -> Verdict:
    spec = job.get("spec") or {}
    completions = spec.get("completions")
    if completions is not None and counts.succeeded >= completions:
        return Verdict("Complete")
    if completions is None and counts.succeeded > 0 and not counts.active:
        return Verdict("Complete")
    if deps.failed:
        return Verdict("Failed", DEPENDENCY, f'dependency Job "{deps.failed}" failed')
    failures = counts.failed + (restarts(counts.active) if _on_failure(job) else 0)
    if failures > spec.get("backoffLimit", 6):
        return Verdict("Failed", BACKOFF_LIMIT, "Job has reached the specified backoff limit")
    left = deadline_in(job, now)
    if left is not None and left <= 0:
        return Verdict("Failed", DEADLINE, "Job was active longer than specified deadline")
    return Verdict()


def _on_failure(job: Obj) -> bool:
    return (((job.get("spec") or {}).get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure"


def deadline_in(job: Obj, now: float) -> float | None:
    """Seconds left before activeDeadlineSeconds, counted from startTime (set once dependencies are met, and
    again on resume); a suspended Job has no deadline running."""
    limit = (job.get("spec") or {}).get("activeDeadlineSeconds")
    start = seconds((job.get("status") or {}).get("startTime"))
    if limit is None or start is None or (job.get("spec") or {}).get("suspend"):
        return None
    return start + limit - now


def suspension(job: Obj, stamp: str) -> Obj | None:
    """The Suspended condition to add when ``spec.suspend`` changed (JobSuspended / JobResumed), else None."""
    want, cond = bool((job.get("spec") or {}).get("suspend")), condition(job, "Suspended")
    now_suspended = cond is not None and cond.get("status") == "True"
    if want == now_suspended or (not want and cond is None):
        return None
    word = "suspended" if want else "resumed"
    return {"type": "Suspended", "status": "True" if want else "False", "reason": f"Job{word.capitalize()}",
            "message": f"Job {word}", "lastProbeTime": stamp, "lastTransitionTime": stamp}


def want_active(job: Obj, counts: Counts) -> int:
    """Parallelism, but never more pods than completions still missing; none once any succeeded without a count."""
    spec = job.get("spec") or {}
    parallelism, completions = spec.get("parallelism", 1), spec.get("completions")
    if spec.get("suspend"):
        return 0
    if completions is None:
        return 0 if counts.succeeded else parallelism
    return max(0, min(parallelism, completions - counts.succeeded))


def gated(pod: Obj) -> bool:
    return any(g.get("name") == GATE for g in (pod.get("spec") or {}).get("schedulingGates") or [])


def with_gate(pod: Obj) -> Obj:
    spec = pod.setdefault("spec", {})
    spec["schedulingGates"] = [*(spec.get("schedulingGates") or []), {"name": GATE}]
    return pod


def dependents(jobs: list[Obj], name: str) -> list[Obj]:
    """Jobs that name ``name`` in their depends-on annotation."""
    return [j for j in jobs if name in api.parse_depends_on(meta(j).get("annotations"))]
