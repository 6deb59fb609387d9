"""A node's place in the cluster before it runs pods: its Node registered (labels, taints, pod CIDR) and its engine
network made from that pod CIDR, under names that carry the node.

Why names carry the node: several agents may share one kernel (tests run hosts as network namespaces; cgroups
are machine-wide even then), so the bridge (hence its nftables table ``portside_<bridge>``) and the cgroup parent
are derived from the node's name. Network namespaces are pinned under the engine root, which is the node's own.

Which subnet the pod bridge gets:
- ``ROOT/engine.json`` names one: the operator chose it, and the Node is registered with it as its podCIDR (as a
  kubelet with ``--pod-cidr``); the node-ipam controller keeps a podCIDR a Node came with.
- the root's network was used before without one (its default 10.88.0.0/16, with containers on it): it stays, and
  is claimed the same way, since moving a bridge under running containers would cut them off.
- otherwise (a fresh root): the podCIDR node-ipam allocates, written to ``engine.json`` with the names, before
  anything of the engine reads it.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import logging
import os
from pathlib import Path

from portside.agent import node as nodes
from portside.api import models
from portside.api.wellknown import CLUSTER_CIDR_ANNOTATION
from portside.client import AlreadyExists, Client

log = logging.getLogger("portside.agent")
DEFAULT_SUBNET = "10.88.0.0/16"  # the engine's own default, claimed by a root already using it
POD_CIDR_TIMEOUT_S = 30.0


def bridge_name(node: str) -> str:
    """``ps`` and 10 hex digits of the node name's hash: unique per node and within the 15 characters Linux allows."""
    return "ps" + hashlib.sha256(node.encode()).hexdigest()[:10]


def cgroup_parent(node: str) -> str:
    return f"portside-{node}"


def configured_subnet(root: Path) -> str:
    """The subnet the root is already committed to, or "" when the node's pod CIDR may decide it."""
    settings = _settings(root)
    if settings.get("subnet"):
        return settings["subnet"]
    return DEFAULT_SUBNET if (root / "network").exists() else ""


def write_settings(root: Path, node: str, pod_cidr: str, cluster_cidr: str = "") -> dict:
    """``engine.json`` with the pod CIDR as subnet and node-derived names for what it does not set already, and
    the cluster's pod range when the subnet is a share of it (so that pod routes and un-NATed pod traffic follow;
    a root that keeps a network of its own outside the range stays a node whose pods only it reaches)."""
    settings = _settings(root)
    wanted = {"bridge": bridge_name(node), "subnet": pod_cidr, "cgroup_parent": cgroup_parent(node), **settings}
    if cluster_cidr and "cluster_cidr" not in settings and _within(wanted["subnet"], cluster_cidr):
        wanted["cluster_cidr"] = cluster_cidr
    if wanted != settings:
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / "engine.json.tmp"
        tmp.write_text(json.dumps(wanted, indent=2) + "\n")
        os.replace(tmp, root / "engine.json")
    return wanted


def _within(subnet: str, cluster_cidr: str) -> bool:
    try:
        return ipaddress.IPv4Network(subnet).subnet_of(ipaddress.IPv4Network(cluster_cidr))
    except ValueError:
        return False


def engine_cluster_cidr(root: Path) -> str:
    """The cluster's pod range this engine root's network is a share of, else "" (for the node's proxy)."""
    return _settings(root).get("cluster_cidr", "")


def _settings(root: Path) -> dict:
    try:
        return json.loads((root / "engine.json").read_text())
    except FileNotFoundError:
        return {}


def registration(name: str, labels: dict[str, str], taints: list[dict], pod_cidr: str,
                 control_plane: bool) -> models.Node:
    """The Node as first created: the agent's usual labels plus ``labels``, ``taints``, a claimed podCIDR."""
    obj = nodes.node_object(name)
    if not control_plane:
        obj.metadata.labels.pop("node-role.kubernetes.io/control-plane", None)
    obj.metadata.labels.update(labels)
    if taints or pod_cidr:
        obj.spec = models.NodeSpec(taints=[models.Taint.from_dict(t) for t in taints] or None,
                                   pod_cidr=pod_cidr or None, pod_cidrs=[pod_cidr] if pod_cidr else None)
    return obj


async def register(client: Client, root: Path, name: str, labels: dict[str, str] | None = None,
                   taints: list[dict] | None = None, control_plane: bool = False,
                   timeout: float = POD_CIDR_TIMEOUT_S) -> str:
    """Create the Node (an existing one is kept as it is), wait for its podCIDR, write the engine settings;
    returns the podCIDR. TimeoutError says what is missing when none comes."""
    claimed = configured_subnet(root)
    try:
        await client.create("nodes", registration(name, labels or {}, taints or [], claimed, control_plane))
    except AlreadyExists:
        pass
    cidr, cluster = await _pod_cidr(client, name, timeout)
    if claimed and cidr != claimed:
        log.warning("node %s: podCIDR is %s but this engine root's network is %s; pods keep using %s", name, cidr,
                    claimed, claimed)
    write_settings(root, name, claimed or cidr, cluster)
    return cidr


async def _pod_cidr(client: Client, name: str, timeout: float) -> tuple[str, str]:
    """The Node's podCIDR, and the cluster's pod range when node-ipam announced it (it announces it with the
    podCIDR it gives; a Node that registered with a podCIDR of its own may be seen before the announcement, and
    its network is then its own)."""
    try:
        async with asyncio.timeout(timeout):
            async for event in client.watch("nodes", field_selector=f"metadata.name={name}"):
                cidr = event.object.spec.pod_cidr if event.object.spec else None
                cluster = (event.object.metadata.annotations or {}).get(CLUSTER_CIDR_ANNOTATION, "")
                if cidr and event.type != "DELETED":
                    return cidr, cluster
    except TimeoutError:
        raise TimeoutError(f"node {name} got no pod CIDR within {timeout:.0f} s: is the node-ipam controller "
                           f"running on the server (portside up without --disable node-ipam)?") from None
    raise TimeoutError(f"the watch of node {name} ended before it got a pod CIDR")
