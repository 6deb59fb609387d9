"""Machine-wide names of one node, derived in one place.

A kernel is shared by every agent that runs on it (tests run several, each in a network namespace of its own as
its "host"): cgroups are machine-wide, and a bridge, an nftables table or a VXLAN device is unique inside its
network namespace. So every such name a node's agent, engine and proxy use carries the node: two agents on one
kernel never touch each other's. Interface names are at most 15 characters, so they carry a hash of the node
name rather than the name itself; the cgroup parent, which a person reads in the hierarchy, carries the name.

A single-node ``portside up`` keeps the historical defaults (``portside0``, ``portside``, a proxy table per
process): ``for_node`` is for an agent that runs as a joined node, and ``engine_settings`` gives the
``ROOT/engine.json`` such a node's engine reads.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from portside.runtime.errors import InvalidArgument

# A Kubernetes node name: a DNS-1123 subdomain.
_NODE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_READABLE_MAX = 48  # longer names make the cgroup parent a hash too
VXLAN_OVERHEAD = 50  # outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14


@dataclass(frozen=True)
class NodeNames:
    bridge: str  # the pods' bridge; its nftables table is ``portside_<bridge>`` (see nft.table_name)
    vxlan: str  # the VXLAN device of the pod network's overlay
    cgroup_parent: str
    proxy_table: str  # the service proxy's nftables table


def _hash(node: str) -> str:
    return hashlib.sha256(node.encode()).hexdigest()[:8]


def for_node(node: str) -> NodeNames:
    """The names of node ``node``; the same name always gives the same names (a restarted agent finds its own)."""
    if len(node) > 253 or not _NODE.fullmatch(node):
        raise InvalidArgument(f'node name "{node}" must be a DNS subdomain: lower-case letters, digits, "-" and '
                              '"." (at most 253 characters)')
    h = _hash(node)
    parent = f"portside-{node}" if len(node) <= _READABLE_MAX else f"portside-{h}"
    return NodeNames(bridge=f"psb-{h}", vxlan=f"psx-{h}", cgroup_parent=parent, proxy_table=f"portside_svc_{h}")


def pod_mtu(backend: str, underlay_mtu: int = 1500) -> int:
    """The pods' MTU: the underlay's, less the VXLAN header when traffic may be encapsulated (``auto`` may pick
    VXLAN for some peers, so it pays the overhead too, as flannel's vxlan backend does)."""
    return underlay_mtu if backend == "host-gw" else underlay_mtu - VXLAN_OVERHEAD


def engine_settings(node: str, pod_cidr: str, cluster_cidr: str, mtu: int = 0) -> dict:
    """``ROOT/engine.json`` for a joined node: its own bridge on its pod CIDR, pods' traffic to the cluster's pod
    range left un-NATed, its own cgroup parent (and the pods' MTU when ``mtu``)."""
    names = for_node(node)
    settings = {"bridge": names.bridge, "subnet": pod_cidr, "cgroup_parent": names.cgroup_parent,
                "cluster_cidr": cluster_cidr}
    if mtu:
        settings["mtu"] = mtu
    return settings
