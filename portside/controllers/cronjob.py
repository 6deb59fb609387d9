"""The CronJob controller: creates a Job from ``jobTemplate`` at each scheduled time, keeps ``status.active``,
``lastScheduleTime`` and ``lastSuccessfulTime``, and deletes finished Jobs beyond the history limits.

A CronJob is worked when it or one of its Jobs changes, and at its next scheduled time: each sync sets one timer
for that moment (``Wakeups``), so the controller sleeps between runs instead of polling. The decisions are in
``cronjobs.py``, on the clock this controller reads once per sync; here are the reads, the writes and the Events
``kubectl describe cronjob`` shows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from portside import api
from portside.api import cron
from portside.api.models import CronJob, CronJobStatus, Job, ObjectReference
from portside.client import NORMAL, WARNING, AlreadyExists, ApiError, Client, EventRecorder, NotFound
from portside.controllers import cronjobs
from portside.controllers.base import Controller
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import Written, controller_of, is_terminating, owned_by, owner_ref
from portside.controllers.shared import InformerFactory
from portside.controllers.timers import Wakeups

JOBS = api.lookup("batch", "v1", "jobs")
CRONJOBS = api.lookup("batch", "v1", "cronjobs")


class CronJobController(Controller):
    name = "cronjob-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.events = EventRecorder(client, self.name)
        self.written = Written()
        self.wakeups = Wakeups(self.queue)
        self.zone = cron.local_zone()
        self.cronjobs = self.informer(informers.get(CRONJOBS))
        self.jobs = self.informer(informers.get(JOBS))
        self.jobs_in = ByNamespace(self.jobs)
        self.cronjobs.on_change(lambda kind, obj, prev: self.queue.add(cache_key(obj)))
        self.jobs.on_change(self._job_changed)

    def _job_changed(self, kind: str, job: Job, prev: Job | None) -> None:
        for obj in (job, prev):
            ref = controller_of(obj) if obj is not None else None
            if ref is not None and ref.kind == "CronJob":
                self.queue.add(f"{job.metadata.namespace or ''}/{ref.name}")

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        cj = self.written.fresh(key, self.cronjobs.get(namespace, name))
        if cj is None:
            self.wakeups.cancel(key)
            return
        jobs = [j for j in self.jobs_in(namespace) if owned_by(j, cj)]
        kids = await self._children(cj, jobs)
        status = {"active": kids.active, "lastSuccessfulTime": kids.last_successful}
        if not is_terminating(cj):
            await self._schedule(key, cj, status)
        await self._trim_history(cj, jobs, status)
        await self._write_status(cj, status)

    async def _children(self, cj: CronJob, jobs: list[Job]) -> cronjobs.Children:
        kids = cronjobs.children(cj, jobs)
        for job, state in kids.ended:
            await self.events.record(cj, NORMAL, "SawCompletedJob",
                                     f"Saw completed job: {job.metadata.name}, condition: {state}")
        for job in kids.unexpected:
            await self.events.record(cj, WARNING, "UnexpectedJob",
                                     f"Saw a job that the controller did not create or forgot: {job.metadata.name}")
        for ref in kids.missing:  # the cache may just lag behind our own create: ask the API
            try:
                await self.client.get(JOBS, ref.name, ref.namespace)
            except NotFound:
                kids.active.remove(ref)
                await self.events.record(cj, NORMAL, "MissingJob", f"Active job went missing: {ref.name}")
        return kids

    async def _schedule(self, key: str, cj: CronJob, status: dict) -> None:
        """Start the due run, if any, and set the timer for the next one; a bad zone or schedule (possible only
        for objects stored before the rules that refuse them) gets an Event and no timer."""
        try:
            zone = cron.load_zone(cj.spec.time_zone) if cj.spec.time_zone is not None else self.zone
            schedule = cron.parse(cj.spec.schedule or "", zone)
        except cron.ScheduleError as exc:
            reason = "UnknownTimeZone" if cj.spec.time_zone and "zone" in str(exc) else "UnparseableSchedule"
            await self.events.record(cj, WARNING, reason, f"unparseable schedule: {cj.spec.schedule!r}: {exc}")
            return
        if cj.spec.suspend:
            self.wakeups.cancel(key)
            return
        now = self.now()
        current = _with_status(cj, status)
        decision = cronjobs.decide(current, schedule, now)
        if decision.too_many_missed:
            await self.events.record(cj, WARNING, "TooManyMissedTimes", "too many missed start times. Set or "
                                     "decrease .spec.startingDeadlineSeconds or check clock skew")
        await self._act(cj, decision, zone, status)
        wait = cronjobs.wake_in(_with_status(cj, status), schedule, now)
        if wait is not None:
            self.wakeups.at(key, wait)

    async def _act(self, cj: CronJob, decision: cronjobs.Decision, zone: dt.tzinfo, status: dict) -> None:
        at = decision.scheduled
        if decision.action == cronjobs.TOO_LATE:
            await self.events.record(cj, WARNING, "MissSchedule", "Missed scheduled time to start a job: "
                                     f"{at.strftime('%a, %d %b %Y %H:%M:%S +0000')}")
        elif decision.action == cronjobs.ALREADY_ACTIVE:
            await self.events.record(cj, NORMAL, "JobAlreadyActive", "Not starting job because prior execution "
                                     "is running and concurrency policy is Forbid")
        elif decision.action == cronjobs.CREATE:
            for ref in decision.replace:
                await self._delete_job(cj, ref, status)
            job = await self._create(cj, cronjobs.job_for(cj, at, zone, owner_ref(cj, CRONJOBS)))
            if job is not None:
                if all(ref.uid != job.metadata.uid for ref in status["active"]):
                    status["active"] = [*status["active"], cronjobs.reference(job)]
                status["lastScheduleTime"] = cronjobs.format_time(at)

    async def _create(self, cj: CronJob, body: Job) -> Job | None:
        """The Job of this run: made now, or made before by this controller (a restart between the create and
        the status write); None when someone else made a Job of that name."""
        try:
            job = await self.client.create(JOBS, body, cj.metadata.namespace)
        except AlreadyExists:
            job = await self.client.get(JOBS, body.metadata.name, cj.metadata.namespace)
            return job if owned_by(job, cj) else None
        except ApiError as exc:
            await self.events.record(cj, WARNING, "FailedCreate", f"Error creating job: {exc}")
            raise
        await self.events.record(cj, NORMAL, "SuccessfulCreate", f"Created job {job.metadata.name}")
        return job

    async def _delete_job(self, cj: CronJob, ref: ObjectReference, status: dict) -> None:
        try:
            await self.client.delete(JOBS, ref.name, ref.namespace, propagation="Background", uid=ref.uid or "")
        except NotFound:
            pass
        except ApiError as exc:
            await self.events.record(cj, WARNING, "FailedDelete", f"Deleted job: {exc}")
            raise
        status["active"] = [r for r in status["active"] if r.uid != ref.uid]
        await self.events.record(cj, NORMAL, "SuccessfulDelete", f"Deleted job {ref.name}")

    async def _trim_history(self, cj: CronJob, jobs: list[Job], status: dict) -> None:
        for job in cronjobs.history_to_delete(cj, jobs):
            await self._delete_job(cj, cronjobs.reference(job), status)

    async def _write_status(self, cj: CronJob, status: dict) -> None:
        """Only what changed; an empty active list is sent as null, which removes it (as Kubernetes omits it)."""
        current = cj.status.to_dict() if cj.status else {}
        wanted = {"active": [r.to_dict() for r in status["active"]] or None,
                  "lastScheduleTime": status.get("lastScheduleTime") or current.get("lastScheduleTime"),
                  "lastSuccessfulTime": status.get("lastSuccessfulTime")}
        patch = {k: v for k, v in wanted.items() if current.get(k) != v}
        if not patch:
            return
        try:
            written = await self.client.patch(CRONJOBS, cj.metadata.name, {"status": patch}, cj.metadata.namespace,
                                              subresource="status")
        except NotFound:
            return
        self.written.keep(cache_key(written), written)


def _with_status(cj: CronJob, status: dict) -> CronJob:
    """``cj`` as this sync has changed it so far (active list, last schedule), for the decisions that follow."""
    current = cj.status or CronJobStatus()
    last = status.get("lastScheduleTime") or current.last_schedule_time
    return dataclasses.replace(cj, status=dataclasses.replace(current, active=status["active"] or None,
                                                             last_schedule_time=last))


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await CronJobController(client).run(ready)
