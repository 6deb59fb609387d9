"""The scheduler as a daemon of ``portside up``: watches feed the core, the core's decisions go out as API calls.

Start-up lists nodes, priority classes and pods first, then follows each from the revision its list returned,
so the core never schedules against a half-known cluster. Pods are ours when ``spec.schedulerName`` names one
of our profiles, they have no ``nodeName`` and no scheduling gates (the gate is how a Job waits for the Jobs it
depends on). Priority comes from ``spec.priority`` or, when admission left it unset, from the PriorityClass
named by ``priorityClassName`` or the class marked ``globalDefault``.

The loop runs the core in slices of ``batch`` pods and yields between slices, so watch events are taken in
while a large backlog is scheduled; when idle it waits for an event or for the next back-off expiry, never
polling.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from portside.api.timefmt import parse_time
from portside.client import Client
from portside.metrics.instruments import SCHEDULE_ATTEMPTS, SCHEDULING_LATENCY
from portside.scheduler.apibinder import ApiBinder
from portside.scheduler.profile import Profile, builtin_profiles, load_config
from portside.scheduler.scheduler import Scheduler
from portside.scheduler.wire import WireError, node_from_wire, pod_from_wire

log = logging.getLogger("portside.scheduler")
IDLE_RECHECK_S = 30.0  # long-parked pods are retried at least this often (see SchedulingQueue.max_parked)
TERMINAL = ("Succeeded", "Failed")


class SchedulerService:
    def __init__(self, client: Client, profiles: dict[str, Profile] | None = None, batch: int = 256) -> None:
        self.client = client.raw  # placement reads wire dicts (wire.py), and needs no answer decoded
        self.binder = ApiBinder(self.client, self._bind_done)
        self.core = Scheduler(self.binder, profiles)
        self.batch = batch
        self.wake = asyncio.Event()
        self.classes: dict[str, dict[str, Any]] = {}
        self.seen: dict[str, int] = {}
        self.backlog: list | None = None  # pending pods found by the start-up list, queued as one batch

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def _bind_done(self, uid: str, ok: bool) -> None:
        self.core.bind_done(uid, ok, self.now())
        self.wake.set()

    # --- intake -------------------------------------------------------------------------------------------------
    def node_event(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED":
            self.core.remove_node(obj["metadata"]["name"], self.now())
            return
        try:
            self.core.set_node(node_from_wire(obj, f"node {obj['metadata'].get('name')}"), self.now())
        except WireError as exc:
            log.warning("ignoring node: %s", exc)

    def class_event(self, kind: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if kind == "DELETED":
            self.classes.pop(name, None)
        else:
            self.classes[name] = obj

    def _priority(self, spec: dict[str, Any]) -> tuple[int, str]:
        cls = self.classes.get(spec.get("priorityClassName") or "")
        if cls is None and not spec.get("priorityClassName"):
            cls = next((c for c in self.classes.values() if c.get("globalDefault")), None)
        value = spec.get("priority")
        if value is None:
            value = (cls or {}).get("value", 0)
        policy = spec.get("preemptionPolicy") or (cls or {}).get("preemptionPolicy") or "PreemptLowerPriority"
        return int(value), policy

    def pod_event(self, kind: str, obj: dict[str, Any]) -> None:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        uid, now = meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}", self.now()
        phase = (obj.get("status") or {}).get("phase")
        if kind == "DELETED" or phase in TERMINAL:
            self.seen.pop(uid, None)
            self.core.pod_deleted(uid, now)
        elif spec.get("nodeName"):
            self.seen.pop(uid, None)
            if self._known_on(uid, spec["nodeName"]):
                return  # our own binding coming back: already counted there
            pod = self._info(obj)
            if pod is not None:
                self.core.pod_bound(pod, spec["nodeName"], now)
        elif meta.get("deletionTimestamp") or spec.get("schedulingGates") or not self._ours(spec):
            self.core.queue.delete(uid)
        elif uid not in self.core.in_flight and self._changed(uid, obj):
            pod = self._info(obj)
            if pod is not None and self.backlog is not None:
                self.backlog.append(pod)
            elif pod is not None:
                self.core.enqueue(pod, now)

    def _known_on(self, uid: str, node: str) -> bool:
        entry = self.core.nodes.placed.get(uid)
        return entry is not None and self.core.nodes.names[entry[1]] == node

    def _ours(self, spec: dict[str, Any]) -> bool:
        return (spec.get("schedulerName") or "default-scheduler") in self.core.profiles

    def _changed(self, uid: str, obj: dict[str, Any]) -> bool:
        """Whether what placement reads changed; status updates (our own condition patches) do not count.

        The API server moves ``metadata.generation`` on every spec change, so generation and labels say it
        without encoding the spec again (a start-up list can hold tens of thousands of pending pods)."""
        meta = obj["metadata"]
        fingerprint = hash((meta.get("generation"), frozenset((meta.get("labels") or {}).items())))
        if self.seen.get(uid) == fingerprint:
            return False
        self.seen[uid] = fingerprint
        return True

    def _info(self, obj: dict[str, Any]):
        meta = obj["metadata"]
        created = parse_time(meta.get("creationTimestamp"))
        try:
            pod = pod_from_wire(obj, f"pod {meta.get('namespace')}/{meta.get('name')}",
                                created.timestamp() if created else 0.0)
        except WireError as exc:
            log.warning("ignoring pod: %s", exc)
            return None
        pod.priority, pod.preemption_policy = self._priority(obj.get("spec") or {})
        return pod

    # --- running ------------------------------------------------------------------------------------------------
    async def _list(self, res: str, handler) -> str:
        listed = await self.client.list(res)
        for obj in listed.items:
            handler("ADDED", obj)
        return listed.resource_version

    async def _follow(self, res: str, revision: str, handler) -> None:
        async for event in self.client.watch(res, resource_version=revision):
            handler(event.type, event.object)
            self.wake.set()

    async def run(self, ready: asyncio.Event) -> None:
        revisions = {}
        self.backlog = []
        for res, handler in (("priorityclasses", self.class_event), ("nodes", self.node_event),
                             ("pods", self.pod_event)):
            revisions[res] = (await self._list(res, handler), handler)
        self.core.enqueue_batch(self.backlog, self.now())
        self.backlog = None
        try:
            async with asyncio.TaskGroup() as group:
                for res, (revision, handler) in revisions.items():
                    group.create_task(self._follow(res, revision, handler), name=f"scheduler-watch-{res}")
                ready.set()
                await self._loop()
        finally:
            await self.binder.drain()

    async def _loop(self) -> None:
        while True:
            self.wake.clear()
            now, started = self.now(), time.monotonic()
            attempts = self.core.run(now, limit=self.batch)
            if attempts:
                SCHEDULE_ATTEMPTS.inc(attempts)
                SCHEDULING_LATENCY.observe((time.monotonic() - started) / attempts)
            if attempts == self.batch:
                await asyncio.sleep(0)  # let watch events and bind results in between slices
                continue
            wake_at = self.core.queue.next_wakeup()
            timeout = IDLE_RECHECK_S if wake_at is None else min(IDLE_RECHECK_S, max(0.0, wake_at - now))
            try:
                async with asyncio.timeout(timeout):
                    await self.wake.wait()
            except TimeoutError:
                self.core.queue.flush_parked(self.now())


CONFIG_FILE = "scheduler.yaml"


def profiles_for(data_dir: str) -> dict[str, Profile]:
    """The shipped profiles, plus those of ``DATA_DIR/scheduler.yaml`` (a KubeSchedulerConfiguration) if present;
    a bad file stops start-up with the field it got wrong (ProfileError)."""
    profiles = builtin_profiles()
    path = Path(data_dir) / CONFIG_FILE
    if path.is_file():
        profiles.update(load_config(path.read_text(), str(path)))
    return profiles


async def run_component(ctx, ready: asyncio.Event) -> None:
    """The entry ``portside up``'s supervisor calls: ``Component("scheduler", run_component, needs=("apiserver",))``."""
    profiles = profiles_for(ctx.server.data_dir)
    async with ctx.client() as client:
        await SchedulerService(client, profiles).run(ready)
