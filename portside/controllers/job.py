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
from portside.client import NORMAL, WARNING, ApiError, Client, Conflict, EventRecorder, NotFound
from portside.controllers import indexed, jobs, scaling
from portside.controllers.base import Controller
from portside.controllers.expectations import Expectations
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import (
    Obj,
    Written,
    controller_of,
    deletion_rank,
    from_template,
    is_terminating,
    meta,
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

    def _job_changed(self, kind: str, job: Obj, prev: Obj | None) -> None:
        self.queue.add(cache_key(job))
        for dependent in jobs.dependents(self.jobs_in(meta(job).get("namespace", "")), meta(job)["name"]):
            self.queue.add(cache_key(dependent))

    def _pod_changed(self, kind: str, pod: Obj, prev: Obj | None) -> None:
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "Job":
            return
        key = f"{meta(pod).get('namespace', '')}/{ref['name']}"
        if kind == "ADDED":
            self.expectations.observed_add(key)
        elif kind == "DELETED" or is_terminating(pod):
            self.expectations.observed_delete(key, meta(pod).get("uid", ""))
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
        if not (job.get("status") or {}).get("startTime"):
            deps = jobs.dependencies(job, {meta(j)["name"]: j for j in self.jobs_in(namespace)})
        counts = jobs.count(job, pods.owned)
        outcome = jobs.verdict(job, counts, deps, now_s())
        if outcome.kind:
            await self._finish(job, counts, outcome)
            return
        await self._run(key, job, pods.owned, counts, deps)

    async def _run(self, key: str, job: Obj, pods: list[Obj], counts: jobs.Counts, deps: jobs.Dependencies) -> None:
        if deps.met:
            await self._ungate(job, counts.active)
        if self.expectations.satisfied(key):
            await self._converge(key, job, pods, counts, deps)
        await self._write_status(job, counts, await self._start_or_suspend(job, deps))
        left = jobs.deadline_in(job, now_s())
        if left is not None:
            add_after(self.queue, key, max(left, 0) + 0.05)

    async def _start_or_suspend(self, job: Obj, deps: jobs.Dependencies) -> Obj:
        """startTime once dependencies are met; a suspended Job loses it, a resumed one starts its clock afresh."""
        stamp, status = timestamp(), job.get("status") or {}
        started = status.get("startTime") or (stamp if deps.met else None)
        change = jobs.suspension(job, stamp)
        if change is not None:
            kept = [c for c in status.get("conditions") or [] if c.get("type") != "Suspended"]
            await self.events.record(job, NORMAL, change["reason"].removeprefix("Job"), change["message"])
            return {"conditions": kept + [change], "startTime": None if change["status"] == "True" else stamp}
        return {"startTime": None if (job.get("spec") or {}).get("suspend") else started}

    async def _converge(self, key: str, job: Obj, pods: list[Obj], counts: jobs.Counts,
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
            self.expectations.expect(key, deletes={meta(p)["uid"] for p in extra})
            await self._delete_pods(job, extra)

    async def _create_all(self, key: str, job: Obj, bodies: list[Obj]) -> None:
        self.expectations.expect(key, adds=len(bodies))
        done = 0
        for batch in scaling.slow_start(len(bodies)):
            chunk, done = bodies[done:done + batch], done + batch
            if not all(await asyncio.gather(*(self._create(key, job, body) for body in chunk))):
                for _ in bodies[done:]:
                    self.expectations.observed_add(key)  # never attempted
                raise RuntimeError(f"creating pods for Job {meta(job)['name']} failed")

    async def _create(self, key: str, job: Obj, body: Obj) -> bool:
        try:
            pod = await self.client.create(PODS, body, meta(job)["namespace"])
        except ApiError as exc:
            self.expectations.observed_add(key)
            await self.events.record(job, WARNING, "FailedCreate", f"Error creating: {exc}")
            return False
        await self.events.record(job, NORMAL, "SuccessfulCreate", f"Created pod: {meta(pod)['name']}")
        return True

    async def _ungate(self, job: Obj, pods: tuple[Obj, ...]) -> None:
        for pod in (p for p in pods if jobs.gated(p)):
            kept = [g for g in pod["spec"]["schedulingGates"] if g.get("name") != jobs.GATE]
            patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": meta(pod)["resourceVersion"]},
                     {"op": "replace", "path": "/spec/schedulingGates", "value": kept}]
            await self.client.patch(PODS, meta(pod)["name"], patch, meta(pod)["namespace"], type="json")

    async def _release(self, pods: list[Obj]) -> None:
        for pod in pods:
            refs = [r for r in meta(pod).get("ownerReferences") or [] if not r.get("controller")]
            try:
                await self.client.patch(PODS, meta(pod)["name"], owner_json_patch(pod, refs), meta(pod)["namespace"],
                                        type="json")
            except (NotFound, Conflict):
                continue

    async def _delete_pods(self, job: Obj, pods: list[Obj] | tuple[Obj, ...]) -> None:
        for pod in pods:
            try:
                await self.client.delete(PODS, meta(pod)["name"], meta(pod)["namespace"], uid=meta(pod)["uid"])
            except NotFound:
                continue
            await self.events.record(job, NORMAL, "SuccessfulDelete", f"Deleted pod: {meta(pod)['name']}")

    async def _finish(self, job: Obj, counts: jobs.Counts, outcome: jobs.Verdict) -> None:
        """Write the final condition first, so a crash after it never runs the Job again; then stop its pods."""
        stamp = timestamp()
        cond = {"type": outcome.kind, "status": "True", "lastProbeTime": stamp, "lastTransitionTime": stamp}
        cond.update({k: v for k, v in (("reason", outcome.reason), ("message", outcome.message)) if v})
        extra = {"conditions": [*((job.get("status") or {}).get("conditions") or []), cond]}
        if outcome.kind == "Complete":
            extra["completionTime"] = stamp
        extra["startTime"] = (job.get("status") or {}).get("startTime") or stamp
        await self._write_status(job, dataclasses.replace(counts, active=(), ready=0), extra)
        if outcome.kind == "Complete":
            await self.events.record(job, NORMAL, "Completed", "Job completed")
        else:
            await self.events.record(job, WARNING, outcome.reason, outcome.message)
        await self._delete_pods(job, counts.active)

    async def _expire(self, job: Obj) -> None:
        ttl, done = (job.get("spec") or {}).get("ttlSecondsAfterFinished"), jobs.finish_time(job)
        if ttl is None or done is None:
            return
        left = done + ttl - now_s()
        if left > 0:
            add_after(self.queue, cache_key(job), left + 0.05)
            return
        try:
            await self.client.delete(JOBS, meta(job)["name"], meta(job)["namespace"], propagation="Background",
                                     uid=meta(job)["uid"])
        except NotFound:
            pass

    async def _write_status(self, job: Obj, counts: jobs.Counts, extra: Obj) -> None:
        status = {**(job.get("status") or {}), "active": len(counts.active), "succeeded": counts.succeeded,
                  "failed": counts.failed, "ready": counts.ready, **extra}
        if counts.completed_indexes is not None:
            status["completedIndexes"] = counts.completed_indexes
        if {k: v for k, v in status.items() if v is not None} == job.get("status"):
            return
        try:
            written = await self.client.patch(JOBS, meta(job)["name"], {"status": status}, meta(job)["namespace"],
                                              subresource="status")
        except NotFound:
            return
        self.written.keep(cache_key(written), written)  # a finished Job must not be finished twice


def _bodies(job: Obj, pods: list[Obj], count: int, deps: jobs.Dependencies) -> list[Obj]:
    """The next ``count`` pods: held by the dependency gate while dependencies run; one per missing index."""
    body = from_template(job["spec"]["template"], owner_ref(job, JOBS), f"{meta(job)['name']}-")
    if not deps.met:
        body = jobs.with_gate(body)
    if indexed.is_indexed(job):
        return [indexed.stamp(body, meta(job)["name"], i) for i in indexed.missing(job, pods)[:count]]
    return [body] * count


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await JobController(client).run(ready)
