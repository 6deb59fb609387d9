"""The agent's pod-routes loop against a real ``portside up`` API server: Nodes made with kubectl (pod CIDR and
InternalIP) drive the routes of hosts that are network namespaces, and pods on those hosts reach each other."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cluster import Cluster, only
from support.hosts import Lab
from support.podnet import CLUSTER, PodHost
from support.wait import eventually_async

from portside.agent.podroutes import PodRouteLoop, from_engine_settings, wiring
from portside.api.models import Node
from portside.client import Client
from portside.runtime.net import names
from portside.runtime.net.podnet import PodRoutes
from portside.runtime.net.routes import Settings
from portside.runtime.net.vxlan import MAC_ANNOTATION, vtep_mac

UP_FLAGS = only()


def node_manifest(name: str, pod_cidr: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                       "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]}})


def register(cluster: Cluster, name: str, pod_cidr: str, ip: str) -> None:
    cluster.kubectl("create", "-f", "-", input=node_manifest(name, pod_cidr))
    cluster.kubectl("patch", "node", name, "--subresource=status", "--type=merge", "-p",
                    json.dumps({"status": {"addresses": [{"type": "InternalIP", "address": ip}]}}))


@pytest.fixture
def lab(needs_root: None, tmp_path: Path) -> Iterator[Lab]:
    with Lab(tmp_path) as lab:
        yield lab


def test_nodes_registered_through_the_api_become_routes_between_the_hosts_pods(lab: Lab, cluster: Cluster) -> None:
    """A and B share a segment (host-gw), C is behind a router (VXLAN); B's deletion takes its route away."""
    lan1, lan2 = lab.segment("lan1"), lab.segment("lan2")
    lab.router("r", [(lan1, "10.250.1.254/24"), (lan2, "10.250.2.254/24")])
    hosts = [lab.host("ha", [(lan1, "10.250.1.1/24")], gateway="10.250.1.254"),
             lab.host("hb", [(lan1, "10.250.1.2/24")], gateway="10.250.1.254"),
             lab.host("hc", [(lan2, "10.250.2.1/24")], gateway="10.250.2.254")]
    a, b, c = (PodHost(h, f"10.244.{i}.0/24", names.pod_mtu("auto")) for i, h in enumerate(hosts, 1))
    for p in (a, b, c):
        register(cluster, p.host.name, p.pod_cidr, p.host.ip)
        p.serve()
    asyncio.run(_drive(cluster, a, b, c))


async def routed(host: PodHost, dsts: set[str]) -> bool:
    """The checks read the kernel off the event loop, which the loops under test share."""
    return {r["dst"] for r in await asyncio.to_thread(host.routes)} == dsts


async def reached(src: PodHost, dst: PodHost) -> str:
    got = await asyncio.to_thread(src.fetch_from_pod, dst.pod_ip)
    return got if "saw" in got else ""


async def _drive(cluster: Cluster, a: PodHost, b: PodHost, c: PodHost) -> None:
    async with Client.from_kubeconfig(cluster.kubeconfig) as client:
        loops = [PodRouteLoop(client, p.host.name, PodRoutes(Settings(p.names.vxlan), p.names.bridge,
                                                             Path(p.host.netns)), CLUSTER) for p in (a, b, c)]
        tasks = [asyncio.create_task(loop.run()) for loop in loops]
        try:
            await eventually_async(lambda: routed(a, {"10.244.2.0/24", "10.244.3.0/24"}), timeout=20,
                                   what="A's routes to B's and C's pods")
            for src, dst in ((a, b), (a, c), (c, b), (b, a)):
                got = await eventually_async(lambda s=src, d=dst: reached(s, d), timeout=20,
                                             what=f"{src.host.name}'s pod reaching {dst.host.name}'s")
                assert got == f"{dst.host.name} saw {src.pod_ip} 0"
            routes = {r["dst"]: r for r in a.routes()}
            assert routes["10.244.2.0/24"]["gateway"] == b.host.ip  # host-gw on the shared segment
            assert routes["10.244.3.0/24"]["dev"] == a.names.vxlan  # VXLAN across the router
            node_a = await client.get("nodes", a.host.name)
            assert node_a.metadata.annotations[MAC_ANNOTATION] == vtep_mac(a.pod_cidr)

            cluster.kubectl("delete", "node", b.host.name)
            await eventually_async(lambda: routed(a, {"10.244.3.0/24"}), timeout=20,
                                   what="A's route to B's pods removed once B's Node is gone")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await loops[0].teardown()
        assert a.routes() == [] and not a.has_link(a.names.vxlan)


def test_nodes_outside_the_cluster_range_or_incomplete_are_left_out_with_the_reason() -> None:
    def node(name: str, cidr: str = "", ip: str = "") -> Node:
        status = {"addresses": [{"type": "InternalIP", "address": ip}]} if ip else {}
        return Node.from_dict({"metadata": {"name": name}, "spec": {"podCIDR": cidr} if cidr else {},
                               "status": status})

    nodes = {"me": node("me", "10.244.1.0/24", "10.0.0.1"), "ok": node("ok", "10.244.2.0/24", "10.0.0.2"),
             "fresh": node("fresh", ip="10.0.0.3"), "noip": node("noip", "10.244.4.0/24"),
             "stray": node("stray", "10.99.0.0/24", "10.0.0.5")}
    w = wiring(nodes, "me", CLUSTER)
    assert (w.node_ip, w.pod_cidr, [p.name for p in w.peers]) == ("10.0.0.1", "10.244.1.0/24", ["ok"])
    assert w.left_out == {"fresh": "no podCIDR yet", "noip": "no InternalIP yet",
                          "stray": "podCIDR 10.99.0.0/24 is outside the cluster's pod range 10.244.0.0/16"}
    assert wiring({"ok": nodes["ok"]}, "me", CLUSTER) is None  # this node has not registered yet
    assert wiring({"me": node("me", ip="10.0.0.1")}, "me", CLUSTER) is None  # no pod CIDR yet


def test_the_loop_runs_only_on_an_engine_configured_as_a_cluster_node() -> None:
    assert from_engine_settings(None, "n1", {"bridge": "portside0"}) is None  # single-node: nothing to route
    loop = from_engine_settings(None, "n1", {**names.engine_settings("n1", "10.244.1.0/24", CLUSTER),
                                             "pod_network": {"backend": "vxlan", "vni": 7, "port": 4789}})
    assert loop.routes.settings == Settings(names.for_node("n1").vxlan, "vxlan", 7, 4789)
    assert loop.routes.bridge == names.for_node("n1").bridge and loop.cluster_cidr == CLUSTER
