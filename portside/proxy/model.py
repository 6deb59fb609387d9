"""What the proxy serves, as plain data: one ``ServicePort`` per (Service, port) from a Service and its Endpoints.

Both data planes consume these snapshots and nothing else, so everything Kubernetes-shaped (port matching by
name, ready vs not-ready addresses, affinity defaults, the algorithm annotation) is decided here, once, and tested
on dicts.

Endpoints ports are matched to Service ports by name, as kube-proxy does: a one-port Service's port is usually
unnamed, and so is the Endpoints port the controller writes for it. Only ``addresses`` become backends;
``notReadyAddresses`` never get new connections.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from portside.proxy.balance import ALGORITHMS, Backend

__all__ = ["ALGORITHM_ANNOTATION", "DEFAULT_AFFINITY_S", "ServicePort", "service_ports", "short_id"]

ALGORITHM_ANNOTATION = "portside.io/lb-algorithm"
DEFAULT_AFFINITY_S = 10800  # Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds
Obj = dict[str, Any]


def short_id(text: str) -> str:
    """A stable 12-character id, used where names must be short (nft chain names)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service and the ready backends behind it."""

    namespace: str
    service: str
    port_name: str
    protocol: str  # "tcp" or "udp"
    port: int
    type: str = "ClusterIP"
    cluster_ip: str = ""
    node_port: int = 0
    affinity_s: int = 0  # 0: no session affinity
    algorithm: str = "round-robin"
    backends: tuple[Backend, ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.service}:{self.port_name or self.port}/{self.protocol}"

    @property
    def service_key(self) -> str:
        return f"{self.namespace}/{self.service}"

    @property
    def id(self) -> str:
        return short_id(self.key)

    @property
    def load_balancer(self) -> bool:
        return self.type == "LoadBalancer"


def _affinity(spec: Obj) -> int:
    if spec.get("sessionAffinity") != "ClientIP":
        return 0
    config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    return int(config.get("timeoutSeconds") or DEFAULT_AFFINITY_S)


def algorithm(service: Obj) -> tuple[str, str]:
    """The annotation's algorithm, and a warning when it names none we know (round-robin is used then)."""
    name = ((service.get("metadata") or {}).get("annotations") or {}).get(ALGORITHM_ANNOTATION, "round-robin")
    if name in ALGORITHMS:
        return name, ""
    return "round-robin", (f'annotation {ALGORITHM_ANNOTATION}: unknown algorithm "{name}" (expected one of: '
                           f'{", ".join(ALGORITHMS)}); using round-robin')


def backends(endpoints: Obj | None, port_name: str, protocol: str) -> tuple[Backend, ...]:
    """Ready addresses of every subset that serves the named port, sorted and without duplicates."""
    found: set[Backend] = set()
    for subset in (endpoints or {}).get("subsets") or []:
        for eport in subset.get("ports") or []:
            if (eport.get("name") or "") == port_name and eport.get("protocol", "TCP").lower() == protocol:
                found.update(Backend(a["ip"], int(eport["port"])) for a in subset.get("addresses") or [])
    return tuple(sorted(found))


def service_ports(service: Obj, endpoints: Obj | None) -> list[ServicePort]:
    """Every port the proxy should serve for ``service``; none for headless and ExternalName Services."""
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    if kind == "ExternalName" or spec.get("clusterIP") == "None":
        return []
    algo, _ = algorithm(service)
    out = []
    for p in spec.get("ports") or []:
        name, protocol = p.get("name") or "", (p.get("protocol") or "TCP").lower()
        if protocol not in ("tcp", "udp"):
            continue
        out.append(ServicePort(meta.get("namespace", "default"), meta["name"], name, protocol, int(p["port"]), kind,
                               spec.get("clusterIP") or "", int(p.get("nodePort") or 0), _affinity(spec), algo,
                               backends(endpoints, name, protocol)))
    return out
