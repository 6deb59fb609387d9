"""The binder of the running scheduler: decisions become API calls (pods/binding, deletes, status patches).

Calls run as tasks so the scheduling loop never waits on the network: a bind returns None at once (in flight)
and its outcome is reported to the core with ``Scheduler.bind_done``; at most ``max_in_flight`` calls run at a
time. Binds wait their turn in a queue that at most ``max_in_flight`` bind tasks work through in order, rather
than as a task each: the core decides thousands a second, faster than the API server binds, and tens of thousands
of waiting tasks (each a task, a future, a context and a chain of coroutines) made every full collection of the
garbage collector scan them again. A 409 on binding means the pod was bound meanwhile (or is being deleted) and a 404 that it is gone; both
release the reservation, and the pod watch then tells the core the truth.

A pod whose claims wait for their first consumer has its volume choices written first (PreBind): a chosen
volume gets the claim as its ``claimRef`` (pinned to the volume's resourceVersion, so a volume taken meanwhile
fails the bind), a claim to provision gets the node as ``volume.kubernetes.io/selected-node``. The binding does
not wait for the PV controller to finish: the node's agent starts the pod's containers once its claims are
Bound.

A successful bind is announced with a ``Scheduled`` Event ("Successfully assigned NS/NAME to NODE"), as
kube-scheduler's, which ``kubectl describe pod`` lists. Those Events yield to scheduling and binding: they wait in
a bounded queue and one writer sends them while no bind is in flight and no backlog of pods waits to be scheduled
(the service says when one does), so a backlog of thousands of pods is bound first: the API server shares the
process, and each Event costs it a request. As client-go's event broadcaster does, an Event that finds the queue
full is dropped (and counted), never the binding; ``drain`` gives the queued Events a few seconds, then lets them
go.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from portside.api import volumes as vol
from portside.client import NORMAL, WARNING, ApiError, Client, Conflict, EventRecorder, NotFound, pod_reference
from portside.scheduler.model import PodInfo
from portside.scheduler.volumes import Choice, VolumeView

log = logging.getLogger("portside.scheduler")
COMPONENT = "default-scheduler"
MAX_QUEUED_EVENTS = 1000  # client-go's maxQueuedEvents
EVENT_DRAIN_S = 5.0


def stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unschedulable_patch(message: str) -> dict[str, Any]:
    condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                 "lastProbeTime": None, "lastTransitionTime": stamp()}
    return {"status": {"conditions": [condition]}}


class ApiBinder:
    def __init__(self, client: Client, done: Callable[[str, bool], None], max_in_flight: int = 32) -> None:
        self.client = client
        self.done = done
        self.limit = asyncio.Semaphore(max_in_flight)
        self.max_in_flight = max_in_flight
        self.tasks: set[asyncio.Task] = set()
        self.to_bind: collections.deque[tuple[PodInfo, str]] = collections.deque()
        self.bind_workers = 0
        self.reported: dict[str, str] = {}
        self.events = EventRecorder(client, COMPONENT)
        self.binding = 0
        self.backlog = False  # pods wait to be scheduled (``scheduling_backlog``)
        self.idle = asyncio.Event()  # no bind in flight and no backlog: the Events' turn
        self.idle.set()
        self.scheduled: collections.deque[tuple[PodInfo, str]] = collections.deque()
        self.dropped_events = 0
        self.writer: asyncio.Task | None = None
        self.volumes: VolumeView | None = None  # the scheduler's, whose choices PreBind writes

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def bind(self, pod: PodInfo, node: str) -> None:
        """Counted as binding from the moment it is queued, not when its task first runs: a slice of the loop
        queues hundreds at once, and the Events must not slip in before they start."""
        self.binding += 1
        self.idle.clear()
        self.to_bind.append((pod, node))
        if self.bind_workers < self.max_in_flight:
            self.bind_workers += 1
            self._spawn(self._bind_queued())
        return None

    async def _bind_queued(self) -> None:
        """One of the bind tasks: binds from the queue, in order, until it is empty."""
        try:
            while self.to_bind:
                pod, node = self.to_bind.popleft()
                try:
                    await self._bind(pod, node)
                except Exception:  # one pod's failure must not stop the binds queued behind it
                    log.exception("binding %s to %s", pod.key, node)
                finally:
                    self._bind_finished()
        finally:
            self.bind_workers -= 1

    def _bind_finished(self) -> None:
        self.binding -= 1
        if not self.binding and not self.backlog:
            self.idle.set()

    def scheduling_backlog(self, waiting: bool) -> None:
        """The service says whether pods wait to be scheduled: Events wait for them too."""
        self.backlog = waiting
        if waiting:
            self.idle.clear()
        elif not self.binding:
            self.idle.set()

    async def _bind(self, pod: PodInfo, node: str) -> None:
        ok = await self._post_binding(pod, node)
        if ok:
            self.reported.pop(pod.uid, None)
            self._announce(pod, node)
        self.done(pod.uid, ok)

    async def _post_binding(self, pod: PodInfo, node: str) -> bool:
        async with self.limit:
            try:
                for choice in self.volumes.take_choices(pod.uid) if self.volumes is not None else ():
                    await self._write_choice(choice)
                await self.client.bind(pod.namespace, pod.name, node)
            except (Conflict, NotFound) as exc:
                log.info("binding %s to %s refused: %s", pod.key, node, exc)
                return False
            except ApiError as exc:
                log.warning("binding %s to %s failed: %s", pod.key, node, exc)
                return False
        return True

    async def _write_choice(self, choice: Choice) -> None:
        namespace, name = choice.claim.split("/", 1)
        if not choice.volume:
            await self.client.patch("persistentvolumeclaims", name, {"metadata": {"annotations": {
                vol.SELECTED_NODE_ANNOTATION: choice.node}}}, namespace)
            return
        claim, pv = self.volumes.claims[choice.claim], self.volumes.volumes[choice.volume]
        m = claim.metadata
        ref = {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": namespace, "name": name,
               "uid": m.uid, "resourceVersion": m.resource_version}
        await self.client.patch("persistentvolumes", choice.volume, {
            "metadata": {"resourceVersion": pv.metadata.resource_version,
                         "annotations": {vol.BOUND_BY_CONTROLLER_ANNOTATION: "yes"}},
            "spec": {"claimRef": ref}})

    def _announce(self, pod: PodInfo, node: str) -> None:
        """Queue the Scheduled Event; start the writer if it is not running."""
        if len(self.scheduled) >= MAX_QUEUED_EVENTS:
            self.dropped_events += 1
            if self.dropped_events == 1:
                log.warning("Scheduled events queue full (%d): dropping events while pods wait", MAX_QUEUED_EVENTS)
            return
        self.scheduled.append((pod, node))
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._write_scheduled())

    async def _write_scheduled(self) -> None:
        try:
            while self.scheduled:
                await self.idle.wait()  # scheduling and binding first: Events wait for a quiet moment
                pod, node = self.scheduled.popleft()
                await self._call(f"Scheduled event for {pod.key}", self.events.record(
                    pod_reference(pod.namespace, pod.name, pod.uid), NORMAL, "Scheduled",
                    f"Successfully assigned {pod.key} to {node}"))
        finally:
            self.writer = None

    def evict(self, victim: PodInfo, preemptor: PodInfo, node: str) -> None:
        self._spawn(self._call(f"preempting {victim.key} for {preemptor.key}", self.client.delete(
            "pods", victim.name, victim.namespace, grace_seconds=int(victim.termination_grace_s), uid=victim.uid)))

    def nominate(self, pod: PodInfo, node: str) -> None:
        self._spawn(self._call(f"nominating {node} for {pod.key}", self.client.patch(
            "pods", pod.name, {"status": {"nominatedNodeName": node}}, pod.namespace, subresource="status")))

    def refuse(self, pod: PodInfo, message: str) -> None:
        """Condition and Event, once per distinct message: a pod retried on every event must not flood the API."""
        if self.reported.get(pod.uid) == message:
            return
        self.reported[pod.uid] = message
        self._spawn(self._call(f"status of {pod.key}", self.client.patch(
            "pods", pod.name, unschedulable_patch(message), pod.namespace, type="strategic", subresource="status")))
        self._spawn(self._call(f"event for {pod.key}", self.events.record(  # a task of ours: drain waits for it
            pod_reference(pod.namespace, pod.name, pod.uid), WARNING, "FailedScheduling", message)))

    async def _call(self, what: str, call) -> None:
        async with self.limit:
            try:
                await call
            except ApiError as exc:
                log.warning("%s: %s", what, exc)

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        writer = self.writer
        if writer is not None:
            try:
                async with asyncio.timeout(EVENT_DRAIN_S):
                    await asyncio.shield(writer)
            except TimeoutError:
                log.warning("stopping with %d Scheduled events unwritten", len(self.scheduled))
                writer.cancel()
