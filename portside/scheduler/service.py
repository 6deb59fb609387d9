"""The scheduler as a daemon of ``portside up``: watches feed the core, the core's decisions go out as API calls.

Start-up lists nodes, priority classes, storage (classes, volumes, claims) and pods first, then follows each
from the revision its list returned, so the core never schedules against a half-known cluster. Pods are ours
when ``spec.schedulerName`` names one of our profiles, they have no ``nodeName`` and no scheduling gates (the
gate is how a Job waits for the Jobs it depends on). Priority comes from ``spec.priority`` or, when admission left it unset, from the PriorityClass
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

from portside.api.models import (
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    Pod,
    PodSpec,
    PriorityClass,
    StorageClass,
)
from portside.api.timefmt import parse_time
from portside.client import Client
from portside.metrics.instruments import SCHEDULE_ATTEMPTS, SCHEDULING_LATENCY
from portside.scheduler.apibinder import ApiBinder
from portside.scheduler.framework import PV_CHANGE, PVC_CHANGE, SC_CHANGE
from portside.scheduler.model import PodInfo
from portside.scheduler.profile import Profile, builtin_profiles, load_config
from portside.scheduler.scheduler import Scheduler
from portside.scheduler.wire import WireError, node_info, pod_info, pod_placement, typed

log = logging.getLogger("portside.scheduler")
LIST_PAGE = 500  # objects per page of the start-up lists, as client-go's reflector asks for them
IDLE_RECHECK_S = 30.0  # long-parked pods are retried at least this often (see SchedulingQueue.max_parked)
TERMINAL = ("Succeeded", "Failed")


class SchedulerService:
    def __init__(self, client: Client, profiles: dict[str, Profile] | None = None, batch: int = 256) -> None:
        self.client = client.raw  # placement reads wire dicts (wire.py), and needs no answer decoded
        self.binder = ApiBinder(self.client, self._bind_done)
        self.core = Scheduler(self.binder, profiles)
        self.volumes = self.binder.volumes = self.core.nodes.volumes
        self.batch = batch
        self.wake = asyncio.Event()
        self.classes: dict[str, PriorityClass] = {}
        self.seen: dict[str, int] = {}
        self.backlog: list | None = None  # pending pods found by the start-up list, queued as one batch

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def _bind_done(self, uid: str, ok: bool) -> None:
        self.core.bind_done(uid, ok, self.now())
        self.wake.set()

    # --- intake -------------------------------------------------------------------------------------------------
    # Each handler turns what the client hands over into the typed model first (``wire.typed``, a pass-through
    # once the client hands out models) and reads only the model after that.
    def node_event(self, kind: str, obj: dict[str, Any] | Node) -> None:
        try:
            node = typed(Node, obj, "node")
            if kind == "DELETED":
                self.core.remove_node(node.metadata.name, self.now())
                return
            self.core.set_node(node_info(node, f"node {node.metadata.name}"), self.now())
        except WireError as exc:
            log.warning("ignoring node: %s", exc)

    def class_event(self, kind: str, obj: dict[str, Any] | PriorityClass) -> None:
        try:
            cls = typed(PriorityClass, obj, "priorityclass")
        except WireError as exc:
            log.warning("ignoring priority class: %s", exc)
            return
        if kind == "DELETED":
            self.classes.pop(cls.metadata.name, None)
        else:
            self.classes[cls.metadata.name] = cls

    def claim_event(self, kind: str, obj: dict[str, Any] | PersistentVolumeClaim) -> None:
        try:
            claim = typed(PersistentVolumeClaim, obj, "persistentvolumeclaim")
        except WireError as exc:
            log.warning("ignoring claim: %s", exc)
            return
        if kind == "DELETED":
            self.volumes.remove_claim(claim.metadata.namespace, claim.metadata.name)
        else:
            self.volumes.set_claim(claim)
        self.core.volume_event(PVC_CHANGE, self.now())

    def volume_event(self, kind: str, obj: dict[str, Any] | PersistentVolume) -> None:
        try:
            pv = typed(PersistentVolume, obj, "persistentvolume")
        except WireError as exc:
            log.warning("ignoring volume: %s", exc)
            return
        if kind == "DELETED":
            self.volumes.remove_volume(pv.metadata.name)
        else:
            self.volumes.set_volume(pv)
        self.core.volume_event(PV_CHANGE, self.now())

    def storage_class_event(self, kind: str, obj: dict[str, Any] | StorageClass) -> None:
        try:
            sc = typed(StorageClass, obj, "storageclass")
        except WireError as exc:
            log.warning("ignoring storage class: %s", exc)
            return
        if kind == "DELETED":
            self.volumes.remove_class(sc.metadata.name)
        else:
            self.volumes.set_class(sc)
        self.core.volume_event(SC_CHANGE, self.now())

    def _priority(self, spec: PodSpec) -> tuple[int, str]:
        cls = self.classes.get(spec.priority_class_name or "")
        if cls is None and not spec.priority_class_name:
            cls = next((c for c in self.classes.values() if c.global_default), None)
        value = spec.priority
        if value is None:
            value = (cls.value if cls is not None else None) or 0
        policy = spec.preemption_policy or (cls.preemption_policy if cls is not None else None) \
            or "PreemptLowerPriority"
        return int(value), policy

    def pod_event(self, kind: str, obj: dict[str, Any] | Pod) -> None:
        if kind == "MODIFIED" and self._own_binding(obj):
            return
        try:
            pod = typed(Pod, obj, "pod")
        except WireError as exc:
            log.warning("ignoring pod: %s", exc)
            return
        meta, spec = pod.metadata, pod.spec or PodSpec()
        uid, now = meta.uid or f"{meta.namespace}/{meta.name}", self.now()
        phase = pod.status.phase if pod.status is not None else None
        if kind == "DELETED" or phase in TERMINAL:
            self.seen.pop(uid, None)
            self.core.pod_deleted(uid, now)
        elif spec.node_name:
            self.seen.pop(uid, None)
            if self._known_on(uid, spec.node_name):
                return  # our own binding coming back: already counted there
            info = self._info(pod)
            if info is not None:
                self.core.pod_bound(info, spec.node_name, now)
        elif meta.deletion_timestamp or spec.scheduling_gates or not self._ours(spec):
            self.core.queue.delete(uid)
        elif uid not in self.core.in_flight and self._changed(uid, pod):
            info = self._info(pod)
            if info is not None and self.backlog is not None:
                self.backlog.append(info)
            elif info is not None:
                self.core.enqueue(info, now)

    def _own_binding(self, obj: dict[str, Any] | Pod) -> bool:
        """Our own binding coming back (counted when it was made): told by uid, node and phase alone, so the pod
        is not decoded; anything else about a bound pod (its end, say) takes the full path."""
        uid, node, phase = pod_placement(obj)
        if not node or phase in TERMINAL or not self._known_on(uid, node):
            return False
        self.seen.pop(uid, None)
        return True

    def _known_on(self, uid: str, node: str) -> bool:
        entry = self.core.nodes.placed.get(uid)
        return entry is not None and self.core.nodes.names[entry[1]] == node

    def _ours(self, spec: PodSpec) -> bool:
        return (spec.scheduler_name or "default-scheduler") in self.core.profiles

    def _changed(self, uid: str, pod: Pod) -> bool:
        """Whether what placement reads changed; status updates (our own condition patches) do not count.

        The API server moves ``metadata.generation`` on every spec change, so generation and labels say it
        without encoding the spec again (a start-up list can hold tens of thousands of pending pods)."""
        meta = pod.metadata
        fingerprint = hash((meta.generation, frozenset((meta.labels or {}).items())))
        if self.seen.get(uid) == fingerprint:
            return False
        self.seen[uid] = fingerprint
        return True

    def _info(self, pod: Pod) -> PodInfo | None:
        meta = pod.metadata
        created = parse_time(meta.creation_timestamp)
        try:
            info = pod_info(pod, f"pod {meta.namespace}/{meta.name}", created.timestamp() if created else 0.0)
        except WireError as exc:
            log.warning("ignoring pod: %s", exc)
            return None
        info.priority, info.preemption_policy = self._priority(pod.spec or PodSpec())
        return info

    # --- running ------------------------------------------------------------------------------------------------
    async def _list(self, res: str, handler) -> str:
        """Every object as ADDED, a page at a time: the core keeps its own form of each, and a page's wire dicts
        are gone before the next arrives (tens of thousands of pending pods would otherwise be held at once,
        and every full collection of the garbage collector would walk them)."""
        revision = ""
        async for page in self.client.pages(res, limit=LIST_PAGE):
            for obj in page.items:
                handler("ADDED", obj)
            revision = page.resource_version
        return revision

    async def _follow(self, res: str, revision: str, handler) -> None:
        async for event in self.client.watch(res, resource_version=revision):
            handler(event.type, event.object)
            self.wake.set()

    async def run(self, ready: asyncio.Event) -> None:
        revisions = {}
        self.backlog = []
        self.volumes.followed = True
        for res, handler in (("priorityclasses", self.class_event), ("nodes", self.node_event),
                             ("storageclasses", self.storage_class_event), ("persistentvolumes", self.volume_event),
                             ("persistentvolumeclaims", self.claim_event), ("pods", self.pod_event)):
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
                self.binder.scheduling_backlog(True)
                await asyncio.sleep(0)  # let watch events and bind results in between slices
                continue
            self.binder.scheduling_backlog(False)
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
    async with ctx.client("scheduler") as client:
        await SchedulerService(client, profiles).run(ready)
