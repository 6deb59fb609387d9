"""What network policies are decided over, as plain data: pods as peers (``Peer``) and the cluster (``World``).

A pod is a peer once it has an address: one with ``hostNetwork`` shares its node's and is never selected (as in
Kubernetes, whose policies select pods by their own addresses), and a finished pod's address may already belong to
another pod. Each node's DNS is a peer too: it is not a pod here (it listens on every node's pod bridge gateway),
so it stands in for one, with the namespace, labels and port names CoreDNS pods have in kubeadm and k3s clusters.
Policies written for Kubernetes (``namespaceSelector`` kube-system and ``podSelector`` k8s-app=kube-dns, or the
port name ``dns``) then allow DNS here unchanged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from portside.api import models

__all__ = ["DNS_LABELS", "DNS_NAMESPACE", "Peer", "PodPort", "World", "dns_peer", "peer_of"]

DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns"}
FINISHED = ("Succeeded", "Failed")


@dataclass(frozen=True)
class PodPort:
    """A container port: what a policy's named port resolves to on the destination pod."""

    name: str
    protocol: str  # TCP, UDP or SCTP
    port: int


@dataclass(frozen=True)
class Peer:
    """A pod as policies see it: where it is, what it is called and labelled, and its named ports."""

    namespace: str
    name: str
    ip: str
    node: str = ""
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    ports: tuple[PodPort, ...] = ()
    pod: bool = True  # False for a node's DNS, which stands in for a pod

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def resolve(self, name: str, protocol: str) -> int | None:
        """The number of this pod's container port ``name`` for ``protocol``; None when it has none."""
        return next((p.port for p in self.ports if p.name == name and p.protocol == protocol), None)


def _ports(pod: models.Pod) -> tuple[PodPort, ...]:
    containers = [*(pod.spec.containers or []), *(pod.spec.init_containers or [])]
    return tuple(PodPort(p.name, p.protocol or "TCP", p.container_port)
                 for c in containers for p in c.ports or [] if p.name and p.container_port)


def peer_of(pod: models.Pod) -> Peer | None:
    """The pod as a peer, or None while it has no address of its own (or has finished)."""
    status, spec = pod.status, pod.spec
    if spec is None or status is None or not status.pod_ip or spec.host_network:
        return None
    if status.phase in FINISHED:
        return None
    meta = pod.metadata
    return Peer(meta.namespace or "default", meta.name or "", status.pod_ip, spec.node_name or "",
                dict(meta.labels or {}), _ports(pod))


def dns_peer(node: models.Node) -> Peer | None:
    """The node's DNS as a peer: the first address of its pod CIDR (its bridge's, where the DNS listens)."""
    cidr = node.spec.pod_cidr if node.spec else None
    if not cidr:
        return None
    ip = str(ipaddress.ip_network(cidr, strict=False).network_address + 1)
    return Peer(DNS_NAMESPACE, f"dns@{node.metadata.name}", ip, node.metadata.name or "", dict(DNS_LABELS),
                (PodPort("dns", "UDP", 53), PodPort("dns-tcp", "TCP", 53)), pod=False)


@dataclass
class World:
    """Everything a node's policy decisions read: peers, namespaces' labels and the policies."""

    peers: list[Peer] = field(default_factory=list)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    policies: list[models.NetworkPolicy] = field(default_factory=list)

    @classmethod
    def of(cls, pods: Iterable[models.Pod], namespaces: Iterable[models.Namespace],
           policies: Iterable[models.NetworkPolicy], nodes: Iterable[models.Node] = ()) -> World:
        peers = [p for p in map(peer_of, pods) if p is not None]
        peers += [p for p in map(dns_peer, nodes) if p is not None]
        labels = {ns.metadata.name: dict(ns.metadata.labels or {}) for ns in namespaces}
        return cls(peers, labels, list(policies))

    def local(self, node: str) -> list[Peer]:
        """The pods (not the DNS) that run on ``node``: the ones whose traffic this node's rules police."""
        return [p for p in self.peers if p.node == node and p.pod]
