"""The agent's pod-network loop: Nodes in, routes to every other node's pods out (flanneld's role).

The loop lists and watches Nodes through the API. Every change marks the world dirty; one sync task then reads
this node's pod CIDR and InternalIP and every other node's (plus the VXLAN MAC it published) from the cached
Nodes (``wiring``, pure) and hands them to the runtime's planner (``PodRoutes.sync``), which reads the kernel and
changes only what differs. A burst of Node updates (heartbeats patch status every few seconds) thus costs one
sync, and a sync that changes nothing costs three reads of the kernel. A failing sync is logged and retried with
back-off; the loop never takes the agent down.

It runs only on a node of a multi-node cluster: one whose ``ROOT/engine.json`` names the cluster's pod range
(``cluster_cidr``, see ``runtime/net/names.py``). Nodes whose pod CIDR lies outside that range are left out, so
made-up Nodes (in tests, or a stray object) never turn into routes on a real host.

Routes stay when the agent stops, as pods do: a restarted agent finds them (and the kernel tells it what to
fix). ``teardown`` removes them for a node that leaves the cluster for good.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass, field

from portside.api.models import Node
from portside.client import ApiError, Client
from portside.runtime.errors import PortsideError
from portside.runtime.net import names
from portside.runtime.net.podnet import PodRoutes
from portside.runtime.net.routes import Peer, Settings
from portside.runtime.net.vxlan import MAC_ANNOTATION, vtep_mac

__all__ = ["PodRouteLoop", "Wiring", "from_engine_settings", "internal_ip", "wiring"]

log = logging.getLogger("portside.agent.podroutes")
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Wiring:
    """What the planner needs: this node's address and pod CIDR, and the other nodes."""

    node_ip: str
    pod_cidr: str
    peers: list[Peer] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)  # node -> why it is not a peer (yet)


def internal_ip(node: Node) -> str:
    for addr in (node.status and node.status.addresses) or []:
        if addr.type == "InternalIP":
            return addr.address or ""
    return ""


def wiring(nodes: dict[str, Node], me: str, cluster_cidr: str) -> Wiring | None:
    """None until this node has a pod CIDR and an InternalIP; the peers are the other nodes that have both,
    inside the cluster's range."""
    own = nodes.get(me)
    if own is None or not own.spec or not own.spec.pod_cidr or not internal_ip(own):
        return None
    cluster = ipaddress.IPv4Network(cluster_cidr)
    peers, left_out = [], {}
    for name, node in sorted(nodes.items()):
        if name == me:
            continue
        cidr, ip = (node.spec and node.spec.pod_cidr) or "", internal_ip(node)
        if not cidr or not ip:
            left_out[name] = "no podCIDR yet" if not cidr else "no InternalIP yet"
        elif not _inside(cidr, cluster):
            left_out[name] = f"podCIDR {cidr} is outside the cluster's pod range {cluster_cidr}"
        else:
            mac = ((node.metadata and node.metadata.annotations) or {}).get(MAC_ANNOTATION, "")
            peers.append(Peer(name, cidr, ip, mac))
    return Wiring(internal_ip(own), own.spec.pod_cidr, peers, left_out)


def _inside(cidr: str, cluster: ipaddress.IPv4Network) -> bool:
    try:
        return ipaddress.IPv4Network(cidr).subnet_of(cluster)
    except ValueError:
        return True  # a malformed one goes on to the planner, which names what is wrong with it


class PodRouteLoop:
    def __init__(self, client: Client, node_name: str, routes: PodRoutes, cluster_cidr: str) -> None:
        self.client, self.name, self.routes, self.cluster_cidr = client, node_name, routes, cluster_cidr
        self.nodes: dict[str, Node] = {}
        self.changed = asyncio.Event()
        self.synced = asyncio.Event()  # set after each sync that succeeded (tests and readiness wait on it)
        self._said: dict[str, str] = {}  # what was last logged per node, so a standing reason is said once

    async def run(self) -> None:
        listed = await self.client.list("nodes")
        self.nodes = {o.metadata.name: o for o in listed.items}
        self.changed.set()
        syncer = asyncio.create_task(self._syncer())
        try:
            async for event in self.client.watch("nodes", resource_version=listed.resource_version,
                                                 known=listed.items):
                if event.type == "DELETED":
                    self.nodes.pop(event.name, None)
                else:
                    self.nodes[event.name] = event.object
                self.changed.set()
        finally:
            syncer.cancel()
            await asyncio.gather(syncer, return_exceptions=True)

    async def _syncer(self) -> None:
        failures = 0
        while True:
            await self.changed.wait()
            self.changed.clear()
            try:
                await self.sync()
                failures = 0
            except (PortsideError, ApiError, OSError) as exc:
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                log.warning("node %s: pod routes not in step, retrying in %.1f s: %s", self.name, delay, exc)
                await asyncio.sleep(delay)
                self.changed.set()

    async def sync(self) -> None:
        wired = wiring(self.nodes, self.name, self.cluster_cidr)
        if wired is None:
            return
        result = await asyncio.to_thread(self.routes.sync, wired.node_ip, wired.pod_cidr, wired.peers)
        self._tell({**wired.left_out, **result.skipped})
        await self.publish_mac(wired.pod_cidr)
        self.synced.set()

    async def publish_mac(self, pod_cidr: str) -> None:
        """Put this node's VXLAN MAC on its Node, for peers that encapsulate to it (not under host-gw only)."""
        if self.routes.settings.backend == "host-gw":
            return
        mac, own = vtep_mac(pod_cidr), self.nodes.get(self.name)
        if ((own and own.metadata and own.metadata.annotations) or {}).get(MAC_ANNOTATION) != mac:
            await self.client.patch("nodes", self.name, {"metadata": {"annotations": {MAC_ANNOTATION: mac}}})

    def _tell(self, reasons: dict[str, str]) -> None:
        for node, why in reasons.items():
            if self._said.get(node) != why:
                log.info("node %s: no route to node %s's pods: %s", self.name, node, why)
        self._said = dict(reasons)

    async def teardown(self) -> None:
        await asyncio.to_thread(self.routes.teardown)


def from_engine_settings(client: Client, node_name: str, settings: dict) -> PodRouteLoop | None:
    """The loop for an engine configured as a cluster node (``cluster_cidr`` set), else None. ``pod_network``
    in the same settings may give ``backend`` (auto, host-gw, vxlan), ``vni`` and ``port``."""
    cluster_cidr = settings.get("cluster_cidr", "")
    if not cluster_cidr:
        return None
    net = settings.get("pod_network") or {}
    routing = Settings(names.for_node(node_name).vxlan, net.get("backend", "auto"), int(net.get("vni", 1)),
                       int(net.get("port", 8472)))
    return PodRouteLoop(client, node_name, PodRoutes(routing, settings.get("bridge", "")), cluster_cidr)


async def follow(client: Client, node_name: str, settings: dict) -> None:
    """The agent's entry: runs the loop on a cluster node, waits forever elsewhere (nothing to route)."""
    loop = from_engine_settings(client, node_name, settings)
    if loop is None:
        await asyncio.Event().wait()
    failures = 0
    while True:
        try:
            await loop.run()
        except (ApiError, OSError) as exc:  # the first list failed: the API is away, or refuses this node
            delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
            failures += 1
            log.warning("node %s: cannot follow Nodes, retrying in %.1f s: %s", node_name, delay, exc)
            await asyncio.sleep(delay)
