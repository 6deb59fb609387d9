"""The node's VXLAN device, as flannel's vxlan backend makes it: the kernel's own encapsulation, no tunnel code.

One ``vxlan`` device per node (its name carries the node, see ``names.py``), bound to the node's address and
underlay interface, with learning off: every forwarding and neighbour entry is written from the Node objects
(``routes.py``). The device's address is the network address of the node's pod CIDR, as a /32 (the bridge has
the first host address), and its MAC is derived from that address, so that it is stable across restarts and
every peer can compute it; the agent still publishes it on its Node (``MAC_ANNOTATION``) for a peer that uses
another rule. Its MTU is the underlay's less the 50 bytes of headers VXLAN adds.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from portside.runtime.net.names import VXLAN_OVERHEAD

MAC_ANNOTATION = "portside.io/vxlan-mac"
_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")


def vtep_ip(pod_cidr: str) -> str:
    """The VXLAN device's address on a node whose pods have ``pod_cidr``: the CIDR's network address."""
    return str(ipaddress.IPv4Network(pod_cidr).network_address)


def vtep_mac(pod_cidr: str) -> str:
    """A locally administered unicast MAC (first octet 0x0e) carrying the VTEP address."""
    octets = ipaddress.IPv4Network(pod_cidr).network_address.packed
    return "0e:70:" + ":".join(f"{b:02x}" for b in octets)


def valid_mac(mac: str) -> bool:
    """Six colon-separated octets, not multicast (the low bit of the first octet) and not all zero."""
    return bool(_MAC.fullmatch(mac)) and not int(mac[:2], 16) & 1 and mac != "00:00:00:00:00:00"


@dataclass(frozen=True)
class Device:
    """What the device should be; ``matches`` compares it with ``ip -j -d link show`` output."""

    name: str
    vni: int
    port: int
    local: str  # the node's address
    underlay: str  # the interface holding it
    underlay_mtu: int
    pod_cidr: str

    @property
    def mtu(self) -> int:
        return self.underlay_mtu - VXLAN_OVERHEAD

    def create(self) -> str:
        """``ip -batch`` statements that create and raise it; the caller deletes any stale one first."""
        return (f"link add {self.name} type vxlan id {self.vni} local {self.local} dev {self.underlay} "
                f"dstport {self.port} nolearning\n"
                f"link set {self.name} address {vtep_mac(self.pod_cidr)} mtu {self.mtu}\n"
                f"addr add {vtep_ip(self.pod_cidr)}/32 dev {self.name}\n"
                f"link set {self.name} up\n")

    def matches(self, link: dict) -> bool:
        """True when an existing device (one entry of ``ip -j -d link show``) is this one, up and addressed."""
        info = (link.get("linkinfo") or {}).get("info_data") or {}
        addrs = {a.get("local") for a in link.get("addr_info") or []}
        return ((link.get("linkinfo") or {}).get("info_kind") == "vxlan" and info.get("id") == self.vni
                and info.get("port") == self.port and info.get("local") == self.local
                and link.get("address") == vtep_mac(self.pod_cidr) and link.get("mtu") == self.mtu
                and "UP" in (link.get("flags") or []) and vtep_ip(self.pod_cidr) in addrs)
