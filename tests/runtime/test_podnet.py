"""Pod networking across nodes against the real kernel: hosts are network namespaces on one L2 segment (host-gw)
or on two segments behind a router (VXLAN), each with a portside bridge on its own pod CIDR and a pod attached;
pods reach each other by pod IP, and the receiver sees the sender's pod IP (no NAT)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hosts import Lab
from support.podnet import SYNC, PodHost
from support.wait import eventually

from portside.runtime.net import names


@pytest.fixture
def lab(needs_root: None, tmp_path: Path) -> Iterator[Lab]:
    with Lab(tmp_path) as lab:
        yield lab


def test_host_gw_pods_reach_pods_of_every_node_by_their_own_address(lab: Lab) -> None:
    lan = lab.segment("lan")
    hosts = [lab.host(f"h{i}", [(lan, f"10.250.0.{i}/24")]) for i in (1, 2, 3)]
    nodes = [PodHost(h, f"10.244.{i}.0/24") for i, h in enumerate(hosts, 1)]
    for n in nodes:
        n.serve()
    for n in nodes:
        assert n.sync([p for p in nodes if p is not n]) == {"changed": True, "skipped": {}}
    a, b, c = nodes
    assert {(r["dst"], r.get("gateway"), r["dev"]) for r in a.routes()} == {
        ("10.244.2.0/24", "10.250.0.2", "eth0"), ("10.244.3.0/24", "10.250.0.3", "eth0")}
    assert not a.has_link(a.names.vxlan)  # every peer is on the segment: no overlay
    for src, dst in ((a, b), (b, c), (c, a), (a, c)):
        # the receiver names the sender's pod IP: nothing NATed the packets on the way
        assert src.fetch_from_pod(dst.pod_ip) == f"{dst.host.name} saw {src.pod_ip} 0"
    assert a.sync([b, c])["changed"] is False  # idempotent: the kernel already holds it all


def test_nodes_that_leave_lose_their_routes_and_teardown_removes_the_rest(lab: Lab) -> None:
    lan = lab.segment("lan")
    a, b, c = (PodHost(lab.host(f"h{i}", [(lan, f"10.250.0.{i}/24")]), f"10.244.{i}.0/24") for i in (1, 2, 3))
    c.serve()
    a.sync([b, c])
    c.sync([a, b])
    assert a.fetch_from_pod(c.pod_ip) == f"{c.host.name} saw {a.pod_ip} 0"
    assert a.sync([b])["changed"] is True
    assert [r["dst"] for r in a.routes()] == ["10.244.2.0/24"]
    assert "saw" not in a.fetch_from_pod(c.pod_ip)  # no route left to C's pods
    a.teardown()
    assert a.routes() == []
    a.teardown()  # idempotent


def test_a_peer_with_a_bad_or_clashing_pod_cidr_is_skipped_with_the_reason(lab: Lab) -> None:
    lan = lab.segment("lan")
    a, b = (PodHost(lab.host(f"h{i}", [(lan, f"10.250.0.{i}/24")]), f"10.244.{i}.0/24") for i in (1, 2))
    cfg = {"device": a.names.vxlan, "backend": "host-gw", "bridge": a.names.bridge, "ip": a.host.ip,
           "cidr": a.pod_cidr, "peers": [{"name": "b", "pod_cidr": b.pod_cidr, "node_ip": b.host.ip},
                                         {"name": "dup", "pod_cidr": "10.244.1.128/25", "node_ip": "10.250.0.9"},
                                         {"name": "far", "pod_cidr": "10.244.7.0/24", "node_ip": "10.251.0.9"},
                                         {"name": "junk", "pod_cidr": "10.244.8.0/33", "node_ip": "10.250.0.8"}]}
    out = json.loads(a.host.python(SYNC, json.dumps(cfg)))
    assert out["skipped"] == {
        "dup": "podCIDR 10.244.1.128/25 overlaps 10.244.1.0/24, already routed here",
        "far": "node address 10.251.0.9 is on no subnet of this host, which host-gw needs",
        "junk": 'podCIDR "10.244.8.0/33" is not an IPv4 network'}
    assert [r["dst"] for r in a.routes()] == ["10.244.2.0/24"]


def test_vxlan_carries_pods_between_subnets_and_auto_keeps_host_gw_on_the_segment(lab: Lab) -> None:
    """A and C share a segment; B is behind a router, where host-gw cannot reach: auto picks VXLAN for B only."""
    lan1, lan2 = lab.segment("lan1"), lab.segment("lan2")
    lab.router("r", [(lan1, "10.250.1.254/24"), (lan2, "10.250.2.254/24")])
    ha = lab.host("ha", [(lan1, "10.250.1.1/24")], gateway="10.250.1.254")
    hb = lab.host("hb", [(lan2, "10.250.2.1/24")], gateway="10.250.2.254")
    hc = lab.host("hc", [(lan1, "10.250.1.2/24")], gateway="10.250.1.254")
    mtu = names.pod_mtu("vxlan")
    a, b, c = PodHost(ha, "10.244.1.0/24", mtu), PodHost(hb, "10.244.2.0/24", mtu), PodHost(hc, "10.244.3.0/24", mtu)
    for n in (a, b, c):
        n.serve(payload=200_000)  # many full-size segments, each encapsulated whole (pods use the lower MTU)
        n.sync([p for p in (a, b, c) if p is not n])
    routes = {r["dst"]: r for r in a.routes()}
    assert routes["10.244.2.0/24"]["dev"] == a.names.vxlan and routes["10.244.2.0/24"]["gateway"] == "10.244.2.0"
    assert routes["10.244.3.0/24"]["dev"] == "eth0" and routes["10.244.3.0/24"]["gateway"] == "10.250.1.2"
    link = json.loads(ha.run("ip", "-j", "-d", "link", "show", "dev", a.names.vxlan).stdout)[0]
    info = link["linkinfo"]["info_data"]
    assert (info["id"], info["port"], info["local"], link["mtu"]) == (1, 8472, "10.250.1.1", 1450)
    fdb = json.loads(ha.run("bridge", "-j", "fdb", "show", "dev", a.names.vxlan).stdout)
    assert [(f["mac"], f["dst"]) for f in fdb if f.get("dst")] == [("0e:70:0a:f4:02:00", "10.250.2.1")]
    for src, dst in ((a, b), (b, a), (b, c), (c, a)):
        got = eventually(lambda s=src, d=dst: s.fetch_from_pod(d.pod_ip), timeout=10,
                         what=f"{src.host.name}'s pod reaching {dst.host.name}'s")
        assert got == f"{dst.host.name} saw {src.pod_ip} 200000"
    assert a.sync([b, c])["changed"] is False
    a.sync([c])  # B left: its route, neighbour and forwarding entry go; no VXLAN peer is left, nor the device
    assert not a.has_link(a.names.vxlan)
    assert [r["dst"] for r in a.routes()] == ["10.244.3.0/24"]


def test_the_vxlan_backend_encapsulates_even_on_one_segment_with_the_vni_and_port_asked_for(lab: Lab) -> None:
    lan = lab.segment("lan")
    a, b = (PodHost(lab.host(f"h{i}", [(lan, f"10.250.0.{i}/24")]), f"10.244.{i}.0/24") for i in (1, 2))
    b.serve()
    for n, peer in ((a, b), (b, a)):
        n.sync([peer], backend="vxlan", vni=42, port=4789)
    assert {r["dev"] for r in a.routes()} == {a.names.vxlan}
    info = json.loads(a.host.run("ip", "-j", "-d", "link", "show", "dev", a.names.vxlan).stdout)[0]
    assert (info["linkinfo"]["info_data"]["id"], info["linkinfo"]["info_data"]["port"]) == (42, 4789)
    assert a.fetch_from_pod(b.pod_ip) == f"{b.host.name} saw {a.pod_ip} 0"
    a.teardown()
    assert not a.has_link(a.names.vxlan) and a.routes() == []
