"""Per Service and endpoint counters, published through the API as one ConfigMap for ``portside top services``.

Why a ConfigMap (``kube-system/portside-proxy-metrics``, one key ``<namespace>.<service>`` per Service holding a
JSON document): anything that can read the API can read it (kubectl, the Python client, ``portside top``), with
the API server's authentication, and it needs no new endpoint or port. Writing an annotation on each Service
instead would bump every Service's resourceVersion each period and collide with users' updates.

What each plane can count: the userspace plane sees every byte (connections established, open now, bytes each
way, failed connects to a backend, connections refused for lack of backends); the kernel plane counts new
connections per endpoint (an nft counter in the endpoint's DNAT chain, which only a connection's first packet
traverses). The numbers are cumulative since the endpoint appeared in this proxy.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CONFIGMAP", "NAMESPACE", "EndpointMetrics", "data_key", "merge", "rows"]

NAMESPACE, CONFIGMAP = "kube-system", "portside-proxy-metrics"


@dataclass
class EndpointMetrics:
    plane: str
    connections: int = 0
    active: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    errors: int = 0


def data_key(service_key: str) -> str:
    """ConfigMap keys allow ``[-._a-zA-Z0-9]``: ``default/web`` becomes ``default.web``."""
    return service_key.replace("/", ".", 1)


def merge(userspace: dict[str, dict[str, Any]], kernel: dict[tuple[str, str], int]) -> dict[str, str]:
    """ConfigMap data from the userspace plane's stats (by port key) and the kernel's connection counts."""
    services: dict[str, dict[str, Any]] = {}
    for port_key, entry in userspace.items():
        service = port_key.split(":", 1)[0]
        doc = services.setdefault(service, {"refused": 0, "endpoints": {}})
        doc["refused"] += entry.get("refused", 0)
        for backend, values in entry.get("backends", {}).items():
            # Two ports of one Service may share a backend (80 and 8080 both to 5000): their counts add up.
            name = f"{backend}/userspace"
            before = doc["endpoints"].get(name)
            counts = [a + b for a, b in zip(_counts(before), values)] if before else list(values)
            doc["endpoints"][name] = asdict(EndpointMetrics("userspace", *counts))
    for (service, backend), conns in kernel.items():
        doc = services.setdefault(service, {"refused": 0, "endpoints": {}})
        doc["endpoints"][f"{backend}/kernel"] = asdict(EndpointMetrics("kernel", conns))
    return {data_key(s): json.dumps(doc, sort_keys=True) for s, doc in sorted(services.items())}


def _counts(m: dict[str, Any]) -> list[int]:
    return [m["connections"], m["active"], m["bytes_in"], m["bytes_out"], m["errors"]]


def rows(data: dict[str, str]) -> list[list[str]]:
    """Table rows for ``portside top services``: one per (Service, endpoint, plane)."""
    out = []
    for key in sorted(data):
        doc = json.loads(data[key])
        service = key.replace(".", "/", 1)
        for name, m in sorted(doc.get("endpoints", {}).items()):
            endpoint = name.rsplit("/", 1)[0]
            out.append([service, endpoint, m["plane"], str(m["connections"]), str(m["active"]),
                        str(m["bytes_in"]), str(m["bytes_out"]), str(m["errors"])])
        if doc.get("refused"):
            out.append([service, "(none)", "userspace", "0", "0", "0", "0", f"refused:{doc['refused']}"])
    return out
