"""Services across nodes on the real kernel: hosts are network namespaces (see support/hosts.py) with pod routes
between them, each with the proxy's kernel plane; a Service's ClusterIP and NodePort answer from every host and
every pod though its endpoint runs on another node, with host-gw and with VXLAN between the nodes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hosts import Lab
from support.podnet import CLIENT, PodHost
from support.wait import eventually

from portside.runtime.net import names

VIP, NODE_PORT = "10.96.0.10", 30080

PROXY = """
import json, sys
from portside.proxy.balance import Backend
from portside.proxy.model import ServicePort
from portside.proxy.nftables import KernelPlane
cfg = json.loads(sys.argv[1])
plane = KernelPlane(cfg["table"], cluster_cidr=cfg["cluster_cidr"])
plane.start()
plane.sync([ServicePort("default", "web", "", "tcp", 80, "NodePort", cfg["vip"], cfg["node_port"],
                        backends=tuple(Backend(ip, port) for ip, port in cfg["backends"]))])
"""


def ask(where: list[str], ip: str, port: int) -> str:
    """What the server answered (names itself and the source it saw), or the client's error."""
    proc = subprocess.run([*where, sys.executable, "-c", CLIENT, ip, str(port)], capture_output=True, text=True,
                          timeout=20)
    return proc.stdout.strip() or (proc.stderr.strip().splitlines() or ["no output"])[-1]


@pytest.fixture
def lab(needs_root: None, tmp_path: Path) -> Iterator[Lab]:
    with Lab(tmp_path) as lab:
        yield lab


@pytest.mark.parametrize("endpoint", [1, 2], ids=["host-gw-or-vxlan", "vxlan-only"])
def test_cluster_ip_and_node_port_reach_an_endpoint_on_another_node_from_every_host_and_pod(
        lab: Lab, endpoint: int) -> None:
    """A and B share a segment (host-gw), C is behind a router (VXLAN); the endpoint runs on B or on C."""
    lan1, lan2 = lab.segment("lan1"), lab.segment("lan2")
    lab.router("r", [(lan1, "10.250.1.254/24"), (lan2, "10.250.2.254/24")])
    hosts = [lab.host("ha", [(lan1, "10.250.1.1/24")], gateway="10.250.1.254"),
             lab.host("hb", [(lan1, "10.250.1.2/24")], gateway="10.250.1.254"),
             lab.host("hc", [(lan2, "10.250.2.1/24")], gateway="10.250.2.254")]
    for h in hosts:  # strict reverse-path filtering, as many hosts have: replies must come back the way out
        h.run("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.default.rp_filter=1",
              "net.ipv4.conf.eth0.rp_filter=1")
    nodes = a, b, c = [PodHost(h, f"10.244.{i}.0/24", names.pod_mtu("auto")) for i, h in enumerate(hosts, 1)]
    far = [p for p in nodes if p is not nodes[endpoint]]
    server = nodes[endpoint]
    server.serve()
    for n in nodes:
        n.sync([p for p in nodes if p is not n])
        n.host.python(PROXY, json.dumps({"table": n.names.proxy_table, "cluster_cidr": "10.244.0.0/16",
                                         "vip": VIP, "node_port": NODE_PORT,
                                         "backends": [[server.pod_ip, 8080]]}))
    pod = {n.host.name: ["nsenter", f"--net={n.pod_netns}"] for n in nodes}
    host = {n.host.name: n.host.argv() for n in nodes}
    served = f"{server.host.name} saw "
    # From a pod, through the ClusterIP: the endpoint sees the pod's own address.
    for n in far:
        assert eventually(lambda n=n: ask(pod[n.host.name], VIP, 80), timeout=10,
                          what="an answer") == f"{served}{n.pod_ip} 0"
    # From hosts and pods, through the ClusterIP and through any node's NodePort.
    for src in (*pod.values(), *host.values()):
        for target in (VIP, a.host.ip, b.host.ip, c.host.ip):
            port = 80 if target == VIP else NODE_PORT
            got = ask(src, target, port)
            assert got.startswith(served), f"{' '.join(src)} -> {target}:{port}: {got}"
