"""The node agent (the kubelet's role) as a ``portside up`` component.

Start-up order matters for adoption: the agent reads every pod container the engine holds before it follows
the API, and hands each pod's runs to that pod's worker, so a restarted agent finds its containers running and
only watches them; nothing is restarted. Containers and sandboxes of pods that no longer exist are removed once
the first list of this node's pods is in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from portside.agent import fence, metrics, podroutes
from portside.agent import node as nodes
from portside.agent.backoff import Policy
from portside.agent.claims import Claims
from portside.agent.engine import PodEngine
from portside.agent.poddns import PodDNS
from portside.agent.reporting import StatusWriter
from portside.agent.sandbox import Sandboxes, decode_secret
from portside.agent.servicelinks import ServiceCache
from portside.agent.tls import server_context
from portside.agent.tokens import PodTokens
from portside.agent.worker import Worker
from portside.api.models import Pod
from portside.api.references import referenced
from portside.api.volumes import STORAGE_DIR_ANNOTATION
from portside.api.wellknown import CLUSTER_DOMAIN
from portside.client import AlreadyExists, ApiError, Client, EventRecorder, Listing, NotFound
from portside.client.certificates import ServingCertificate, request_serving_certificate
from portside.runtime.net import resolvconf

log = logging.getLogger("portside.agent")
LEASE_RENEW_S = 1.0  # well within the server's --node-monitor-grace (5 s): a few renewals may be lost
RENEW_TIMEOUT_S = 2.0  # a renewal across a dead link fails after this, instead of hanging on the socket
NODE_CHECK_S = 10.0  # the node's status is looked at this often (the kubelet's nodeStatusUpdateFrequency)
NODE_STATUS_S = 40.0  # and posted at least this often
AWAY_S = 4.0  # renewals this far apart: the server (grace 5 s by default) may have given up on this node
REGISTER_RETRIES_S = (0.2, 0.5, 1.0, 2.0)
TERMINAL = ("Succeeded", "Failed")
EVENT_SOURCE = "kubelet"  # the component name kubectl describe shows for a node's Events, as on Kubernetes


class Agent:
    def __init__(self, client: Client, engine_root: str, node_name: str = "", backoff: Policy = Policy(),
                 owners: tuple[str, ...] = (), metrics_dir: str = "",
                 metrics_period: float = metrics.DEFAULT_PERIOD_S,
                 node_monitor_grace: float = nodes.LEASE_SECONDS, cluster_dns: bool = False,
                 resolv_conf: str = resolvconf.DEFAULT_PATH, storage_dir: str = "") -> None:
        """``owners``: paths whose deletion ends the cluster, so that the engine reclaims its pods' sandboxes;
        ``metrics_dir``: where the usage time series are kept (none kept without one); ``node_monitor_grace``:
        the server's, from which the agent works out when a cut-off node's Job pods are replaced (``fence``);
        ``cluster_dns``: the node runs the cluster DNS (on its pod bridge's gateway), which pods are then given;
        ``resolv_conf``: the node's resolver settings, for pods of ``dnsPolicy: Default`` (the kubelet's flag);
        ``storage_dir``: where this node keeps the local-path volumes (announced on its Node; none without)."""
        self.client = client
        self.owners = owners
        self.name = node_name or nodes.local_name()
        self.engine = PodEngine(Path(engine_root))
        self.sandboxes: Sandboxes | None = None
        self.cluster = ""
        self.backoff_policy = backoff
        self.host_ip = "127.0.0.1"
        self.workers: dict[str, Worker] = {}
        self.tasks: dict[str, asyncio.Task] = {}
        self.status = StatusWriter(client)
        self.events = EventRecorder(client, EVENT_SOURCE, host=self.name)
        self.metrics_dir = metrics_dir
        self.node_monitor_grace = node_monitor_grace
        self.sampler = metrics.Sampler(self.metric_targets, period=metrics_period)
        self.cluster_dns, self.resolv_conf = cluster_dns, resolv_conf
        self.services = ServiceCache(client)
        # Where the endpoint's serving certificate comes from, when not from the API with the node's credential:
        # up's own node is named after the host, which the API server's certificate names too, and which a node
        # credential may not claim, so up signs it in process. (node name, addresses) -> ServingCertificate.
        self.certifier: Callable[[str, list[str]], Awaitable[ServingCertificate]] | None = None
        self.storage_dir = os.path.abspath(storage_dir) if storage_dir else ""
        self.claims = Claims(client, self.name, self.storage_dir, self.engine.call)
        self.tokens = PodTokens(client)

    def find(self, namespace: str, name: str) -> Worker | None:
        return next((w for w in self.workers.values()
                     if (w.pod.metadata.namespace, w.pod.metadata.name) == (namespace, name)), None)

    async def run(self, ready: asyncio.Event) -> None:
        from portside.agent.server import serve
        self.cluster = (await self.client.get("namespaces", "kube-system")).metadata.uid
        self.sandboxes = Sandboxes(self.engine.engine, self.engine.engine.root / "pods" / self.cluster, self.owners)
        await self.engine.call(self.sandboxes.record_owners)
        if self.certifier is not None:
            identity = await self.certifier(self.name, [self.host_ip])
        else:
            identity = await request_serving_certificate(self.client, self.name, [self.host_ip])
        async with serve(self, self.host_ip, server_context(identity)) as port:
            await self.register(port)
            listed = await self.client.list("pods", field_selector=f"spec.nodeName={self.name}")
            await self.adopt(listed.items)
            ready.set()
            if self.metrics_dir:
                self.sampler.tsdb = await asyncio.to_thread(metrics.open_store, self.metrics_dir)
            try:
                await asyncio.gather(self.follow(listed), self.keep_lease(port), self.sampler.run(), self.services.run(),
                                     podroutes.follow(self.client, self.name, self.engine.engine.settings()),
                                     *([self.claims.follow()] if self.storage_dir else []))
            finally:
                await self.stop_workers()
                await self.events.drain()  # the workers' last Events, before the API goes away
                self.engine.close()
                if self.sampler.tsdb is not None:
                    self.sampler.tsdb.close()

    # -- the Node and its Lease -------------------------------------------------------------------------------

    async def register(self, port: int) -> None:
        """Create the Node (it exists on every later start), its Lease, then post its status; a server error is retried a
        few times, then fails the component with the server's message."""
        for delay in REGISTER_RETRIES_S:
            try:
                await self._register(port)
                return
            except ApiError as exc:
                if exc.code < 500:
                    raise
                log.warning("node %s: registration failed, retrying in %.1f s: %s", self.name, delay, exc)
                await asyncio.sleep(delay)
        await self._register(port)

    async def _register(self, port: int) -> None:
        try:
            await self.client.create("nodes", nodes.node_object(self.name))
        except AlreadyExists:
            pass
        await self.announce_storage()
        await self.renew_lease()  # before Ready: a Ready node without a Lease reads as one that stopped renewing
        await self.post_status(port)

    async def announce_storage(self) -> None:
        """Where this node keeps local-path volumes, on its Node: the provisioner names directories under it."""
        if not self.storage_dir:
            return
        os.makedirs(self.storage_dir, mode=0o711, exist_ok=True)
        await self.client.patch("nodes", self.name,
                                {"metadata": {"annotations": {STORAGE_DIR_ANNOTATION: self.storage_dir}}})

    async def post_status(self, port: int) -> None:
        status = nodes.node_status(self.engine.engine.root, self.host_ip, port, socket.gethostname())
        await self.client.patch("nodes", self.name, {"status": status}, subresource="status")

    async def keep_lease(self, port: int) -> None:
        """Renew the Lease every ``LEASE_RENEW_S``. A renewal that failed, or that comes after a silence longer
        than the server's grace, means this node may meanwhile have been marked NotReady, its pods NotReady,
        evicted or replaced: the next one that succeeds posts the node's status at once and lists the node's
        pods again, so that pods deleted meanwhile stop here even while the watch is still catching up."""
        last_ok = last_sent = checked = posted = time.monotonic()
        away = False
        while True:
            sent = time.monotonic()
            try:
                async with asyncio.timeout(RENEW_TIMEOUT_S):
                    await self.renew_lease()
                now, last_sent = time.monotonic(), sent
                away = away or now - last_ok > AWAY_S
                last_ok = now
                if away:
                    log.info("node %s: heard by the server again; posting status, listing pods", self.name)
                    await self.post_status(port)
                    await self.resync()
                    self.unfence()
                    away, checked, posted = False, now, now
                elif now - checked >= NODE_CHECK_S:
                    checked = now
                    if now - posted >= NODE_STATUS_S or not await self._ready_on_server():
                        await self.post_status(port)
                        posted = now
            except (ApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                away = True
                log.warning("node %s: heartbeat failed: %s", self.name, exc or type(exc).__name__)
                self.fence(last_sent, time.monotonic())
            await asyncio.sleep(LEASE_RENEW_S)

    def fence(self, last_sent: float, now: float) -> None:
        """Stop the Job pods the server may have replaced elsewhere by now (``fence``)."""
        live = [w for w in self.workers.values() if not w.fenced]
        for pod in fence.to_fence([w.pod for w in live], last_sent, now, self.node_monitor_grace):
            log.warning("node %s: no renewal for %.0f s; fencing Job pod %s/%s (replaced elsewhere by now)",
                        self.name, now - last_sent, pod.metadata.namespace, pod.metadata.name)
            self.workers[pod.metadata.uid].fence(True)

    def unfence(self) -> None:
        """Heard again: pods deleted meanwhile are stopping (``resync``); the others are the server's to judge,
        their containers fenced as failed ones."""
        for worker in self.workers.values():
            worker.fence(False)

    async def _ready_on_server(self) -> bool:
        node = await self.client.get("nodes", self.name)
        conditions = (node.status.conditions if node.status else None) or []
        return any(c.type == "Ready" and c.status == "True" for c in conditions)

    async def resync(self) -> None:
        """List this node's pods: workers of pods that are gone stop theirs, the others see their latest."""
        listed = await self.client.list("pods", field_selector=f"spec.nodeName={self.name}")
        live = {p.metadata.uid for p in listed.items}
        for uid, worker in list(self.workers.items()):
            if uid not in live:
                worker.deleted()
        for pod in listed.items:
            self.track(pod)

    async def renew_lease(self) -> None:
        lease = nodes.lease_object(self.name)
        try:
            await self.client.patch("leases", self.name, {"spec": lease.spec}, nodes.LEASE_NAMESPACE)
        except NotFound:
            await self.client.create("leases", lease, nodes.LEASE_NAMESPACE)

    # -- pods ------------------------------------------------------------------------------------------------

    async def adopt(self, pods: list[Pod]) -> None:
        """Hand each pod the runs the engine has for it; remove runs and sandboxes of pods that are gone."""
        runs = await self.engine.all_runs(self.cluster)
        live = {p.metadata.uid for p in pods}
        for pod in pods:
            found = runs.get(pod.metadata.uid, [])
            address = await self.engine.call(self.sandboxes.address, pod.metadata.uid) if found else ""
            self.track(pod, found, address)
        orphans = (set(runs) | set(await self.engine.call(self.sandboxes.known))) - live
        for uid in orphans:
            for run in runs.get(uid, []):
                await self.engine.stop(run.cid, 0)
                await self.engine.remove(run.cid)
            await self.engine.call(self.sandboxes.remove, uid)

    def track(self, pod: Pod, runs=(), address: str = "") -> None:
        uid = pod.metadata.uid
        if uid in self.workers:
            self.status.reconcile(uid, pod.status)
            self.workers[uid].update(pod)
            return
        if pod.status is not None and pod.status.phase in TERMINAL and not runs:
            return  # finished before this agent ever ran it (or its runs were cleaned): nothing to do
        worker = Worker(self, pod)
        worker.adopt(list(runs), address)
        self.workers[uid] = worker
        self.tasks[uid] = asyncio.ensure_future(self._run_worker(worker))

    async def _run_worker(self, worker: Worker) -> None:
        try:
            await worker.run()
        finally:
            self.workers.pop(worker.uid, None)
            self.tasks.pop(worker.uid, None)
            self.status.forget(worker.uid)
            self.claims.forget(worker.uid)

    async def follow(self, listed: Listing) -> None:
        async for event in self.client.watch("pods", field_selector=f"spec.nodeName={self.name}",
                                             resource_version=listed.resource_version, known=listed.items):
            uid = event.object.metadata.uid
            if event.type == "DELETED":
                if uid in self.workers:
                    self.workers[uid].deleted()
            else:
                self.track(event.object)

    async def stop_workers(self) -> None:
        """Stopping the agent leaves containers running: the next agent adopts them."""
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)

    def metric_targets(self) -> list[metrics.Target]:
        """The running containers the sampler reads, from the workers' runs."""
        out = []
        for worker in self.workers.values():
            meta = worker.pod.metadata
            owner = next((r for r in meta.owner_references or [] if r.controller), None)
            for run in worker.runs.values():
                if run.running:
                    out.append(metrics.Target(meta.namespace, meta.name, meta.uid, run.container, run.cid,
                                              self.engine.engine.cgroups_path(run.cid),
                                              owner.kind if owner else "", owner.name if owner else ""))
        return out

    # -- what workers ask of the API --------------------------------------------------------------------------

    def pod_dns(self) -> PodDNS:
        """This node's DNS for its pods: its bridge's gateway when the cluster DNS runs here."""
        nameserver = self.engine.engine.network.gateway if self.cluster_dns else ""
        return PodDNS(nameserver, CLUSTER_DOMAIN, resolvconf.read(self.resolv_conf))

    async def forget(self, pod: Pod) -> None:
        """The pod's containers are gone: delete the object for good (grace 0, only this incarnation)."""
        self.tokens.forget(pod.metadata.uid)
        try:
            await self.client.delete("pods", pod.metadata.name, pod.metadata.namespace, grace_seconds=0,
                                     uid=pod.metadata.uid)
        except NotFound:
            pass
        except Exception as exc:  # noqa: BLE001 - a Conflict: a new pod of that name, not ours to delete
            log.info("pod %s/%s: final delete refused: %s", pod.metadata.namespace, pod.metadata.name, exc)

    async def references(self, pod: Pod) -> tuple[dict, dict]:
        """The ConfigMaps and Secrets the pod's env, envFrom and volumes name (absent ones left out)."""
        maps, secrets = referenced(pod)
        ns = pod.metadata.namespace
        return ({n: d for n in maps if (d := await self._data("configmaps", n, ns)) is not None},
                {n: d for n in secrets if (d := await self._data("secrets", n, ns)) is not None})

    async def _data(self, kind: str, name: str, ns: str) -> dict | None:
        try:
            obj = await self.client.get(kind, name, ns)
        except NotFound:
            return None
        return decode_secret(obj) if kind == "secrets" else dict(obj.data or {})


def backoff_from_env() -> Policy:
    """``PORTSIDE_BACKOFF_BASE_S`` shortens CrashLoopBackOff's base delay (tests)."""
    base = float(os.environ.get("PORTSIDE_BACKOFF_BASE_S", "10"))
    return Policy(base=base, cap=max(base, 300.0 * base / 10.0))


async def run_component(ctx, ready: asyncio.Event, certifier=None) -> None:
    """``portside up``'s agent for the local node: registered (and its engine network set) first; ``certifier``:
    see ``Agent.certifier``."""
    from portside.agent import nodenet
    async with ctx.client("node") as client:
        agent = Agent(client, ctx.engine_root, backoff=backoff_from_env(),
                      owners=(os.path.abspath(ctx.server.data_dir),),
                      metrics_dir=os.path.join(ctx.server.data_dir, "metrics"),
                      metrics_period=ctx.metrics_period, node_monitor_grace=ctx.node_monitor_grace,
                      cluster_dns=ctx.cluster_dns, resolv_conf=ctx.resolv_conf,
                      storage_dir=os.path.join(ctx.server.data_dir, "storage"))
        agent.host_ip, agent.certifier = ctx.node_ip, certifier
        await nodenet.register(client, Path(ctx.engine_root), agent.name, control_plane=True)
        await agent.run(ready)
