"""The Job controller: runs pods until ``completions`` succeed, ``parallelism`` at a time; fails the Job past
``backoffLimit``, past ``activeDeadlineSeconds``, or when a Job it depends on failed; deletes it
``ttlSecondsAfterFinished`` after it finished. An Indexed Job runs one pod per missing index (``indexed.py``).

A Job's key is worked again when one of its pods changes, and when a Job it depends on changes (that is how a
gate is lifted the moment the last dependency completes). Deadlines and TTLs have no event: timers.
"""

from __future__ import annotations

import asyncio
import dataclasses

from portside import api
from portside.api.models import Job, Pod, WorkloadCondition
from portside.client import NORMAL, WARNING, ApiError, Client, Conflict, EventRecorder, NotFound
from portside.controllers import indexed, jobs, scaling
from portside.controllers.base import Controller
from portside.controllers.expectations import Expectations
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import (
    Written,
    controller_of,
    deletion_rank,
    from_template,
    is_terminating,
    now_s,
    owner_json_patch,
    owner_ref,
    timestamp,
)
from portside.controllers.shared import InformerFactory
from portside.controllers.timers import add_after

PODS = api.lookup("", "v1", "pods")
JOBS = api.lookup("batch", "v1", "jobs")


class JobController(Controller):
    name = "job-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.expectations = Expectations()
        self.written = Written()
        self.events = EventRecorder(client, self.name)
        self.jobs = self.informer(informers.get(JOBS))
        self.jobs_in = ByNamespace(self.jobs)
        self.pods = self.informer(informers.get(PODS))
        self.pods_in = ByNamespace(self.pods)
        self.jobs.on_change(self._job_changed)
        self.pods.on_change(self._pod_changed)

    def _job_changed(self, kind: str, job: Job, prev: Job | None) -> None:
        self.queue.add(cache_key(job))
        for dependent in jobs.dependents(self.jobs_in(job.metadata.namespace or ""), job.metadata.name):
            self.queue.add(cache_key(dependent))

    def _pod_changed(self, kind: str, pod: Pod, prev: Pod | None) -> None:
        ref = controller_of(pod)
        if ref is None or ref.kind != "Job":
            return
        key = f"{pod.metadata.namespace or ''}/{ref.name}"
        if kind == "ADDED":
            self.expectations.observed_add(key)
        elif kind == "DELETED" or is_terminating(pod):
            self.expectations.observed_delete(key, pod.metadata.uid or "")
        self.queue.add(key)

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        job = self.written.fresh(key, self.jobs.get(namespace, name))
        if job is None:
            self.expectations.forget(key)
            return
        if jobs.finished(job):
            await self._expire(job)
            return
        pods = scaling.claim(job, self.pods_in(namespace))
        await self._release(pods.release)
        deps = jobs.Dependencies()  # a started Job keeps going even if a finished dependency is deleted (TTL)
        if not jobs.status_of(job).start_time:
            deps = jobs.dependencies(job, {j.metadata.name: j for j in self.jobs_in(namespace)})
        counts = jobs.count(job, pods.owned)
        outcome = jobs.verdict(job, counts, deps, now_s())
        if outcome.kind:
            await self._finish(job, counts, outcome)
            return
        await self._run(key, job, pods.owned, counts, deps)

    async def _run(self, key: str, job: Job, pods: list[Pod], counts: jobs.Counts, deps: jobs.Dependencies) -> None:
        if deps.met:
            await self._ungate(job, counts.active)
        if self.expectations.satisfied(key):
            await self._converge(key, job, pods, counts, deps)
        await self._write_status(job, counts, await self._start_or_suspend(job, deps))
        left = jobs.deadline_in(job, now_s())
        if left is not None:
            add_after(self.queue, key, max(left, 0) + 0.05)

    async def _start_or_suspend(self, job: Job, deps: jobs.Dependencies) -> dict:
        """startTime once dependencies are met; a suspended Job loses it, a resumed one starts its clock afresh.
        Returns the fields of ``JobStatus`` (by attribute) to change."""
        stamp, status = timestamp(), jobs.status_of(job)
        started = status.start_time or (stamp if deps.met else None)
        change = jobs.suspension(job, stamp)
        if change is not None:
            kept = [c for c in status.conditions or [] if c.type != "Suspended"]
            await self.events.record(job, NORMAL, change.reason.removeprefix("Job"), change.message)
            return {"conditions": kept + [change], "start_time": None if change.status == "True" else stamp}
        return {"start_time": None if jobs.spec_of(job).suspend else started}

    async def _converge(self, key: str, job: Job, pods: list[Pod], counts: jobs.Counts,
                        deps: jobs.Dependencies) -> None:
        gap = jobs.want_active(job, counts) - len(counts.active)
        wait = jobs.backoff_left(counts, now_s()) if gap > 0 else 0.0
        if wait > 0:
            add_after(self.queue, key, wait)  # a failing template is retried slowly, not in a tight loop
        elif gap > 0:
            if not deps.met:
                await self.events.record(job, NORMAL, "WaitingForDependencies",
                                         f"pods held until these Jobs complete: {', '.join(deps.waiting)}")
            await self._create_all(key, job, _bodies(job, pods, gap, deps))
        elif gap < 0:
            extra = sorted(counts.active, key=deletion_rank)[:-gap]
            self.expectations.expect(key, deletes={p.metadata.uid for p in extra})
            await self._delete_pods(job, extra)

    async def _create_all(self, key: str, job: Job, bodies: list[Pod]) -> None:
        self.expectations.expect(key, adds=len(bodies))
        done = 0
        for batch in scaling.slow_start(len(bodies)):
            chunk, done = bodies[done:done + batch], done + batch
            if not all(await asyncio.gather(*(self._create(key, job, body) for body in chunk))):
                for _ in bodies[done:]:
                    self.expectations.observed_add(key)  # never attempted
                raise RuntimeError(f"creating pods for Job {job.metadata.name} failed")

    async def _create(self, key: str, job: Job, body: Pod) -> bool:
        try:
            pod = await self.client.create(PODS, body, job.metadata.namespace)
        except ApiError as exc:
            self.expectations.observed_add(key)
            await self.events.record(job, WARNING, "FailedCreate", f"Error creating: {exc}")
            return False
        await self.events.record(job, NORMAL, "SuccessfulCreate", f"Created pod: {pod.metadata.name}")
        return True

    async def _ungate(self, job: Job, pods: tuple[Pod, ...]) -> None:
        for pod in (p for p in pods if jobs.gated(p)):
            kept = [g for g in pod.spec.scheduling_gates if g.name != jobs.GATE]
            patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": pod.metadata.resource_version},
                     {"op": "replace", "path": "/spec/schedulingGates", "value": kept}]
            await self.client.patch(PODS, pod.metadata.name, patch, pod.metadata.namespace, type="json")

    async def _release(self, pods: list[Pod]) -> None:
        for pod in pods:
            refs = [r for r in pod.metadata.owner_references or [] if not r.controller]
            try:
                await self.client.patch(PODS, pod.metadata.name, owner_json_patch(pod, refs), pod.metadata.namespace,
                                        type="json")
            except (NotFound, Conflict):
                continue

    async def _delete_pods(self, job: Job, pods: list[Pod] | tuple[Pod, ...]) -> None:
        for pod in pods:
            try:
                await self.client.delete(PODS, pod.metadata.name, pod.metadata.namespace, uid=pod.metadata.uid)
            except NotFound:
                continue
            await self.events.record(job, NORMAL, "SuccessfulDelete", f"Deleted pod: {pod.metadata.name}")

    async def _finish(self, job: Job, counts: jobs.Counts, outcome: jobs.Verdict) -> None:
        """Write the final condition first, so a crash after it never runs the Job again; then stop its pods."""
        stamp, status = timestamp(), jobs.status_of(job)
        cond = WorkloadCondition(type=outcome.kind, status="True", last_probe_time=stamp, last_transition_time=stamp,
                                 reason=outcome.reason or None, message=outcome.message or None)
        extra = {"conditions": [*(status.conditions or []), cond], "start_time": status.start_time or stamp,
                 "completion_time": stamp if outcome.kind == "Complete" else status.completion_time}
        await self._write_status(job, dataclasses.replace(counts, active=(), ready=0), extra)
        if outcome.kind == "Complete":
            await self.events.record(job, NORMAL, "Completed", "Job completed")
        else:
            await self.events.record(job, WARNING, outcome.reason, outcome.message)
        await self._delete_pods(job, counts.active)

    async def _expire(self, job: Job) -> None:
        ttl, done = jobs.spec_of(job).ttl_seconds_after_finished, jobs.finish_time(job)
        if ttl is None or done is None:
            return
        left = done + ttl - now_s()
        if left > 0:
            add_after(self.queue, cache_key(job), left + 0.05)
            return
        try:
            await self.client.delete(JOBS, job.metadata.name, job.metadata.namespace, propagation="Background",
                                     uid=job.metadata.uid)
        except NotFound:
            pass

    async def _write_status(self, job: Job, counts: jobs.Counts, extra: dict) -> None:
        """The counts and ``extra`` (JobStatus fields by attribute) over the current status."""
        status = dataclasses.replace(jobs.status_of(job), active=len(counts.active), succeeded=counts.succeeded,
                                     failed=counts.failed, ready=counts.ready, **extra)
        if counts.completed_indexes is not None:
            status.completed_indexes = counts.completed_indexes
        if status == job.status:
            return
        patch = {"status": {**status.to_dict(), "startTime": status.start_time}}  # null: a suspended Job's goes
        try:
            written = await self.client.patch(JOBS, job.metadata.name, patch, job.metadata.namespace,
                                              subresource="status")
        except NotFound:
            return
        self.written.keep(cache_key(written), written)  # a finished Job must not be finished twice


def _bodies(job: Job, pods: list[Pod], count: int, deps: jobs.Dependencies) -> list[Pod]:
    """The next ``count`` pods: held by the dependency gate while dependencies run; one per missing index."""
    body = from_template(job.spec.template, owner_ref(job, JOBS), f"{job.metadata.name}-")
    if not deps.met:
        body = jobs.with_gate(body)
    if indexed.is_indexed(job):
        return [indexed.stamp(body, job.metadata.name, i) for i in indexed.missing(job, pods)[:count]]
    return [body] * count


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await JobController(client).run(ready)
