"""Node IPAM: every Node gets a pod CIDR (``spec.podCIDR``) from the cluster's range, as kube-controller-manager's
range allocator gives them: ``--cluster-cidr`` (10.42.0.0/16 by default, k3s' range) cut into one /24 per node.

The node's agent makes its pod bridge's subnet that CIDR, so pod addresses never collide across nodes and a later
route per node (host-gw, VXLAN) can reach them. A Node registered with a podCIDR of its own (an agent whose
engine network is configured, like a kubelet started with ``--pod-cidr``) keeps it; one inside the range is
marked as taken. Blocks are handed out lowest first; a deleted Node's block is free again.

The allocation itself (``first_free``) is a pure function over the taken set; the controller follows Nodes with
one watch and patches the ones without a CIDR.
"""

from __future__ import annotations

import ipaddress
import logging
from ipaddress import IPv4Network

from portside.api.models import Node
from portside.api.wellknown import CLUSTER_CIDR_ANNOTATION
from portside.client import ApiError, Client, EventRecorder, NotFound

log = logging.getLogger("portside.controllers.nodeipam")
DEFAULT_CLUSTER_CIDR = "10.42.0.0/16"
NODE_MASK = 24


def parse_range(text: str, node_mask: int = NODE_MASK) -> IPv4Network:
    """The cluster range; ValueError naming what is wrong (a range smaller than one node's block, say)."""
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"--cluster-cidr {text!r}: {exc} (expected an IPv4 network such as 10.42.0.0/16)") from None
    if net.prefixlen > node_mask:
        raise ValueError(f"--cluster-cidr {text!r}: /{net.prefixlen} is smaller than one node's /{node_mask}")
    return net


def first_free(cluster: IPv4Network, taken: set[IPv4Network], node_mask: int = NODE_MASK) -> IPv4Network | None:
    """The lowest /node_mask block of ``cluster`` that overlaps nothing in ``taken``; None when all are."""
    for block in cluster.subnets(new_prefix=node_mask):
        if not any(block.overlaps(t) for t in taken):
            return block
    return None


def pod_cidr(node: Node) -> IPv4Network | None:
    text = node.spec.pod_cidr if node.spec else None
    try:
        return ipaddress.IPv4Network(text) if text else None
    except ValueError:
        return None


class NodeIPAM:
    """Cuts a pod CIDR per Node from the cluster's range, and tells every Node that range
    (``CLUSTER_CIDR_ANNOTATION``), as flannel's network config does: a node's agent needs it to route to the other
    nodes' pods and to leave pod-to-pod traffic un-NATed."""

    def __init__(self, client: Client, cluster: IPv4Network, node_mask: int = NODE_MASK) -> None:
        self.client, self.cluster, self.node_mask = client, cluster, node_mask
        self.taken: dict[str, IPv4Network] = {}  # node name -> its block
        self.events = EventRecorder(client, "node-ipam-controller")

    async def run(self, ready) -> None:
        listed = await self.client.list("nodes")
        for node in listed.items:
            self._note(node)
        for node in listed.items:
            await self.sync(node)
        ready.set()
        async for event in self.client.watch("nodes", resource_version=listed.resource_version, known=listed.items):
            if event.type == "DELETED":
                self.taken.pop(event.name, None)
            else:
                self._note(event.object)
                await self.sync(event.object)

    def _note(self, node: Node) -> None:
        cidr = pod_cidr(node)
        if cidr is not None:
            self.taken[node.metadata.name] = cidr

    async def sync(self, node: Node) -> None:
        name = node.metadata.name
        if pod_cidr(node) is not None:
            await self._announce_range(node)
            return
        block = first_free(self.cluster, set(self.taken.values()), self.node_mask)
        if block is None:
            message = f"no pod CIDR left in {self.cluster} for node {name} (every /{self.node_mask} is taken)"
            log.warning("node-ipam: %s", message)
            self.events.emit(node, "Warning", "CIDRNotAvailable", message)
            return
        try:
            await self.client.patch("nodes", name, {"metadata": {"annotations": {CLUSTER_CIDR_ANNOTATION: str(self.cluster)}},
                                                    "spec": {"podCIDR": str(block), "podCIDRs": [str(block)]}})
        except NotFound:
            return
        except ApiError as exc:
            log.warning("node-ipam: node %s: pod CIDR %s not set: %s", name, block, exc)
            return
        self.taken[name] = block
        log.info("node-ipam: node %s: pod CIDR %s", name, block)

    async def _announce_range(self, node: Node) -> None:
        """The cluster's range on a Node that registered with a pod CIDR of its own (or got one earlier)."""
        annotations = node.metadata.annotations or {}
        if annotations.get(CLUSTER_CIDR_ANNOTATION) == str(self.cluster):
            return
        try:
            await self.client.patch("nodes", node.metadata.name,
                                    {"metadata": {"annotations": {CLUSTER_CIDR_ANNOTATION: str(self.cluster)}}})
        except ApiError as exc:
            log.warning("node-ipam: node %s: cluster range not announced: %s", node.metadata.name, exc)
