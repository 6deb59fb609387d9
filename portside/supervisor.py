"""``portside up``'s process: every control-plane component in one asyncio.TaskGroup, in dependency order.

A component is an ``async def run(ctx, ready)`` that sets ``ready`` once it serves and then runs until
cancelled, cleaning up in ``finally``. A component starts when every component it needs is ready; adding one is
one line in ``COMPONENTS``. Stopping cancels components in reverse order (controllers before the API they talk
to), each under its own drain timeout. A component that fails takes the group down, and ``up`` exits non-zero.

With leader election (several servers on one store), every component but those in ``EVERY_SERVER`` is
cluster-wide and runs on one server at a time: they move into a group of their own under the
``leader-election`` component, started when this server acquires the Lease and cancelled when it loses it.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from portside.apiserver import APIServer, ServerConfig

if TYPE_CHECKING:
    from portside.client.leaderelection import ElectionConfig

log = logging.getLogger("portside.up")
DRAIN_TIMEOUT_S = 10.0
YOUNG_GC_THRESHOLD = 10_000  # see ``supervise``
DAEMON_RESTART_S = 5.0
DAEMON_RECHECK_S = 60.0  # while another daemon serves the root: is it still there?
# What every server runs; every other component is cluster-wide and, with leader election, runs on the leader only
# (so a component added to COMPONENTS is leader-only unless named here).
EVERY_SERVER = frozenset({"apiserver", "proxy", "agent", "engine", "dns", "netpol", "kubernetes-endpoint"})


@dataclass
class Context:
    """What components share: the API server's configuration, the engine root, the admin kubeconfig."""

    server: ServerConfig
    engine_root: str
    kubeconfig: str = ""
    node_ip: str = "127.0.0.1"  # this node's address, as its Node shows it
    cluster_cidr: str = ""  # the pod range node-ipam cuts per-node CIDRs from
    metrics_period: float = 10.0  # seconds between the agent's usage samples
    node_monitor_grace: float = 5.0  # seconds without a Lease renewal before a node is NotReady
    node_eviction_rate: float = 1.0  # lost nodes a second whose pods may start to be evicted
    hpa_sync_period: float = 15.0  # seconds between an autoscaler's looks at its metrics
    hpa_downscale_stabilization: float = 300.0  # the scale-down window of autoscalers that set none
    hpa_tolerance: float = 0.1  # how far usage may stray from the target before an autoscaler acts
    election: ElectionConfig | None = None  # leader election for the cluster-wide components, when several servers
    apiserver: APIServer | None = None  # this process's API server, once it runs
    pods_here: bool = True  # this server runs an agent (its pods may reach the API through its pod network)
    cluster_dns: bool = True  # the dns component runs here (pods are given it as their nameserver)
    docker_socket: str = ""  # where the Docker Engine API is served for this node's engine ("" for nowhere)
    resolv_conf: str = "/etc/resolv.conf"  # the node's resolvers: upstreams of the cluster DNS, Default pods'

    def client(self, identity: str = "admin"):
        """A client for a component: ``admin`` (the admin kubeconfig), or one of ``IDENTITIES``, each a client
        certificate of its own, so that RBAC (or the Node authorizer) gives each component only what it needs."""
        from portside.client import Client
        if identity == "admin":
            return Client.from_kubeconfig(self.kubeconfig)
        return Client(self.identity_config(identity))

    def identity_config(self, identity: str):
        from portside.apiserver.usercerts import component
        from portside.client import ClientConfig
        user, groups = IDENTITIES[identity]() if identity == "node" else IDENTITIES[identity]
        cert, key = component(self.server.data_dir, identity, user, groups)
        base = load_admin(self.kubeconfig)
        return ClientConfig(base.server, "", base.ca_data, Path(cert).read_bytes(), Path(key).read_bytes())


def load_admin(kubeconfig: str):
    from portside.client.config import load_kubeconfig
    return load_kubeconfig(kubeconfig)


def _local_node() -> tuple[str, tuple[str, ...]]:
    from portside.agent.node import local_name
    return f"system:node:{local_name()}", ("system:nodes",)


# The control plane's own users (see apiserver.authz.policy for what each may do).
IDENTITIES = {
    "scheduler": ("system:kube-scheduler", ()),
    "controller-manager": ("system:kube-controller-manager", ()),
    "garbage-collector": ("system:controller:generic-garbage-collector", ()),
    "proxy": ("system:kube-proxy", ()),
    "dns": ("system:kube-dns", ()),
    "autoscaler": ("system:controller:horizontal-pod-autoscaler", ()),
    "volumes": ("system:controller:persistent-volume-binder", ()),
    "quota": ("system:controller:resourcequota-controller", ()),
    "node": _local_node,
}


Run = Callable[[Context, asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class Component:
    name: str
    run: Run
    needs: tuple[str, ...] = field(default=())


async def run_apiserver(ctx: Context, ready: asyncio.Event) -> None:
    server = APIServer(ctx.server)
    ctx.kubeconfig = server.kubeconfig
    ctx.apiserver = server
    await server.run(ready)


async def run_kubernetes_endpoint(ctx: Context, ready: asyncio.Event) -> None:
    """Once this node's pod network is set (the agent's), publish where its pods reach the API server."""
    if ctx.pods_here:
        address = await ctx.apiserver.advertise(node_dns_address(ctx.engine_root), ctx.node_ip)
        log.info("pods reach the API server at %s", address or "(nowhere: plain HTTP)")
    ready.set()
    await asyncio.Event().wait()


async def run_garbage_collector(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.gc import GarbageCollector
    async with ctx.client("garbage-collector") as client:
        await GarbageCollector(client).run(ready)


async def run_workload_controllers(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.workloads import run_workload_controllers as run
    await run(ctx, ready)


async def run_disruption_controller(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.disruption import run
    async with ctx.client("controller-manager") as client:
        await run(client, ready)


async def run_access_controllers(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.access import run_component
    await run_component(ctx, ready)


async def run_resourcequota_controller(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.resourcequota import run
    async with ctx.client("quota") as client:
        await run(client, ready)


async def run_horizontal_autoscaler(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.horizontal import AutoscalerConfig, run
    config = AutoscalerConfig(ctx.hpa_sync_period, ctx.hpa_downscale_stabilization, ctx.hpa_tolerance)
    async with ctx.client("autoscaler") as client:
        await run(client, ready, config)


async def run_volume_controllers(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.storage import run_volume_controllers as run
    await run(ctx, ready)


async def run_local_storage(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.storage import run_local_storage as run
    await run(ctx, ready)


async def run_scheduler(ctx: Context, ready: asyncio.Event) -> None:
    from portside.scheduler.service import run_component
    await run_component(ctx, ready)


async def run_node_ipam(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.nodeipam import DEFAULT_CLUSTER_CIDR, NodeIPAM, parse_range
    async with ctx.client("controller-manager") as client:
        await NodeIPAM(client, parse_range(ctx.cluster_cidr or DEFAULT_CLUSTER_CIDR)).run(ready)


async def run_node_lifecycle(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.nodelifecycle import run_component
    await run_component(ctx, ready)


async def run_proxy(ctx: Context, ready: asyncio.Event) -> None:
    import dataclasses

    from portside.agent.nodenet import engine_cluster_cidr
    from portside.proxy import controller
    config = controller.ProxyConfig.from_env()
    config = dataclasses.replace(config, cluster_cidr=config.cluster_cidr or engine_cluster_cidr(Path(ctx.engine_root)))
    async with ctx.client("proxy") as client:
        await controller.run(client, ready, config)


def node_dns_address(engine_root: str) -> str:
    """Where a node's DNS listens: its pod bridge's gateway, which every pod of the node reaches directly."""
    from portside.engine import Engine
    return Engine(Path(engine_root)).network.gateway


async def run_dns(ctx: Context, ready: asyncio.Event) -> None:
    """The cluster DNS for this node's pods; the server's also keeps the kube-dns Service."""
    from portside.dns.controller import DNSConfig, run
    config = DNSConfig(node_dns_address(ctx.engine_root), resolv_conf=ctx.resolv_conf, manage_service=True)
    async with ctx.client("dns") as client:
        await run(client, config, ready)


def node_bridge(engine_root: str) -> str:
    """The node's pod bridge, whose name the node's policy table carries."""
    from portside.engine import Engine
    return Engine(Path(engine_root)).network.bridge


async def run_netpol(ctx: Context, ready: asyncio.Event) -> None:
    """Network policies for the pods of this node (the agent's node name, its engine's bridge)."""
    from portside.agent.node import local_name
    from portside.netpol.controller import NetpolConfig, run
    async with ctx.client("node") as client:  # what a joined node's enforcer may do, through the Node authorizer
        await run(client, NetpolConfig(local_name(), node_bridge(ctx.engine_root)), ready)


async def run_agent(ctx: Context, ready: asyncio.Event) -> None:
    from portside.agent import run_component
    await run_component(ctx, ready, certifier=functools.partial(_own_node_certificate, ctx.server.data_dir))


async def _own_node_certificate(data_dir: str, node: str, addresses: list[str]):
    """The local agent's serving certificate, signed by this server's CA in process (see ``nodecerts``)."""
    from portside.apiserver.nodecerts import issue_own_node
    from portside.client.certificates import ServingCertificate

    return ServingCertificate(*await asyncio.to_thread(issue_own_node, data_dir, node, addresses))


async def run_engine_daemon(ctx: Context, ready: asyncio.Event) -> None:
    """``portside daemon`` for this node's engine root, in its own process: it forks to serve each command, and a
    process running this event loop's threads must not fork. It is restarted when it ends (it ends by itself
    when portside's code changes on disk); a daemon someone else already runs for the root is left to serve.
    It ends with this process (``--owner``) even when this one is killed outright."""
    import os
    import sys
    refusal = ""
    while True:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "portside", "--root", ctx.engine_root,
                                                    "daemon", "--owner", str(os.getpid()),
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            first = (await proc.stderr.readline()).decode().strip()
            if "serving" in first:
                ready.set()
                async for line in proc.stderr:
                    log.info("engine daemon: %s", line.decode().rstrip())
                refusal = ""
            else:
                if first != refusal:  # said once, not every few seconds
                    log.warning("engine daemon: %s", first.removeprefix("portside: "))
                refusal = first
                ready.set()  # the commands simply run without it
            code = await proc.wait()
            if not refusal:
                log.info("engine daemon exited with code %d; starting it again in %.0f s", code, DAEMON_RESTART_S)
        finally:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
        await asyncio.sleep(DAEMON_RECHECK_S if refusal else DAEMON_RESTART_S)


async def run_docker_api(ctx: Context, ready: asyncio.Event) -> None:
    """``portside system service`` for this node's engine root, in its own process for the same reason as the
    engine daemon (it forks container monitors); restarted when it ends, stopped with this process."""
    import os
    import sys
    while True:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "portside", "--root", ctx.engine_root,
                                                    "system", "service", "--socket", ctx.docker_socket,
                                                    "--owner", str(os.getpid()), stderr=asyncio.subprocess.PIPE)
        try:
            first = (await proc.stderr.readline()).decode().strip()
            if "serving" in first:
                ready.set()
            else:
                log.warning("docker api: %s", first.removeprefix("portside: "))
            async for line in proc.stderr:
                log.info("docker api: %s", line.decode().rstrip())
            code = await proc.wait()
            log.info("docker api exited with code %d; starting it again in %.0f s", code, DAEMON_RESTART_S)
        finally:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
        await asyncio.sleep(DAEMON_RESTART_S)


COMPONENTS: list[Component] = [
    Component("apiserver", run_apiserver),
    Component("garbage-collector", run_garbage_collector, needs=("apiserver",)),
    Component("access-controllers", run_access_controllers, needs=("apiserver",)),
    Component("scheduler", run_scheduler, needs=("apiserver",)),
    Component("workload-controllers", run_workload_controllers, needs=("apiserver",)),
    Component("disruption-controller", run_disruption_controller, needs=("apiserver",)),
    Component("resourcequota-controller", run_resourcequota_controller, needs=("apiserver",)),
    Component("horizontal-pod-autoscaler", run_horizontal_autoscaler, needs=("apiserver",)),
    Component("volume-controllers", run_volume_controllers, needs=("apiserver",)),
    Component("local-storage", run_local_storage, needs=("apiserver",)),
    Component("node-ipam", run_node_ipam, needs=("apiserver",)),
    Component("node-lifecycle", run_node_lifecycle, needs=("apiserver",)),
    Component("proxy", run_proxy, needs=("apiserver", "agent")),  # the agent sets the node's pod range first
    Component("agent", run_agent, needs=("apiserver",)),
    Component("dns", run_dns, needs=("apiserver", "agent")),  # on the bridge gateway of the agent's pod CIDR
    Component("netpol", run_netpol, needs=("apiserver", "agent")),  # the agent settles the node's bridge first
    Component("kubernetes-endpoint", run_kubernetes_endpoint, needs=("apiserver", "agent")),
    # after the agent: the engine's network settings follow the node's pod CIDR, and the daemon reads them once
    Component("engine", run_engine_daemon, needs=("agent",)),
    Component("docker-api", run_docker_api, needs=("agent",)),  # only with up --docker-socket
]


async def run_leading(ctx: Context, ready: asyncio.Event, components: list[Component]) -> None:
    """Campaign for the Lease; while this server leads, run ``components`` as a group of their own. Ready once
    they are (this server leads) or once another server is seen to hold the Lease."""
    from portside.client import NORMAL, EventRecorder
    from portside.client.leaderelection import LeaderElector

    async with ctx.client("controller-manager") as client:
        recorder = EventRecorder(client, "portside-leader-election")

        async def acquired(lease) -> None:  # in the background: a slow API must not delay the controllers
            recorder.emit(lease, NORMAL, "LeaderElection", f"{ctx.election.identity} became leader")

        elector = LeaderElector(client, ctx.election, on_acquired=acquired)
        campaign = asyncio.create_task(elector.run(
            lambda: _group(ctx, components, _set(ready), asyncio.Event().wait)), name="leader-election")
        try:
            await elector.decided.wait()
            if not elector.leading:
                ready.set()
            await campaign
        finally:
            campaign.cancel()
            await asyncio.gather(campaign, return_exceptions=True)


def _set(event: asyncio.Event) -> Callable[[], Awaitable[None]]:
    async def set_it() -> None:
        event.set()
    return set_it


def elected(ctx: Context, components: list[Component]) -> list[Component]:
    """``components`` as this server runs them: under leader election the cluster-wide ones move into one
    ``leader-election`` component, right after the API server (so they stop before it)."""
    leading = [c for c in components if c.name not in EVERY_SERVER]
    if getattr(ctx, "election", None) is None or not leading:  # an agent's context has no election
        return components
    every = [c for c in components if c.name in EVERY_SERVER]
    runner = Component("leader-election", functools.partial(run_leading, components=leading),
                       needs=("apiserver",))
    return [*every[:1], runner, *every[1:]]


async def _start(c: Component, ctx: Context, ready: dict[str, asyncio.Event]) -> None:
    for need in c.needs:
        if need in ready:  # a disabled component is not waited for
            await ready[need].wait()
    gc.freeze()  # what the components it needs made to start lives as long as they do (see ``supervise``)
    log.info("starting %s", c.name)
    await c.run(ctx, ready[c.name])


async def supervise(ctx: Context, stop: asyncio.Event, on_ready: Callable[[], Awaitable[None]],
                    components: list[Component] | None = None) -> None:
    """Run ``components`` until ``stop`` is set; ``on_ready`` runs once all of them are ready.

    Then the garbage collector's generations are frozen: what the start-up made (modules, the components' first
    lists: a scheduler's tens of thousands of pending pods) lives as long as the process, and every later full
    collection would scan it again (measured: 5 % of a 30,000-pod scheduling run's CPU). They are frozen as well
    each time a component starts, so that the collections during its start-up (the scheduler's lists) do not
    walk again what the modules and the components it waited for made. Objects freed by their
    reference counts are freed as before; only a cycle among start-up objects that dies later is never
    collected, a bounded amount.

    The youngest generation is collected every ``YOUNG_GC_THRESHOLD`` net allocations of containers instead of
    CPython's 700: a request's decoded objects (a pod is about 25 dicts and lists) die by their reference counts
    when it ends, and with dozens of requests in flight a collection every 700 kept finding them alive, moving
    them into older generations whose collections then walked them again."""
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])
    components = elected(ctx, COMPONENTS if components is None else components)

    async def frozen_then_ready() -> None:
        gc.freeze()
        await on_ready()
    await _group(ctx, components, frozen_then_ready, stop.wait)


async def _group(ctx: Context, components: list[Component], on_ready: Callable[[], Awaitable[None]],
                 until: Callable[[], Awaitable[object]]) -> None:
    """Start ``components`` in dependency order, run until ``until()`` returns (or this is cancelled), then stop
    them in reverse order, each under its drain timeout."""
    ready = {c.name: asyncio.Event() for c in components}
    async with asyncio.TaskGroup() as group:
        tasks = {c.name: group.create_task(_start(c, ctx, ready), name=c.name) for c in components}
        try:
            await asyncio.gather(*(e.wait() for e in ready.values()))
            await on_ready()
            await until()
        finally:
            for c in reversed(components):
                tasks[c.name].cancel()
                done, _ = await asyncio.wait([tasks[c.name]], timeout=DRAIN_TIMEOUT_S)
                if not done:
                    log.warning("%s did not stop within %.0f s", c.name, DRAIN_TIMEOUT_S)
