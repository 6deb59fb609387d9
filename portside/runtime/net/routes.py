"""Routes between the nodes' pod networks, planned without I/O: what the kernel should hold, and the ``ip`` and
``bridge`` batches that move it there from what it holds.

Each node's pods live on its bridge, whose subnet is the node's pod CIDR; a pod reaches a pod of another node by
plain routing, with no NAT, as flannel's two backends do:

- host-gw, when the peer node's address is on a subnet this host is directly attached to: one route per peer,
  ``PODCIDR via NODEIP``, and packets cross the shared L2 segment as they are;
- VXLAN, otherwise: the kernel's ``vxlan`` device (one per node, see ``vxlan.py``) encapsulates them in UDP to
  the peer's address. Per peer: a route ``PODCIDR via VTEP dev VXLAN onlink`` (VTEP is the peer's pod CIDR's
  network address, which its VXLAN device carries as a /32), a permanent neighbour entry giving VTEP the peer
  device's MAC, and a forwarding entry sending that MAC to the peer's node address. No learning, no flooding:
  every entry comes from the Node objects.

``Settings.backend`` picks: ``auto`` (host-gw for each peer that is on a local subnet, VXLAN for the rest),
``host-gw`` (a peer off every local subnet is skipped, with the reason), or ``vxlan`` (every peer encapsulated).

Our routes carry their own protocol number (``PROTO``), so the kernel itself says which are ours: a restarted
agent reads them back, and routes of nodes that left while it was away are removed by the next sync.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from portside.runtime.net import vxlan

PROTO = 233  # an unassigned routing protocol number: marks the routes this module manages
BACKENDS = ("auto", "host-gw", "vxlan")


@dataclass(frozen=True)
class Peer:
    """Another node: its pod CIDR, its address, and its VXLAN device's MAC ("" derives it from the pod CIDR)."""

    name: str
    pod_cidr: str
    node_ip: str
    vtep_mac: str = ""


@dataclass(frozen=True)
class Local:
    """This node: its address and pod CIDR, and the subnets its interfaces are attached to (pods' excluded)."""

    node_ip: str
    pod_cidr: str
    connected: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    device: str  # the VXLAN device's name (names.for_node(...).vxlan)
    backend: str = "auto"
    vni: int = 1  # flannel's defaults
    port: int = 8472

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f'pod network backend "{self.backend}" is not one of {", ".join(BACKENDS)}')
        if not 0 < self.vni < 1 << 24:
            raise ValueError(f"VXLAN VNI {self.vni} is not in 1-16777215")
        if not 0 < self.port < 1 << 16:
            raise ValueError(f"VXLAN port {self.port} is not in 1-65535")


@dataclass(frozen=True)
class Route:
    dst: str
    via: str
    dev: str = ""  # set for VXLAN routes, which are onlink through the device

    def statement(self, verb: str) -> str:
        dev = f" dev {self.dev} onlink" if self.dev else ""
        return f"route {verb} {self.dst} via {self.via}{dev} proto {PROTO}\n"


@dataclass
class State:
    """Routes, neighbours and forwarding entries: what should be, or what the kernel holds."""

    routes: dict[str, Route] = field(default_factory=dict)  # by destination pod CIDR
    neighbours: dict[str, str] = field(default_factory=dict)  # VTEP address -> MAC
    fdb: dict[str, str] = field(default_factory=dict)  # MAC -> node address
    overlay: bool = False  # the VXLAN device is needed (wanted) or present (held)


@dataclass
class Batches:
    """What to run, in this order: ``ip -batch`` (neighbours, routes), ``bridge -batch`` (forwarding)."""

    ip: str = ""
    bridge: str = ""

    def __bool__(self) -> bool:
        return bool(self.ip or self.bridge)


def backend_for(peer_ip: str, local: Local, settings: Settings) -> str:
    """``host-gw`` when ``peer_ip`` is on one of this host's subnets and the settings allow it, else ``vxlan``."""
    if settings.backend != "auto":
        return settings.backend
    addr = ipaddress.IPv4Address(peer_ip)
    return "host-gw" if any(addr in ipaddress.IPv4Network(net) for net in local.connected) else "vxlan"


def wanted(peers: list[Peer], local: Local, settings: Settings) -> tuple[State, dict[str, str]]:
    """The state for ``peers``, and the peers left out, each with the reason (bad or clashing fields)."""
    state, skipped = State(), {}
    taken = [ipaddress.IPv4Network(local.pod_cidr)]
    for peer in sorted(peers, key=lambda p: p.name):
        reason = _check(peer, local, taken)
        if not reason and backend_for(peer.node_ip, local, settings) == "host-gw" and not _connected(peer, local):
            reason = f"node address {peer.node_ip} is on no subnet of this host, which host-gw needs"
        if reason:
            skipped[peer.name] = reason
            continue
        cidr = ipaddress.IPv4Network(peer.pod_cidr)
        taken.append(cidr)
        if backend_for(peer.node_ip, local, settings) == "host-gw":
            state.routes[str(cidr)] = Route(str(cidr), peer.node_ip)
            continue
        vtep, mac = vxlan.vtep_ip(str(cidr)), (peer.vtep_mac or vxlan.vtep_mac(str(cidr))).lower()
        state.routes[str(cidr)] = Route(str(cidr), vtep, settings.device)
        state.neighbours[vtep] = mac
        state.fdb[mac] = peer.node_ip
        state.overlay = True
    state.overlay = state.overlay or settings.backend == "vxlan"
    return state, skipped


def _check(peer: Peer, local: Local, taken: list[ipaddress.IPv4Network]) -> str:
    try:
        cidr = ipaddress.IPv4Network(peer.pod_cidr)
    except ValueError:
        return f'podCIDR "{peer.pod_cidr}" is not an IPv4 network'
    try:
        ipaddress.IPv4Address(peer.node_ip)
    except ValueError:
        return f'InternalIP "{peer.node_ip}" is not an IPv4 address'
    if peer.node_ip == local.node_ip:
        return f"node address {peer.node_ip} is this node's own"
    if peer.vtep_mac and not vxlan.valid_mac(peer.vtep_mac):
        return f'VXLAN MAC "{peer.vtep_mac}" is not a unicast MAC address'
    clash = next((net for net in taken if net.overlaps(cidr)), None)
    if clash is not None:
        return f"podCIDR {cidr} overlaps {clash}, already routed here"
    return ""


def _connected(peer: Peer, local: Local) -> bool:
    addr = ipaddress.IPv4Address(peer.node_ip)
    return any(addr in ipaddress.IPv4Network(net) for net in local.connected)


def diff(held: State, want: State, device: str) -> Batches:
    """The batches that turn ``held`` into ``want``. Routes go before the neighbours they lean on are removed,
    and after the ones they need are added (an onlink route needs no neighbour to exist, but a packet does)."""
    out = Batches()
    ip: list[str] = []
    bridge: list[str] = []
    for vtep, mac in sorted(want.neighbours.items()):
        if held.neighbours.get(vtep) != mac:
            ip.append(f"neigh replace {vtep} lladdr {mac} dev {device} nud permanent\n")
    for dst, route in sorted(want.routes.items()):
        if held.routes.get(dst) != route:
            ip.append(route.statement("replace"))
    ip.extend(f"route del {dst} proto {PROTO}\n" for dst in sorted(held.routes.keys() - want.routes.keys()))
    if held.overlay:  # with the device gone, its neighbours and entries went with it
        ip.extend(f"neigh del {vtep} dev {device}\n" for vtep in sorted(held.neighbours.keys() -
                                                                        want.neighbours.keys()))
        for mac, dst in sorted(held.fdb.items()):
            if want.fdb.get(mac) != dst:
                bridge.append(f"fdb del {mac} dev {device} dst {dst} self\n")
    for mac, dst in sorted(want.fdb.items()):
        if held.fdb.get(mac) != dst:
            bridge.append(f"fdb append {mac} dev {device} dst {dst} self permanent\n")
    out.ip, out.bridge = "".join(ip), "".join(bridge)
    return out
