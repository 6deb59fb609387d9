"""Service and Endpoints dicts as the API returns them, for the pure tests and the ones against a real cluster."""

from __future__ import annotations

from typing import Any


def service(name: str, ports: list[dict[str, Any]], type: str = "ClusterIP", cluster_ip: str = "10.96.0.10",
            namespace: str = "default", annotations: dict[str, str] | None = None, created: str = "",
            **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}"}
    if annotations:
        meta["annotations"] = annotations
    if created:
        meta["creationTimestamp"] = created
    body: dict[str, Any] = {"ports": ports, "type": type, **spec}
    if cluster_ip:
        body["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": body}


def endpoints(name: str, ready: list[tuple[str, int]], not_ready: list[tuple[str, int]] = (),
              port_name: str = "", namespace: str = "default", protocol: str = "TCP") -> dict[str, Any]:
    """One subset per backend port (addresses may serve different numbers, as after a rollout)."""
    subsets = []
    for port in sorted({p for _, p in [*ready, *not_ready]}):
        subset: dict[str, Any] = {"ports": [{"port": port, "protocol": protocol, **({"name": port_name}
                                                                                     if port_name else {})}]}
        addresses = [{"ip": ip} for ip, p in ready if p == port]
        waiting = [{"ip": ip} for ip, p in not_ready if p == port]
        if addresses:
            subset["addresses"] = addresses
        if waiting:
            subset["notReadyAddresses"] = waiting
        subsets.append(subset)
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": namespace},
            "subsets": subsets}
