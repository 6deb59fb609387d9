"""The kernel plane against the real kernel: an nft table of its own, backends on 127.0.0.1 and in network
namespaces on a test bridge, clients on the host and inside a namespace standing in for a pod."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.wait import eventually

from portside.proxy.balance import Backend
from portside.proxy.model import ServicePort
from portside.proxy.nftables import KernelPlane, remove_orphans
from portside.proxy.status import node_ip

from .conftest import unique_vip
from .traffic import get, spread, within_even


def table_exists(name: str) -> bool:
    return subprocess.run(["nft", "list", "table", "ip", name], capture_output=True).returncode == 0


@pytest.fixture
def kernel(needs_root: None) -> Iterator[KernelPlane]:
    plane = KernelPlane(f"portside_svc_t{secrets.token_hex(4)}")
    plane.start()
    try:
        yield plane
    finally:
        plane.close()
        assert not table_exists(plane.table)


def svc(backends, node_port: int = 0, affinity_s: int = 0, port: int = 80) -> ServicePort:
    return ServicePort("default", f"web{secrets.token_hex(2)}", "", "tcp", port, "NodePort" if node_port else
                       "ClusterIP", unique_vip(), node_port, affinity_s, "round-robin", tuple(backends))


def node_port() -> int:
    return 30000 + int.from_bytes(os.urandom(2), "big") % 2768


def test_cluster_ip_and_node_port_from_the_host_and_from_a_pod(kernel, lab, backends) -> None:
    pods = [lab.namespace() for _ in range(2)]
    group = [backends(f"pod{i}", host=ip, netns=ns, port=8080) for i, (ns, ip) in enumerate(pods)]
    client_ns, _ = lab.namespace()
    sp = svc(group, node_port=node_port())
    kernel.sync([sp])
    names = {"pod0", "pod1"}
    assert set(spread(sp.cluster_ip, 80, 4)) == names
    assert set(spread(node_ip(), sp.node_port, 4)) == names  # a node address
    assert set(spread(lab.gateway, sp.node_port, 4)) == names
    # 127.0.0.1 to a pod: the bridge must accept loopback sources (as the container bridge is set up), and the
    # proxy's masquerade mark rewrites the source to the bridge address so the pod can answer.
    Path(f"/proc/sys/net/ipv4/conf/{lab.bridge}/route_localnet").write_text("1")
    assert set(spread("127.0.0.1", sp.node_port, 4)) == names
    assert set(lab.requests(client_ns, sp.cluster_ip, 80, 4)) == names
    assert set(lab.requests(client_ns, lab.gateway, sp.node_port, 4)) == names


def test_round_robin_300_requests_over_3_backends(kernel, backends) -> None:
    sp = svc([backends(f"b{i}") for i in range(3)], node_port=node_port())
    kernel.sync([sp])
    counts = spread(sp.cluster_ip, 80, 300)
    print("kernel round-robin, 300 requests:", dict(counts))
    assert within_even(counts, 300, 3), counts
    assert within_even(spread("127.0.0.1", sp.node_port, 300), 300, 3)
    conns = kernel.connections()
    assert sum(conns.values()) == 600 and len(conns) == 3


def test_no_ready_endpoints_is_refused_fast_not_a_hang(kernel) -> None:
    sp = svc([], node_port=node_port())
    kernel.sync([sp])
    for host, port in ((sp.cluster_ip, 80), ("127.0.0.1", sp.node_port)):
        start = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            get(host, port, timeout=5)
        assert time.monotonic() - start < 0.5


def test_removed_endpoint_gets_nothing_new_and_in_flight_finishes(kernel, backends) -> None:
    slow, fast = backends("slow", slow=1.5), backends("fast")
    sp = svc([slow])
    kernel.sync([sp])
    result: list[str] = []
    held = threading.Thread(target=lambda: result.append(get(sp.cluster_ip, 80, "/slow")))
    held.start()
    eventually(lambda: kernel.connections().get((sp.service_key, str(slow))) == 1, 5, what="the slow request")
    batch = kernel.sync([dataclasses.replace(sp, backends=(fast,))])
    assert f"dnat ip to 127.0.0.1:{fast.port}" in batch and "delete chain" in batch
    assert set(spread(sp.cluster_ip, 80, 30)) == {"fast"}  # at once: the batch is in the kernel on return
    held.join(10)
    assert result == ["slow"]  # conntrack kept the established connection on its backend


def test_updates_are_incremental_and_no_change_sends_nothing(kernel, backends) -> None:
    a, b = backends("a"), backends("b")
    one, other = svc([a]), svc([b])
    kernel.sync([one, other])
    assert kernel.sync([one, other]) == ""
    batch = kernel.sync([dataclasses.replace(one, backends=(a, b)), other])
    assert other.cluster_ip not in batch and f"svc_{other.id}" not in batch
    assert set(spread(one.cluster_ip, 80, 4)) == {"a", "b"}


def test_session_affinity_client_ip(kernel, backends) -> None:
    sp = svc([backends(f"b{i}") for i in range(3)], affinity_s=60)
    kernel.sync([sp])
    assert len(spread(sp.cluster_ip, 80, 20)) == 1


def test_removing_all_services_leaves_only_the_skeleton(kernel, backends) -> None:
    sp = svc([backends("a")], node_port=node_port())
    kernel.sync([sp])
    kernel.sync([])
    listing = subprocess.run(["nft", "-j", "list", "table", "ip", kernel.table], capture_output=True, text=True)
    kinds = {next(iter(item)) for item in json.loads(listing.stdout)["nftables"]}
    assert "counter" not in kinds and "set" not in kinds
    assert sp.cluster_ip not in listing.stdout and str(sp.node_port) not in listing.stdout
    chains = {item["chain"]["name"] for item in json.loads(listing.stdout)["nftables"] if "chain" in item}
    assert not any(c.startswith(("svc_", "ep_")) for c in chains)


def test_tables_of_dead_proxies_are_removed(needs_root: None) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = f"portside_svc_{dead.pid}"
    subprocess.run(["nft", "add", "table", "ip", orphan], check=True)
    try:
        assert orphan in remove_orphans()
        assert not table_exists(orphan)
    finally:
        subprocess.run(["nft", "delete", "table", "ip", orphan], capture_output=True)


def test_an_unknown_backend_address_is_one_clear_error_and_changes_nothing(kernel) -> None:
    bad = svc([Backend("not-an-ip", 80)])
    with pytest.raises(Exception, match="nft failed"):
        kernel.sync([bad])
    assert kernel.sync([]) == ""  # the failed batch left nothing behind, and the plane knows it


def test_udp_cluster_ip(kernel) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    sp = dataclasses.replace(svc([Backend("127.0.0.1", server.getsockname()[1])], port=53), protocol="udp")
    kernel.sync([sp])

    def echo() -> None:
        data, peer = server.recvfrom(512)
        server.sendto(b"echo " + data, peer)
    thread = threading.Thread(target=echo)
    thread.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(5)
        client.sendto(b"ping", (sp.cluster_ip, 53))
        data, peer = client.recvfrom(512)
    thread.join(5)
    server.close()
    assert (data, peer) == (b"echo ping", (sp.cluster_ip, 53))  # the reply comes back from the ClusterIP
