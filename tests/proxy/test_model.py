"""Service snapshots from API objects: port matching by name, ready vs not-ready, affinity and annotation."""

from __future__ import annotations

from support.builders import endpoints
from support.builders import stored_service as service

from portside.proxy.balance import Backend
from portside.proxy.model import ServicePort, algorithm, service_ports


def test_only_ready_addresses_become_backends() -> None:
    svc = service("web", [{"port": 80, "targetPort": 8080, "protocol": "TCP"}])
    eps = endpoints("web", ready=[("10.1.0.2", 8080), ("10.1.0.3", 8080)], not_ready=[("10.1.0.4", 8080)])
    [sp] = service_ports(svc, eps)
    assert sp == ServicePort("default", "web", "", "tcp", 80, "ClusterIP", "10.96.0.10", 0, 0, "round-robin",
                             (Backend("10.1.0.2", 8080), Backend("10.1.0.3", 8080)))
    assert sp.key == "default/web:80/tcp"


def test_ports_are_matched_by_name_and_protocol() -> None:
    svc = service("dns", [{"name": "dns", "port": 53, "protocol": "UDP"},
                          {"name": "dns-tcp", "port": 53, "protocol": "TCP"}])
    eps = {"subsets": [{"addresses": [{"ip": "10.1.0.9"}],
                        "ports": [{"name": "dns", "port": 5353, "protocol": "UDP"},
                                  {"name": "dns-tcp", "port": 5354, "protocol": "TCP"}]}]}
    udp, tcp = service_ports(svc, eps)
    assert (udp.protocol, udp.backends) == ("udp", (Backend("10.1.0.9", 5353),))
    assert (tcp.protocol, tcp.backends) == ("tcp", (Backend("10.1.0.9", 5354),))


def test_backends_of_several_subsets_are_merged_sorted_and_unique() -> None:
    svc = service("web", [{"port": 80}])
    eps = endpoints("web", ready=[("10.1.0.3", 8081), ("10.1.0.2", 8080)])
    eps["subsets"].append(eps["subsets"][0])
    [sp] = service_ports(svc, eps)
    assert sp.backends == (Backend("10.1.0.2", 8080), Backend("10.1.0.3", 8081))


def test_no_endpoints_object_means_no_backends() -> None:
    [sp] = service_ports(service("web", [{"port": 80}]), None)
    assert sp.backends == ()


def test_headless_and_external_name_services_are_not_proxied() -> None:
    assert service_ports(service("h", [{"port": 80}], cluster_ip="None"), None) == []
    assert service_ports(service("x", [{"port": 80}], type="ExternalName", cluster_ip=""), None) == []


def test_session_affinity_default_and_explicit_timeouts() -> None:
    [default] = service_ports(service("a", [{"port": 80}], sessionAffinity="ClientIP"), None)
    [short] = service_ports(service("a", [{"port": 80}], sessionAffinity="ClientIP",
                                    sessionAffinityConfig={"clientIP": {"timeoutSeconds": 30}}), None)
    [none] = service_ports(service("a", [{"port": 80}], sessionAffinity="None"), None)
    assert (default.affinity_s, short.affinity_s, none.affinity_s) == (10800, 30, 0)


def test_node_port_and_load_balancer_fields() -> None:
    [sp] = service_ports(service("lb", [{"port": 80, "nodePort": 30080}], type="LoadBalancer"), None)
    assert (sp.node_port, sp.load_balancer) == (30080, True)


def test_algorithm_annotation_and_its_warning() -> None:
    good = service("a", [{"port": 80}], annotations={"portside.io/lb-algorithm": "least-connections"})
    bad = service("a", [{"port": 80}], annotations={"portside.io/lb-algorithm": "fastest"})
    assert algorithm(good) == ("least-connections", "")
    name, warning = algorithm(bad)
    assert name == "round-robin"
    assert warning == ('annotation portside.io/lb-algorithm: unknown algorithm "fastest" (expected one of: '
                       'round-robin, least-connections, power-of-two-choices); using round-robin')
    assert service_ports(bad, None)[0].algorithm == "round-robin"
