"""The Node object this agent registers and the Lease it renews: real capacity, NodeReady, where its server
listens (``status.daemonEndpoints.kubeletEndpoint.Port`` on the InternalIP), as the kubelet reports them."""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
from pathlib import Path

MAX_PODS = 110
LEASE_NAMESPACE = "kube-node-lease"
LEASE_SECONDS = 40


def local_name() -> str:
    """``PORTSIDE_NODE_NAME``, else the host name (lower case, as Kubernetes requires)."""
    return os.environ.get("PORTSIDE_NODE_NAME") or socket.gethostname().lower()


def now(micro: bool = False) -> str:
    stamp = dt.datetime.now(dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def memory_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def capacity(engine_root: Path) -> dict[str, str]:
    disk = os.statvfs(engine_root)
    return {"cpu": str(os.cpu_count() or 1), "memory": f"{memory_bytes() // 1024}Ki", "pods": str(MAX_PODS),
            "ephemeral-storage": str(disk.f_blocks * disk.f_frsize)}


def ready_condition(stamp: str) -> dict[str, str]:
    return {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "portside agent is posting "
            "ready status", "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}


def node_status(engine_root: Path, host_ip: str, port: int, hostname: str) -> dict:
    cap, stamp = capacity(engine_root), now()
    uname = os.uname()
    return {"capacity": cap, "allocatable": dict(cap), "conditions": [ready_condition(stamp)],
            "addresses": [{"type": "InternalIP", "address": host_ip}, {"type": "Hostname", "address": hostname}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            "nodeInfo": {"machineID": _machine_id(), "systemUUID": "", "bootID": "", "kernelVersion": uname.release,
                         "osImage": _os_image(), "containerRuntimeVersion": "portside://1", "kubeletVersion":
                         "v1.32.0-portside", "kubeProxyVersion": "", "operatingSystem": "linux",
                         "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(),
                                                                                     platform.machine())}}


def node_object(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "node-role.kubernetes.io/control-plane": ""}}}


def lease_object(name: str) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": LEASE_NAMESPACE},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now(True)}}


def _machine_id() -> str:
    try:
        return Path("/etc/machine-id").read_text().strip()
    except OSError:
        return ""


def _os_image() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "Linux"
