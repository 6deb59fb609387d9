"""Service ClusterIP and NodePort allocation, persisted as store keys written in the Service's own transaction.

Each allocated IP or port is one key (``/registry/ranges/serviceips/10.96.0.12``) created in the same commit as
the Service and deleted in the same commit as its removal, so a crash can neither leak nor double-book an
address, and a restart needs no repair pass. A random pick that collides (the key exists) is simply retried.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from portside.store import Create, Delete, KeyExists, Write

SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")
NODE_PORTS = range(30000, 32768)
IP_PREFIX = "/registry/ranges/serviceips/"
PORT_PREFIX = "/registry/ranges/servicenodeports/"
KUBERNETES_SERVICE_IP = str(SERVICE_RANGE[1])


class AllocationError(Exception):
    """A requested address is taken or outside the range; ``path`` names the field."""

    def __init__(self, path: str, value: Any, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path, self.value, self.detail = path, value, detail


def is_allocation_key(key: str) -> bool:
    return key.startswith(IP_PREFIX) or key.startswith(PORT_PREFIX)


def _wants_ip(spec: dict[str, Any]) -> bool:
    return spec.get("type", "ClusterIP") != "ExternalName" and spec.get("clusterIP") != "None"


def _wants_node_ports(spec: dict[str, Any]) -> bool:
    return spec.get("type") in ("NodePort", "LoadBalancer")


STATIC_BAND = 256  # the lowest addresses, left to Services that ask for one (KEP-3070): kubernetes, kube-dns


def _random_ip() -> str:
    # Above the static band, so that a random pick never takes an address a well-known Service asks for later.
    return str(SERVICE_RANGE[random.randrange(STATIC_BAND, SERVICE_RANGE.num_addresses - 1)])


def assign(spec: dict[str, Any]) -> set[str]:
    """Fill in a ClusterIP and node ports where the spec lacks them; return the fields that were chosen here."""
    chosen: set[str] = set()
    if _wants_ip(spec) and not spec.get("clusterIP"):
        spec["clusterIP"] = _random_ip()
        spec["clusterIPs"] = [spec["clusterIP"]]
        chosen.add("spec.clusterIP")
    elif spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    if _wants_node_ports(spec):
        for i, port in enumerate(spec.get("ports") or []):
            if not port.get("nodePort"):
                port["nodePort"] = random.choice(NODE_PORTS)
                chosen.add(f"spec.ports[{i}].nodePort")
    return chosen


def check_ranges(spec: dict[str, Any]) -> None:
    ip = spec.get("clusterIP")
    if ip and ip != "None":
        try:
            inside = ipaddress.ip_address(ip) in SERVICE_RANGE
        except ValueError:
            raise AllocationError("spec.clusterIP", ip, "must be a valid IP address") from None
        if not inside:
            raise AllocationError("spec.clusterIP", ip, f"provided IP is not in the valid range. The range of valid "
                                                        f"IPs is {SERVICE_RANGE}")
    for i, port in enumerate(spec.get("ports") or []):
        node_port = port.get("nodePort")
        if node_port and node_port not in NODE_PORTS:
            raise AllocationError(f"spec.ports[{i}].nodePort", node_port,
                                  f"provided port is not in the valid range. The range of valid ports is "
                                  f"{NODE_PORTS.start}-{NODE_PORTS.stop - 1}")


def keys_of(obj: dict[str, Any]) -> dict[str, str]:
    """The allocation keys a Service holds, mapped to the field that holds each."""
    spec = obj.get("spec") or {}
    held = {}
    if _wants_ip(spec) and spec.get("clusterIP"):
        held[IP_PREFIX + spec["clusterIP"]] = "spec.clusterIP"
    if _wants_node_ports(spec):
        for i, port in enumerate(spec.get("ports") or []):
            if port.get("nodePort"):
                held[f"{PORT_PREFIX}{port.get('protocol', 'TCP')}/{port['nodePort']}"] = f"spec.ports[{i}].nodePort"
    return held


def writes(owner_key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Write]:
    """Creates for keys ``new`` holds that ``old`` did not, deletes for the reverse."""
    before, after = keys_of(old or {}), keys_of(new or {})
    out: list[Write] = [Create(k, owner_key.encode()) for k in after if k not in before]
    out += [Delete(k) for k in before if k not in after]
    return out


def explain_collision(error: KeyExists, obj: dict[str, Any], chosen: set[str]) -> AllocationError | None:
    """None when the collision was on a value picked at random here (pick again); else the user's field error."""
    field = keys_of(obj).get(error.key)
    if field is None or field in chosen:
        return None
    value = error.key.rsplit("/", 1)[1]
    return AllocationError(field, value, "provided IP is already allocated" if field == "spec.clusterIP"
                           else "provided port is already allocated")


def clear_chosen(spec: dict[str, Any], chosen: set[str]) -> None:
    """Forget the random picks before a retry, so ``assign`` picks again."""
    if "spec.clusterIP" in chosen:
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    for i, port in enumerate(spec.get("ports") or []):
        if f"spec.ports[{i}].nodePort" in chosen:
            port.pop("nodePort", None)
