"""Which data plane serves what, as a pure function of the Services, their Endpoints and the configured mode.

Modes:
- ``auto`` (the default): the kernel plane when nft can be used, else as ``userspace``.
- ``kernel``: everything in nftables, LoadBalancer ports too (DNAT on local addresses, like a NodePort).
- ``userspace``: LoadBalancer ports and NodePorts as listening sockets on the host. ClusterIPs need the kernel
  (nothing owns a virtual address to listen on), so they are not served in this mode.

In ``auto`` with nft working, ClusterIP and NodePort go to the kernel (cheapest path, no process in the byte
path) and LoadBalancer ports to the userspace proxy, which owns real listening sockets: a port conflict is then
found at bind time and reported, and the selection algorithms of the annotation apply.

Two Services asking for the same host port: the older one (by creation time, then name) keeps it, the other gets
a conflict; never two listeners fighting silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portside.proxy.model import ServicePort, algorithm, service_ports
from portside.proxy.workers import Binding

__all__ = ["MODES", "Plan", "plan"]

MODES = ("auto", "kernel", "userspace")
Obj = dict[str, Any]


@dataclass
class Plan:
    kernel: list[ServicePort] = field(default_factory=list)
    userspace: dict[str, Binding] = field(default_factory=dict)
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # service key -> reasons
    warnings: dict[str, list[str]] = field(default_factory=dict)  # service key -> reasons


def _age(service: Obj) -> tuple[str, str, str]:
    meta = service.get("metadata") or {}
    return meta.get("creationTimestamp", ""), meta.get("namespace", ""), meta.get("name", "")


def _endpoints_key(service: Obj) -> str:
    meta = service.get("metadata") or {}
    return f"{meta.get('namespace', 'default')}/{meta['name']}"


def _userspace_port(sp: ServicePort, kernel: bool) -> int:
    if sp.load_balancer:
        return sp.port
    return 0 if kernel else sp.node_port


def plan(services: list[Obj], endpoints: dict[str, Obj], mode: str, kernel_works: bool) -> Plan:
    """``endpoints`` is keyed ``namespace/name``; ``kernel_works`` says whether nft can be used here."""
    kernel = mode == "kernel" or (mode == "auto" and kernel_works)
    out, owners = Plan(), {}
    for service in sorted(services, key=_age):
        key = _endpoints_key(service)
        _, warning = algorithm(service)
        if warning:
            out.warnings.setdefault(key, []).append(warning)
        for sp in service_ports(service, endpoints.get(key)):
            if kernel:
                out.kernel.append(sp)
            port = 0 if mode == "kernel" else _userspace_port(sp, kernel)
            if not port or sp.protocol != "tcp":
                continue
            holder = owners.setdefault(port, sp.service_key)
            if holder != sp.service_key:
                out.conflicts.setdefault(key, []).append(f"port {port}/TCP is already used by Service {holder}")
                continue
            out.userspace[sp.key] = (sp, port)
    return out
