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
from portside.api.models import Job, JobSpec, JobStatus, Pod, PodSchedulingGate, WorkloadCondition
from portside.controllers import indexed
from portside.controllers.pods import condition, container_statuses, is_active, is_ready, phase, seconds

GATE = api.DEPENDS_ON
BACKOFF_LIMIT = "BackoffLimitExceeded"
DEADLINE = "DeadlineExceeded"
DEPENDENCY = "DependencyFailed"
FAILURE_BACKOFF_S, MAX_FAILURE_BACKOFF_S = 10.0, 600.0  # Kubernetes' pod failure back-off for Jobs


@dataclass(frozen=True)
class Counts:
    active: tuple[Pod, ...]
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


def status_of(job: Job) -> JobStatus:
    return job.status or JobStatus()


def spec_of(job: Job) -> JobSpec:
    return job.spec or JobSpec()


def finished(job: Job) -> str:
    """``Complete`` or ``Failed`` once the Job carries that condition as True; "" while it runs."""
    for kind in ("Complete", "Failed"):
        cond = condition(job, kind)
        if cond is not None and cond.status == "True":
            return kind
    return ""


def finish_time(job: Job) -> float | None:
    cond = condition(job, finished(job)) if finished(job) else None
    return seconds(status_of(job).completion_time or (cond.last_transition_time if cond else None))


def count(job: Job, pods: list[Pod]) -> Counts:
    """Counts never go down: a finished pod someone deleted still happened (status keeps the larger number)."""
    status = status_of(job)
    phases = [phase(p) for p in pods]
    active = tuple(p for p in pods if is_active(p))
    ended = [_ended_at(p) for p in pods if phase(p) == "Failed"]
    succeeded, done = max(status.succeeded or 0, phases.count("Succeeded")), None
    if indexed.is_indexed(job):  # an index succeeds once, however many of its pods did
        indexes = indexed.completed(job, pods)
        succeeded, done = len(indexes), indexed.format_indexes(indexes)
    return Counts(active, succeeded, max(status.failed or 0, phases.count("Failed")),
                  sum(is_ready(p) for p in active), max(ended, default=None), done)


def _ended_at(pod: Pod) -> float:
    """The last container's finish time, else when the pod stopped being Ready, else its creation."""
    stamps = [c.state.terminated.finished_at for c in container_statuses(pod)
              if c.state and c.state.terminated]
    ready = condition(pod, "Ready")
    stamps.append(ready.last_transition_time if ready else None)
    found = [t for t in map(seconds, stamps) if t is not None]
    return max(found) if found else seconds(pod.metadata.creation_timestamp) or 0.0


def backoff_left(counts: Counts, now: float) -> float:
    """Seconds before a failed pod may be replaced: 10 s, doubling with each failure, at most 10 min."""
    if not counts.failed or counts.last_failure is None:
        return 0.0
    delay = min(MAX_FAILURE_BACKOFF_S, FAILURE_BACKOFF_S * 2 ** (counts.failed - 1))
    return max(0.0, counts.last_failure + delay - now)


def restarts(pods: tuple[Pod, ...]) -> int:
    """Container restarts of active pods: with restartPolicy OnFailure, these are the Job's failures."""
    return sum(c.restart_count or 0 for p in pods for c in container_statuses(p))


def dependencies(job: Job, jobs: dict[str, Job]) -> Dependencies:
    """``jobs`` are the namespace's Jobs by name; one not created yet is waited for."""
    waiting = []
    for name in api.parse_depends_on(job.metadata.annotations):
        state = finished(jobs[name]) if name in jobs else ""
        if state == "Failed":
            return Dependencies(failed=name)
        if state != "Complete":
            waiting.append(name)
    return Dependencies(waiting=tuple(waiting))


def verdict(job: Job, counts: Counts, deps: Dependencies, now: float) -> Verdict:
    spec = spec_of(job)
    completions = spec.completions
    if completions is not None and counts.succeeded >= completions:
        return Verdict("Complete")
    if completions is None and counts.succeeded > 0 and not counts.active:
        return Verdict("Complete")
    if deps.failed:
        return Verdict("Failed", DEPENDENCY, f'dependency Job "{deps.failed}" failed')
    failures = counts.failed + (restarts(counts.active) if _on_failure(job) else 0)
    if failures > (6 if spec.backoff_limit is None else spec.backoff_limit):
        return Verdict("Failed", BACKOFF_LIMIT, "Job has reached the specified backoff limit")
    left = deadline_in(job, now)
    if left is not None and left <= 0:
        return Verdict("Failed", DEADLINE, "Job was active longer than specified deadline")
    return Verdict()


def _on_failure(job: Job) -> bool:
    template = spec_of(job).template
    return template is not None and template.spec is not None and template.spec.restart_policy == "OnFailure"


def deadline_in(job: Job, now: float) -> float | None:
    """Seconds left before activeDeadlineSeconds, counted from startTime (set once dependencies are met, and
    again on resume); a suspended Job has no deadline running."""
    limit = spec_of(job).active_deadline_seconds
    start = seconds(status_of(job).start_time)
    if limit is None or start is None or spec_of(job).suspend:
        return None
    return start + limit - now


def suspension(job: Job, stamp: str) -> WorkloadCondition | None:
    """The Suspended condition to add when ``spec.suspend`` changed (JobSuspended / JobResumed), else None."""
    want, cond = bool(spec_of(job).suspend), condition(job, "Suspended")
    now_suspended = cond is not None and cond.status == "True"
    if want == now_suspended or (not want and cond is None):
        return None
    word = "suspended" if want else "resumed"
    return WorkloadCondition(type="Suspended", status="True" if want else "False",
                             reason=f"Job{word.capitalize()}", message=f"Job {word}", last_probe_time=stamp,
                             last_transition_time=stamp)


def want_active(job: Job, counts: Counts) -> int:
    """Parallelism, but never more pods than completions still missing; none once any succeeded without a count."""
    spec = spec_of(job)
    parallelism = 1 if spec.parallelism is None else spec.parallelism
    if spec.suspend:
        return 0
    if spec.completions is None:
        return 0 if counts.succeeded else parallelism
    return max(0, min(parallelism, spec.completions - counts.succeeded))


def gated(pod: Pod) -> bool:
    return any(g.name == GATE for g in pod.spec.scheduling_gates or [])


def with_gate(pod: Pod) -> Pod:
    """``pod`` held by the dependency gate (changed in place, and returned)."""
    pod.spec.scheduling_gates = [*(pod.spec.scheduling_gates or []), PodSchedulingGate(name=GATE)]
    return pod


def dependents(jobs: list[Job], name: str) -> list[Job]:
    """Jobs that name ``name`` in their depends-on annotation."""
    return [j for j in jobs if name in api.parse_depends_on(j.metadata.annotations)]
