"""The CronJob's reconcile core, pure, on a clock the caller passes: which scheduled time is due, what to do about it
(start a Job, skip it as too late or because a run is still active, or nothing), when to wake next, which Jobs
have left the active list, and which finished Jobs history no longer keeps. Kubernetes' cronjob controller
(``cronjob_controllerv2.go``, ``utils.go``) is the precedent for every rule.

Only the most recent unmet time is ever run: a controller that was down for three runs starts one Job, not three
(and says so with ``TooManyMissedTimes`` past 100). ``startingDeadlineSeconds`` bounds how late that may be.
A Job's name is the CronJob's and the scheduled time in minutes since the epoch, so the same run is never
created twice, whatever the controller restarts in between.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field

from portside.api import cron
from portside.api.models import CronJob, Job, ObjectMeta, ObjectReference, OwnerReference
from portside.controllers.jobs import finished, status_of
from portside.controllers.pods import seconds

SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
TOO_MANY_MISSED = 100
WAKE_AFTER_S = 0.1  # after the scheduled moment, so that the sync finds it due
# What ``decide`` chose; the controller turns each into writes and an Event.
CREATE, TOO_LATE, ALREADY_ACTIVE, DONE, NOTHING = "create", "too-late", "already-active", "done", "nothing"


def schedule_of(cj: CronJob, local: dt.tzinfo) -> cron.Schedule:
    """The CronJob's schedule in its ``timeZone`` (``local``, the controller's zone, when it names none)."""
    zone = cron.load_zone(cj.spec.time_zone) if cj.spec.time_zone is not None else local
    return cron.parse(cj.spec.schedule or "", zone)


def _time(value: str | None) -> dt.datetime | None:
    stamp = seconds(value)
    return None if stamp is None else dt.datetime.fromtimestamp(stamp, dt.UTC)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Unmet:
    earliest: dt.datetime  # the last scheduled time (or creation), moved up to the starting deadline
    recent: dt.datetime | None  # the most recent scheduled time not after now and after ``earliest``
    missed: int  # roughly how many were passed over; 0 or 1 is the normal case


def most_recent(cj: CronJob, schedule: cron.Schedule, now: dt.datetime, deadline: bool) -> Unmet:
    """Kubernetes' ``mostRecentScheduleTime``: the count of missed times is estimated from the interval between
    the first two, so an hourly CronJob down for years costs a few steps, not thousands."""
    status = cj.status
    earliest = _time(status.last_schedule_time if status else None) or _time(cj.metadata.creation_timestamp) or now
    if deadline and cj.spec.starting_deadline_seconds is not None:
        earliest = max(earliest, now - dt.timedelta(seconds=cj.spec.starting_deadline_seconds))
    first = schedule.next(earliest)
    if first is None or now < first:
        return Unmet(earliest, None, 0)
    second = schedule.next(first)
    if second is None or now < second:
        return Unmet(earliest, first, 1)
    gap = max(1, round((second - first).total_seconds()))
    missed = int((now - first).total_seconds() // gap) + 1
    recent, moment = first, schedule.next(first + dt.timedelta(seconds=(missed - 2) * gap))
    while moment is not None and moment <= now:
        recent, moment = moment, schedule.next(moment)
    return Unmet(earliest, recent, missed)


def wake_in(cj: CronJob, schedule: cron.Schedule, now: dt.datetime) -> float | None:
    """Seconds until the next scheduled time after the most recent one; None when there is none."""
    unmet = most_recent(cj, schedule, now, deadline=False)
    upcoming = schedule.next(unmet.recent or unmet.earliest)
    if upcoming is not None and upcoming <= now:
        upcoming = schedule.next(now)
    return None if upcoming is None else max(0.0, (upcoming - now).total_seconds()) + WAKE_AFTER_S


def job_name(cj: CronJob, scheduled: dt.datetime) -> str:
    return f"{cj.metadata.name}-{int(scheduled.timestamp()) // 60}"


@dataclass(frozen=True)
class Decision:
    action: str = NOTHING
    scheduled: dt.datetime | None = None
    replace: tuple[ObjectReference, ...] = ()  # active Jobs a Replace policy deletes first
    too_many_missed: bool = False


def decide(cj: CronJob, schedule: cron.Schedule, now: dt.datetime) -> Decision:
    """What to do at ``now`` (the CronJob is neither suspended nor being deleted)."""
    unmet = most_recent(cj, schedule, now, deadline=True)
    many, at = unmet.missed > TOO_MANY_MISSED, unmet.recent
    if at is None:
        return Decision(too_many_missed=many)
    deadline = cj.spec.starting_deadline_seconds
    if deadline is not None and at + dt.timedelta(seconds=deadline) < now:
        return Decision(TOO_LATE, at, too_many_missed=many)
    active = (cj.status.active if cj.status else None) or []
    last = _time(cj.status.last_schedule_time if cj.status else None)
    if last == at or any(ref.name == job_name(cj, at) for ref in active):
        return Decision(DONE, at, too_many_missed=many)
    policy = cj.spec.concurrency_policy or "Allow"
    if policy == "Forbid" and active:
        return Decision(ALREADY_ACTIVE, at, too_many_missed=many)
    return Decision(CREATE, at, tuple(active) if policy == "Replace" else (), many)


def job_for(cj: CronJob, scheduled: dt.datetime, zone: dt.tzinfo, owner: OwnerReference) -> Job:
    """The Job of the run at ``scheduled``: the template's labels, annotations and spec, owned by the CronJob."""
    template = cj.spec.job_template
    tmeta = template.metadata or ObjectMeta()
    local = scheduled.astimezone(zone).isoformat().replace("+00:00", "Z")
    meta = ObjectMeta(name=job_name(cj, scheduled), namespace=cj.metadata.namespace,
                      labels=copy.copy(tmeta.labels) or None,
                      annotations={**(tmeta.annotations or {}), SCHEDULED_AT: local}, owner_references=[owner])
    return Job(api_version="batch/v1", kind="Job", metadata=meta, spec=copy.deepcopy(template.spec))


def reference(job: Job) -> ObjectReference:
    m = job.metadata
    return ObjectReference(api_version="batch/v1", kind="Job", namespace=m.namespace, name=m.name, uid=m.uid,
                           resource_version=m.resource_version)


@dataclass
class Children:
    """The CronJob's Jobs against its active list."""

    active: list[ObjectReference] = field(default_factory=list)  # still running, or not yet seen (``missing``)
    ended: list[tuple[Job, str]] = field(default_factory=list)  # left the list: (Job, Complete or Failed)
    unexpected: list[Job] = field(default_factory=list)  # running, ours, never listed (made by hand)
    missing: list[ObjectReference] = field(default_factory=list)  # listed, not among the Jobs seen
    last_successful: str | None = None


def children(cj: CronJob, jobs: list[Job]) -> Children:
    status = cj.status
    listed = {ref.uid: ref for ref in (status.active if status else None) or []}
    out = Children(last_successful=status.last_successful_time if status else None)
    seen = set()
    for job in jobs:
        uid, state = job.metadata.uid, finished(job)
        seen.add(uid)
        if uid in listed and state:
            out.ended.append((job, state))
        elif uid in listed:
            out.active.append(listed[uid])
        elif not state:
            out.unexpected.append(job)
        if state == "Complete":
            done = status_of(job).completion_time
            if done and (out.last_successful is None or seconds(done) > seconds(out.last_successful)):
                out.last_successful = done
    out.missing = [ref for uid, ref in listed.items() if uid not in seen]
    out.active += out.missing
    return out


def _oldest_first(job: Job) -> tuple:
    start = seconds(status_of(job).start_time)
    return start is None, start or 0.0, job.metadata.name or ""


def history_to_delete(cj: CronJob, jobs: list[Job]) -> list[Job]:
    """Finished Jobs beyond ``successfulJobsHistoryLimit`` and ``failedJobsHistoryLimit``, oldest first."""
    out = []
    for state, limit in (("Complete", cj.spec.successful_jobs_history_limit),
                         ("Failed", cj.spec.failed_jobs_history_limit)):
        if limit is None:
            continue
        done = sorted((j for j in jobs if finished(j) == state), key=_oldest_first)
        out += done[:max(0, len(done) - limit)]
    return out
