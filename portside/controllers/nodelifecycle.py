"""The node lifecycle controller: nodes that stop renewing their Lease become NotReady and tainted, and their pods
leave (Kubernetes' node lifecycle controller and its NoExecute taint manager, in one component).

Theory of operation. Three informers (Nodes, the Leases of ``kube-node-lease``, Pods) feed one work queue with
two kinds of key, ``node:NAME`` and ``pod:NS/NAME``; a monitor pass every ``period`` seconds (a second by
default: what no event marks is a Lease that was *not* renewed) works out the cluster's disruption state and
queues every node whose conditions or taints are not what they should be. The decisions are the pure functions
of ``nodehealth`` (conditions, taints, disruption, the token bucket) and ``noexecute`` (when a pod must go).

- ``node:`` sync: a node unheard of for ``grace`` seconds gets Ready=Unknown, and its pods Ready=False at once
  (Kubernetes' MarkPodsNotReady), so that the Endpoints controller drops them from every Service before any
  eviction; then the lifecycle taints (NoSchedule at once, NoExecute when the rate limiter hands out a token).
  A node Ready again loses them; only the node's agent sets Ready=True, by posting its status.
- ``pod:`` sync: a pod on a node with NoExecute taints is evicted when ``noexecute.eviction_time`` says, else
  looked at again then. Eviction is a delete with an Event (``TaintManagerEviction``). On a node whose Ready is
  Unknown nobody is left to stop the containers and remove the object, so the delete has grace 0: the object
  goes at once and its controller replaces it (Kubernetes leaves it Terminating until its pod garbage collector
  or the node's return finishes it). The agent, when it comes back, stops the containers of pods that are gone.
  Pods that already finished (Succeeded, Failed) are left alone: they run nothing, and a Job counts them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from dataclasses import dataclass

from portside import api
from portside.api.models import Node, NodeSpec, Pod, PodCondition, Taint
from portside.client import Client, EventRecorder, NotFound
from portside.controllers import nodehealth as health
from portside.controllers.base import Controller
from portside.controllers.informer import Informer, cache_key
from portside.controllers.noexecute import eviction_time
from portside.controllers.pods import is_ready, timestamp
from portside.controllers.timers import add_after

log = logging.getLogger("portside.controllers.nodelifecycle")
NODES = api.lookup("", "v1", "nodes")
PODS = api.lookup("", "v1", "pods")
LEASES = api.lookup("coordination.k8s.io", "v1", "leases")
LEASE_NAMESPACE = "kube-node-lease"
DEFAULT_GRACE_S = 5.0
DEFAULT_EVICTION_RATE = 1.0  # nodes a second; Kubernetes' 0.1 would hold a second lost node back 10 s
TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True)
class Settings:
    grace: float = DEFAULT_GRACE_S  # --node-monitor-grace
    eviction_rate: float = DEFAULT_EVICTION_RATE  # --node-eviction-rate
    period: float = 0.0  # the monitor pass; 0: a fifth of the grace, at most a second

    @property
    def monitor_every(self) -> float:
        return self.period or min(1.0, self.grace / 5)


def taints_of(node: Node) -> list[Taint]:
    return (node.spec.taints if node.spec else None) or []


class NodeLifecycleController(Controller):
    name = "node-lifecycle-controller"

    def __init__(self, client: Client, settings: Settings = Settings()) -> None:
        super().__init__(client)
        self.settings = settings
        self.nodes = self.informer(Informer(client, NODES))
        self.leases = self.informer(Informer(client, LEASES, LEASE_NAMESPACE))
        self.pods = self.informer(Informer(client, PODS))
        self.heard: dict[str, tuple[str | None, float]] = {}  # node -> (lease renewTime, monotonic when seen)
        self.on_node: dict[str, set[str]] = {}  # node -> keys of its pods
        self.bucket = health.TokenBucket(settings.eviction_rate)
        self.state = health.Disruption.NORMAL
        self.events = EventRecorder(client, "node-controller")
        self.nodes.on_change(self._node_changed)
        self.leases.on_change(self._lease_changed)
        self.pods.on_change(self._pod_changed)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(super().run(ready), name=f"{self.name}:controller")
            group.create_task(self._monitor(), name=f"{self.name}:monitor")

    # -- what the informers tell -----------------------------------------------------------------------------

    def _node_changed(self, kind: str, node: Node, prev: Node | None) -> None:
        name = node.metadata.name
        if kind == "DELETED":
            self.heard.pop(name, None)
            return
        self.heard.setdefault(name, (None, time.monotonic()))  # a new node has the grace from now
        if prev is not None and health.heartbeat(node) != health.heartbeat(prev):
            # A status the node posted is word from it too (Kubernetes counts both): its Lease renewal may reach
            # this controller after the status that followed it, which must not be taken back as Unknown.
            self.heard[name] = (self.heard[name][0], time.monotonic())
        self.queue.add(f"node:{name}")
        if prev is None or (prev.spec and prev.spec.taints) != (node.spec and node.spec.taints):
            for key in self.on_node.get(name, ()):
                self.queue.add(f"pod:{key}")

    def _lease_changed(self, kind: str, lease, prev) -> None:
        name = lease.metadata.name
        renewed = lease.spec.renew_time if lease.spec else None
        if kind == "DELETED" or renewed == self.heard.get(name, (None, 0.0))[0]:
            return
        self.heard[name] = (renewed, time.monotonic())
        node = self.nodes.get("", name)
        if node is not None and self._troubled(node):
            self.queue.add(f"node:{name}")

    def _pod_changed(self, kind: str, pod: Pod, prev: Pod | None) -> None:
        key = cache_key(pod)
        if prev is not None and prev.spec.node_name:
            self.on_node.get(prev.spec.node_name, set()).discard(key)
        if kind == "DELETED" or not pod.spec.node_name:
            return
        self.on_node.setdefault(pod.spec.node_name, set()).add(key)
        node = self.nodes.get("", pod.spec.node_name)
        if node is not None and health.has_noexecute(taints_of(node)):
            self.queue.add(f"pod:{key}")

    @staticmethod
    def _troubled(node: Node) -> bool:
        return health.ready_status(node) != "True" or any(t.key in health.LIFECYCLE_KEYS for t in taints_of(node))

    # -- the monitor pass ------------------------------------------------------------------------------------

    async def _monitor(self) -> None:
        await asyncio.gather(*(inf.synced.wait() for inf in self.informers))
        while True:
            self.check(time.monotonic())
            await asyncio.sleep(self.settings.monitor_every)

    def status_of(self, node: Node, now: float) -> str:
        """Ready as the controller judges it: Unknown once the Lease went quiet, else what the node says."""
        heard = self.heard.get(node.metadata.name)
        if heard is not None and health.silent(heard[1], now, self.settings.grace):
            return "Unknown"
        if not health.posted_ready(node):
            return "True"  # registered, its first status on the way: the grace applies, as to a silent one
        return health.ready_status(node)

    def check(self, now: float) -> None:
        """Update the disruption state and the rate limiter; queue the nodes that need a change."""
        nodes = list(self.nodes.cache.values())
        statuses = {n.metadata.name: self.status_of(n, now) for n in nodes}
        state = health.disruption(list(statuses.values()))
        if state is not self.state:
            log.warning("node lifecycle: %s -> %s (%d of %d nodes not Ready)", self.state.value, state.value,
                        sum(1 for s in statuses.values() if s != "True"), len(nodes))
            self.state = state
            self.bucket.set_rate(health.eviction_rate(state, len(nodes), self.settings.eviction_rate), now)
            for n in nodes:
                self.queue.add(f"node:{n.metadata.name}")
            return
        for n in nodes:
            if statuses[n.metadata.name] != "True" or self._troubled(n):
                self.queue.add(f"node:{n.metadata.name}")

    # -- syncs -----------------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "node":
            await self.sync_node(rest)
        else:
            namespace, _, name = rest.partition("/")
            await self.sync_pod(namespace, name)

    async def sync_node(self, name: str) -> None:
        node = self.nodes.get("", name)
        if node is None:
            return
        now, stamp = time.monotonic(), timestamp()
        status = self.status_of(node, now)
        await self._taint(node, status, now, stamp)
        if status == "Unknown":
            conditions = health.unknown_conditions(node, stamp)
            if conditions is not None:
                log.warning("node %s: no Lease renewal for %.0f s; Ready is Unknown", name, self.settings.grace)
                self.events.emit(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
                await self.client.patch(NODES, name, {"status": {"conditions": conditions}}, subresource="status")
        if status != "True":
            await self.mark_pods_not_ready(name)

    async def _taint(self, node: Node, status: str, now: float, stamp: str) -> None:
        taints = taints_of(node)
        execute = self.bucket.rate > 0
        want = health.desired_taints(taints, status, execute, stamp)
        if health.has_noexecute(want) and not health.has_noexecute(taints) and not self.bucket.take(now):
            want = health.desired_taints(taints, status, False, stamp)
            wait = self.bucket.wait(now)
            if wait != math.inf:
                add_after(self.queue, f"node:{node.metadata.name}", wait)
        if want != taints:
            log.info("node %s (Ready %s): taints %s", node.metadata.name, status,
                     ", ".join(f"{t.key}:{t.effect}" for t in want if t.key in health.LIFECYCLE_KEYS) or "lifted")
            spec = dataclasses.replace(node.spec, taints=want) if node.spec else NodeSpec(taints=want)
            await self.client.update(NODES, dataclasses.replace(node, spec=spec))

    async def mark_pods_not_ready(self, node_name: str) -> None:
        """Kubernetes' MarkPodsNotReady: every Ready pod of the node gets Ready=False."""
        for key in sorted(self.on_node.get(node_name, ())):
            pod = self.pods.get(*key.split("/", 1))
            if pod is None or not is_ready(pod) or (pod.status and pod.status.phase in TERMINAL):
                continue
            conditions = [PodCondition(type="Ready", status="False", last_transition_time=timestamp())
                          if c.type == "Ready" else c for c in pod.status.conditions]
            try:
                await self.client.patch(PODS, pod.metadata.name, {"status": {"conditions": conditions}},
                                        pod.metadata.namespace, subresource="status")
            except NotFound:
                pass

    async def sync_pod(self, namespace: str, name: str) -> None:
        pod = self.pods.get(namespace, name)
        if pod is None or pod.metadata.deletion_timestamp or (pod.status and pod.status.phase in TERMINAL):
            return
        node = self.nodes.get("", pod.spec.node_name or "")
        if node is None:
            return
        now = time.time()
        due = eviction_time(pod.spec.tolerations or [], taints_of(node), now)
        if due is None:
            return
        if due > now:
            add_after(self.queue, f"pod:{namespace}/{name}", due - now)
            return
        await self.evict(pod, node)

    async def evict(self, pod: Pod, node: Node) -> None:
        m = pod.metadata
        log.info("node %s: evicting pod %s/%s", node.metadata.name, m.namespace, m.name)
        self.events.emit(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {m.namespace}/{m.name}")
        grace = 0 if health.ready_status(node) == "Unknown" else None
        try:
            await self.client.delete(PODS, m.name, m.namespace, grace_seconds=grace, uid=m.uid or "")
        except NotFound:
            pass


async def run_component(ctx, ready: asyncio.Event) -> None:
    """The supervisor's entry point: ``ctx`` is its Context."""
    settings = Settings(grace=ctx.node_monitor_grace, eviction_rate=ctx.node_eviction_rate)
    async with ctx.client("controller-manager") as client:
        await NodeLifecycleController(client, settings).run(ready)
