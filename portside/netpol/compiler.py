"""Network policies to per-pod allow sets: pure, over a ``World``; no nft here.

Kubernetes' semantics, decided once for each pod of the node:

- A pod is isolated for ingress (egress) when any policy of its namespace selects it and names that direction in
  its ``policyTypes``; a pod no policy isolates is open in that direction (``None`` in ``PodRules``).
- An isolated pod may receive (send) what any rule of any of those policies allows: the union. No rules is the
  empty union, which denies everything.
- A rule allows its peers times its ports. No peers means every address; no ports means every port of every
  protocol. A peer is pods (``podSelector`` in the policy's namespace; ``namespaceSelector`` alone: every pod of
  the namespaces it picks; both in one peer: the pods it picks in those namespaces, ANDed) or an ``ipBlock`` (its
  ``cidr`` less its ``except`` blocks). Peers in one rule are ORed.
- A port is a number (up to ``endPort``), every port of its protocol when unset, or a name, resolved against the
  destination pod's container ports: on ingress the isolated pod's own, on egress each peer pod's (so a named
  egress port allows, per destination pod that has a port of that name and protocol, that pod's address and port).

``Allow`` sets are normalized (rules with the same ports share one collapsed address list, port ranges merged),
so equal meanings compile to equal data, and the rule text and its chain name that follow are equal too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from portside.api import models, selector_from_object
from portside.netpol.model import Peer, World

__all__ = ["ALL_PORTS", "Allow", "PodRules", "PortRange", "compile_node", "pod_rules", "selects"]

Network = ipaddress.IPv4Network


@dataclass(frozen=True, order=True)
class PortRange:
    """Ports ``first``-``last`` of one protocol (nft's name: tcp, udp, sctp)."""

    protocol: str
    first: int
    last: int

    @property
    def every(self) -> bool:
        return (self.first, self.last) == ALL_PORTS


ALL_PORTS = (0, 65535)


@dataclass(frozen=True)
class Allow:
    """Traffic one rule lets through: to or from ``peers`` (None: any address) on ``ports`` (None: every port of
    every protocol). Peers are networks in text, a single address without its /32."""

    peers: tuple[str, ...] | None
    ports: tuple[PortRange, ...] | None


@dataclass(frozen=True)
class PodRules:
    """What one pod may receive and send; None in a direction no policy isolates it in."""

    ingress: tuple[Allow, ...] | None = None
    egress: tuple[Allow, ...] | None = None

    @property
    def isolated(self) -> bool:
        return self.ingress is not None or self.egress is not None


def selects(policy: models.NetworkPolicy, pod: Peer) -> bool:
    if policy.metadata.namespace != pod.namespace:
        return False
    return selector_from_object((policy.spec and policy.spec.pod_selector) or {}).matches(pod.labels)


def compile_node(world: World, node: str) -> dict[str, PodRules]:
    """The rules of every isolated pod on ``node``, by pod address."""
    out = {}
    for pod in world.local(node):
        rules = pod_rules(world, pod)
        if rules.isolated:
            out[pod.ip] = rules
    return out


def pod_rules(world: World, pod: Peer) -> PodRules:
    ingress: list[Allow] | None = None
    egress: list[Allow] | None = None
    for policy in world.policies:
        if not selects(policy, pod):
            continue
        spec, namespace = policy.spec or models.NetworkPolicySpec(), policy.metadata.namespace
        types = spec.policy_types or ["Ingress"]
        if "Ingress" in types:
            ingress = ingress or []
            for rule in spec.ingress or []:
                ingress += _ingress(world, namespace, rule, pod)
        if "Egress" in types:
            egress = egress or []
            for rule in spec.egress or []:
                egress += _egress(world, namespace, rule)
    return PodRules(None if ingress is None else normalize(ingress), None if egress is None else normalize(egress))


def _ingress(world: World, namespace: str, rule: models.NetworkPolicyIngressRule, pod: Peer) -> list[Allow]:
    peers = _networks(world, namespace, rule.from_)
    if not rule.ports:
        return [Allow(peers, None)]
    ranges = [r for port in rule.ports for r in _ranges(port, pod)]
    return [Allow(peers, tuple(ranges))] if ranges else []  # only unresolved names: nothing is allowed


def _egress(world: World, namespace: str, rule: models.NetworkPolicyEgressRule) -> list[Allow]:
    peers = _networks(world, namespace, rule.to)
    if not rule.ports:
        return [Allow(peers, None)]
    numbered = [r for port in rule.ports if not isinstance(port.port, str) for r in _ranges(port, None)]
    out = [Allow(peers, tuple(numbered))] if numbered else []
    named = [port for port in rule.ports if isinstance(port.port, str)]
    if named:
        for destination in _destinations(world, namespace, rule.to, peers):
            out += [Allow((destination.ip,), tuple(_ranges(port, destination))) for port in named
                    if destination.resolve(port.port, port.protocol or "TCP") is not None]
    return out


def _ranges(port: models.NetworkPolicyPort, owner: Peer | None) -> list[PortRange]:
    """The ranges one policy port means; a name is looked up on ``owner`` (nothing when it has no such port)."""
    protocol = port.protocol or "TCP"
    if port.port is None:
        return [PortRange(protocol.lower(), *ALL_PORTS)]
    if isinstance(port.port, str):
        number = owner.resolve(port.port, protocol) if owner is not None else None
        return [] if number is None else [PortRange(protocol.lower(), number, number)]
    return [PortRange(protocol.lower(), port.port, port.end_port or port.port)]


def _selected(world: World, namespace: str, peer: models.NetworkPolicyPeer) -> list[Peer]:
    """The pods a selector peer picks (an ipBlock peer picks none: it is addresses)."""
    if peer.pod_selector is None and peer.namespace_selector is None:
        return []
    if peer.namespace_selector is None:
        namespaces = {namespace}
    else:
        chosen = selector_from_object(peer.namespace_selector)
        namespaces = {name for name, labels in world.namespaces.items() if chosen.matches(labels)}
    pods = selector_from_object(peer.pod_selector if peer.pod_selector is not None else {})
    return [p for p in world.peers if p.namespace in namespaces and pods.matches(p.labels)]


def block_networks(block: models.IPBlock) -> list[Network]:
    """``cidr`` less every ``except`` block (IPv4 only: pods here have IPv4 addresses)."""
    outer = ipaddress.ip_network(block.cidr, strict=False)
    if outer.version != 4:
        return []
    parts = [outer]
    for text in block.except_ or []:
        hole = ipaddress.ip_network(text, strict=False)
        if hole.version != 4:
            continue
        # CIDR blocks are nested or disjoint: each part contains the hole, lies inside it, or misses it
        parts = [piece for part in parts if not part.subnet_of(hole)
                 for piece in (part.address_exclude(hole) if hole.subnet_of(part) else [part])]
    return parts


def _networks(world: World, namespace: str, peers: list[models.NetworkPolicyPeer] | None) -> tuple[str, ...] | None:
    if not peers:
        return None
    nets = [Network(p.ip) for peer in peers for p in _selected(world, namespace, peer)]
    nets += [n for peer in peers if peer.ip_block is not None for n in block_networks(peer.ip_block)]
    return _collapse(nets)


def _destinations(world: World, namespace: str, peers: list[models.NetworkPolicyPeer] | None,
                  networks: tuple[str, ...] | None) -> list[Peer]:
    """The pods an egress rule's named ports are resolved on: every pod its peers pick or its blocks contain."""
    if not peers:
        return list(world.peers)
    chosen = {p.key: p for peer in peers for p in _selected(world, namespace, peer)}
    blocks = [n for peer in peers if peer.ip_block is not None for n in block_networks(peer.ip_block)]
    for p in world.peers:
        address = ipaddress.IPv4Address(p.ip)
        if any(address in n for n in blocks):
            chosen.setdefault(p.key, p)
    return sorted(chosen.values(), key=lambda p: p.key)


def _collapse(nets: Iterable[Network | str]) -> tuple[str, ...]:
    collapsed = ipaddress.collapse_addresses(Network(n) for n in nets)
    return tuple(str(n.network_address) if n.prefixlen == 32 else str(n) for n in collapsed)


def merge_ranges(ranges: Iterable[PortRange]) -> tuple[PortRange, ...]:
    """Overlapping and adjacent ranges of a protocol as one, sorted."""
    out: list[PortRange] = []
    for r in sorted(set(ranges)):
        last = out[-1] if out else None
        if last is not None and last.protocol == r.protocol and r.first <= last.last + 1:
            out[-1] = PortRange(r.protocol, last.first, max(last.last, r.last))
        else:
            out.append(r)
    return tuple(out)


def normalize(allows: Iterable[Allow]) -> tuple[Allow, ...]:
    """One ``Allow`` per distinct port set, its peers the union of theirs; everything-allowed absorbs the rest."""
    peers_by_ports: dict[tuple[PortRange, ...] | None, list[str] | None] = {}
    for allow in allows:
        ports = None if allow.ports is None else merge_ranges(allow.ports)
        if allow.peers is None:
            peers_by_ports[ports] = None
        elif peers_by_ports.get(ports, []) is not None:
            peers_by_ports.setdefault(ports, []).extend(allow.peers)  # type: ignore[union-attr]
    if None in peers_by_ports and peers_by_ports[None] is None:
        return (Allow(None, None),)
    out = [Allow(None if peers is None else _collapse(peers), ports) for ports, peers in peers_by_ports.items()]
    out = [a for a in out if a.peers != ()]
    return tuple(sorted(out, key=lambda a: (a.ports is None, a.ports or (), a.peers is None, a.peers or ())))
