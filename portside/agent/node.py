"""The Node object this agent registers and the Lease it renews: real capacity, NodeReady, where its server
listens (``status.daemonEndpoints.kubeletEndpoint.Port`` on the InternalIP), as the kubelet reports them."""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
from pathlib import Path

from portside.api import models

MAX_PODS = 110
LEASE_NAMESPACE = "kube-node-lease"
LEASE_SECONDS = 5  # the server's default --node-monitor-grace, as the kubelet's 40 s matches Kubernetes' default


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


def ready_condition(stamp: str) -> models.NodeCondition:
    return models.NodeCondition(type="Ready", status="True", reason="KubeletReady",
                                message="portside agent is posting ready status", last_heartbeat_time=stamp,
                                last_transition_time=stamp)


def node_status(engine_root: Path, host_ip: str, port: int, hostname: str) -> models.NodeStatus:
    cap, stamp = capacity(engine_root), now()
    uname = os.uname()
    info = models.NodeSystemInfo(
        machine_id=_machine_id(), system_uuid="", boot_id="", kernel_version=uname.release, os_image=_os_image(),
        container_runtime_version="portside://1", kubelet_version="v1.32.0-portside", kube_proxy_version="",
        operating_system="linux",
        architecture={"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine()))
    return models.NodeStatus(
        capacity=cap, allocatable=dict(cap), conditions=[ready_condition(stamp)],
        addresses=[models.NodeAddress(type="InternalIP", address=host_ip),
                   models.NodeAddress(type="Hostname", address=hostname)],
        daemon_endpoints=models.NodeDaemonEndpoints(kubelet_endpoint=models.DaemonEndpoint(port=port)),
        node_info=info)


def node_object(name: str) -> models.Node:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "node-role.kubernetes.io/control-plane": ""}
    return models.Node(api_version="v1", kind="Node", metadata=models.ObjectMeta(name=name, labels=labels))


def lease_object(name: str) -> models.Lease:
    return models.Lease(api_version="coordination.k8s.io/v1", kind="Lease",
                        metadata=models.ObjectMeta(name=name, namespace=LEASE_NAMESPACE),
                        spec=models.LeaseSpec(holder_identity=name, lease_duration_seconds=LEASE_SECONDS,
                                              renew_time=now(True)))


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
