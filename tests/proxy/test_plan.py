"""Which plane serves what, per mode, and host-port conflicts between Services: pure."""

from __future__ import annotations

from support.builders import endpoints
from support.builders import stored_service as service

from portside.proxy.plan import plan

LB = service("web", [{"port": 8080, "nodePort": 30080}], type="LoadBalancer", created="2026-01-01T00:00:00Z")
CIP = service("db", [{"port": 5432}], cluster_ip="10.96.0.11")
EPS = {"default/web": endpoints("web", [("127.0.0.1", 9000)]), "default/db": endpoints("db", [("10.1.0.3", 5432)])}


def test_auto_with_nft_kernel_for_cluster_ips_userspace_for_load_balancer_ports() -> None:
    p = plan([LB, CIP], EPS, "auto", kernel_works=True)
    assert sorted(sp.key for sp in p.kernel) == ["default/db:5432/tcp", "default/web:8080/tcp"]
    assert {k: port for k, (_, port) in p.userspace.items()} == {"default/web:8080/tcp": 8080}


def test_auto_without_nft_serves_node_ports_in_userspace_too() -> None:
    np = service("np", [{"port": 81, "nodePort": 30081}], type="NodePort", cluster_ip="10.96.0.13")
    p = plan([LB, CIP, np], EPS, "auto", kernel_works=False)
    assert p.kernel == []
    assert {k: port for k, (_, port) in p.userspace.items()} == {"default/web:8080/tcp": 8080,
                                                                  "default/np:81/tcp": 30081}


def test_kernel_mode_serves_everything_in_nft() -> None:
    p = plan([LB, CIP], EPS, "kernel", kernel_works=True)
    assert len(p.kernel) == 2 and p.userspace == {}


def test_the_older_service_keeps_a_contested_port() -> None:
    younger = service("web2", [{"port": 8080}], type="LoadBalancer", created="2026-02-01T00:00:00Z")
    p = plan([younger, LB], EPS, "auto", kernel_works=True)
    assert list(p.userspace) == ["default/web:8080/tcp"]
    assert p.conflicts == {"default/web2": ["port 8080/TCP is already used by Service default/web"]}


def test_udp_ports_stay_in_the_kernel() -> None:
    dns = service("dns", [{"port": 53, "protocol": "UDP"}], type="LoadBalancer")
    p = plan([dns], {}, "auto", kernel_works=True)
    assert [sp.protocol for sp in p.kernel] == ["udp"] and p.userspace == {}


def test_bad_annotation_is_a_warning_not_a_failure() -> None:
    odd = service("odd", [{"port": 80}], annotations={"portside.io/lb-algorithm": "nope"})
    p = plan([odd], {}, "auto", kernel_works=True)
    assert "unknown algorithm \"nope\"" in p.warnings["default/odd"][0]
    assert p.kernel[0].algorithm == "round-robin"
