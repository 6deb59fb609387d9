"""``portside agent``'s process: a node of a cluster whose server runs elsewhere.

It joins first (``client.join``: the CA pinned by the join token, then a node credential of its own, kept in
``ROOT/agent/kubeconfig.yaml``, 0600, and used on every later start instead of the token), registers its Node
with its labels, taints and pod CIDR (``agent.nodenet``), and then runs the node's components in one
``supervisor.supervise`` group, as ``portside up`` runs its own: the node agent, the service proxy (which serves
but leaves Service status to the server's proxy), the DNS, the network policy enforcer and the engine daemon for
its root. Everything reaches the
cluster through the API with the node's credential; nothing here opens the store.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from portside.client.join import JoinError, fetch_ca, node_credential, parse_token

STATE_DIR = "agent"  # under the engine root: credential, lock, pid file, log


@dataclass
class AgentOptions:
    server: str  # one API server's URL, or several of one cluster comma-separated: the client moves among them
    token: str
    node_name: str
    root: str
    node_ip: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict] = field(default_factory=list)
    metrics_period: float = 10.0
    node_monitor_grace: float = 5.0  # must match the server's: when a cut-off node's Job pods are fenced
    resolv_conf: str = "/etc/resolv.conf"  # the node's resolvers (the kubelet's --resolv-conf)

    @property
    def servers(self) -> list[str]:
        return [s for s in self.server.split(",") if s]

    @property
    def state_dir(self) -> Path:
        return Path(self.root) / STATE_DIR

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig.yaml"


@dataclass
class NodeContext:
    """What the node's components share (the part of ``supervisor.Context`` they read)."""

    options: AgentOptions
    engine_root: str
    kubeconfig: str
    node_ip: str

    def client(self):
        from portside.client import Client
        return Client.from_kubeconfig(self.kubeconfig)


async def credential(opts: AgentOptions) -> str:
    """The node's kubeconfig: the one an earlier join of this root wrote, or a new one from the join token."""
    from portside.client.config import load_kubeconfig
    stored = load_kubeconfig(str(opts.kubeconfig)) if opts.kubeconfig.exists() else None
    if stored is not None and set(stored.servers) & set(opts.servers):  # the same cluster, maybe more servers
        if stored.server != opts.server:
            write_kubeconfig(opts, stored.ca_data or b"", stored.token)
        await _check_stored(opts)
        return str(opts.kubeconfig)
    if not opts.token:
        raise JoinError(f"--token is required: {opts.root} has no credential for {opts.server} from an earlier join")
    token = parse_token(opts.token)
    for i, server in enumerate(opts.servers):  # the first server that answers; they share the CA and credentials
        try:
            ca = await fetch_ca(server, token, opts.node_name)
            secret = await node_credential(server, ca, token, opts.node_name)
            break
        except JoinError:
            if i == len(opts.servers) - 1:
                raise
    write_kubeconfig(opts, ca, secret)
    return str(opts.kubeconfig)


async def _check_stored(opts: AgentOptions) -> None:
    """A stored credential the server no longer knows (a cluster made anew at the same address) is named, rather
    than failing later as a bare 401."""
    from portside.client import Client, Unauthorized
    async with Client.from_kubeconfig(str(opts.kubeconfig)) as client:
        try:
            await client.request("GET", "/api/v1/namespaces/kube-system")
        except Unauthorized:
            raise JoinError(f"the server refuses this node's credential ({opts.kubeconfig}): was the cluster made "
                            f"anew? Remove that file and join again with --token") from None


def write_kubeconfig(opts: AgentOptions, ca: bytes, token: str) -> None:
    import base64
    user = f"system:node:{opts.node_name}"
    doc = {"apiVersion": "v1", "kind": "Config", "preferences": {},
           "clusters": [{"name": "portside", "cluster": {"server": opts.server,
                                                         "certificate-authority-data": base64.b64encode(ca).decode()}}],
           "users": [{"name": user, "user": {"token": token}}],
           "contexts": [{"name": "portside", "context": {"cluster": "portside", "user": user}}],
           "current-context": "portside"}
    opts.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = opts.kubeconfig.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    os.replace(tmp, opts.kubeconfig)


def route_source(server: str) -> str:
    """The local address packets to the server leave from: the node's address as the server sees it. A UDP
    connect only consults the routing table; nothing is sent."""
    host = urlsplit(server).hostname or "127.0.0.1"
    family = socket.AF_INET6 if isinstance(ipaddress.ip_address(_resolve(host)), ipaddress.IPv6Address) \
        else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((_resolve(host), 9))
        return s.getsockname()[0]


def _resolve(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return socket.getaddrinfo(host, None)[0][4][0]


async def run_node_agent(ctx: NodeContext, ready: asyncio.Event) -> None:
    from portside.agent import nodenet
    from portside.agent.agent import Agent, backoff_from_env
    opts = ctx.options
    async with ctx.client() as client:
        agent = Agent(client, ctx.engine_root, opts.node_name, backoff=backoff_from_env(),
                      owners=(str(opts.state_dir),), metrics_dir=str(opts.state_dir / "metrics"),
                      metrics_period=opts.metrics_period, node_monitor_grace=opts.node_monitor_grace,
                      cluster_dns=True, resolv_conf=opts.resolv_conf, storage_dir=str(opts.state_dir / "storage"))
        agent.host_ip = ctx.node_ip
        await nodenet.register(client, Path(ctx.engine_root), opts.node_name, opts.labels, opts.taints)
        await agent.run(ready)


async def run_node_proxy(ctx: NodeContext, ready: asyncio.Event) -> None:
    import dataclasses

    from portside.agent.nodenet import engine_cluster_cidr
    from portside.proxy import controller
    config = dataclasses.replace(controller.ProxyConfig.from_env(), report=False,
                                 cluster_cidr=engine_cluster_cidr(Path(ctx.engine_root)))
    async with ctx.client() as client:
        await controller.run(client, ready, config)


async def run_node_dns(ctx: NodeContext, ready: asyncio.Event) -> None:
    from portside.dns.controller import DNSConfig, run
    from portside.supervisor import node_dns_address
    config = DNSConfig(node_dns_address(ctx.engine_root), resolv_conf=ctx.options.resolv_conf)
    async with ctx.client() as client:
        await run(client, config, ready)


async def run_node_netpol(ctx: NodeContext, ready: asyncio.Event) -> None:
    from portside.netpol.controller import NetpolConfig, run
    from portside.supervisor import node_bridge
    async with ctx.client() as client:
        await run(client, NetpolConfig(ctx.options.node_name, node_bridge(ctx.engine_root)), ready)


def components():
    from portside.supervisor import Component, run_engine_daemon
    # the proxy and the DNS start once the agent has registered: the node's pod range is in the engine settings
    return [Component("agent", run_node_agent), Component("proxy", run_node_proxy, needs=("agent",)),
            Component("dns", run_node_dns, needs=("agent",)), Component("netpol", run_node_netpol, needs=("agent",)),
            Component("engine", run_engine_daemon, needs=("agent",))]


async def _main(opts: AgentOptions) -> None:
    from portside.supervisor import supervise
    kubeconfig = await credential(opts)
    ctx = NodeContext(opts, opts.root, kubeconfig, opts.node_ip or route_source(opts.servers[0]))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def announce() -> None:
        sys.stdout.write(f"portside: node {opts.node_name} joined {opts.server} (node IP {ctx.node_ip}; "
                         f"credential: {kubeconfig})\n")
        sys.stdout.flush()
        if os.environ.get("PORTSIDE_UP_DETACHED"):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)

    await supervise(ctx, stop, announce, components())
