"""Address leases for one bridge, persisted so that concurrent ``portside run``s never share an address.

The lease table is a small JSON file next to a lock file; every change happens under an exclusive ``flock`` on the
lock file and is written by rename, so a crash mid-write leaves the previous table. A lease also records the
container's published ports: detach needs them to delete exactly that container's DNAT map elements, even from a
later process than the one that attached.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from portside.runtime.errors import Conflict, InvalidArgument, NetworkError
from portside.runtime.net.ports import PortMapping


@dataclass
class Lease:
    """An address and what was built for it: the host end of its veth and its published ports; and, for an
    attachment that no single container owns, the paths whose existence keeps it (see ``BridgeNetwork.attach``).

    An attachment made into a namespace someone else owns (a container's second network) records that namespace
    (``netns``) and its interface there (``ifname``); ``names`` are the names the address answers to on this
    network (the engine's DNS responder reads them from this table)."""

    ip: str
    veth: str = ""
    ports: list[PortMapping] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    netns: str = ""
    ifname: str = "eth0"

    def to_json(self) -> dict:
        data = {"ip": self.ip, "veth": self.veth, "ports": [asdict(p) for p in self.ports]}
        optional = {"owners": self.owners, "names": self.names, "netns": self.netns,
                    "ifname": self.ifname if self.ifname != "eth0" else ""}
        return {**data, **{k: v for k, v in optional.items() if v}}  # older tables keep their shape

    @classmethod
    def from_json(cls, data: dict) -> Lease:
        return cls(data["ip"], data.get("veth", ""), [PortMapping(**p) for p in data.get("ports", [])],
                   list(data.get("owners", [])), list(data.get("names", [])), data.get("netns", ""),
                   data.get("ifname") or "eth0")

    def orphaned(self) -> bool:
        """One of the paths that own it is gone (never, for a lease without owners: its container owns it)."""
        return any(not os.path.lexists(path) for path in self.owners)


@dataclass
class LeaseTable:
    """The leases of one subnet; the gateway (by default its first host address) is never leased, nor are the
    ``reserved`` addresses (docker's auxiliary addresses); addresses are given out from ``ip_range`` when set
    (docker's ``--ip-range``), though a container may ask for any address of the subnet."""

    subnet: ipaddress.IPv4Network
    leases: dict[str, Lease] = field(default_factory=dict)
    gateway: str = ""
    ip_range: ipaddress.IPv4Network | None = None
    reserved: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.gateway = self.gateway or str(self.subnet.network_address + 1)

    def allocate(self, container_id: str, wanted: str = "") -> Lease:
        """Lease ``wanted`` (docker's ``--ip``) or else the lowest free address; the MAC is derived from it, so
        reuse never leaves stale ARP entries."""
        if container_id in self.leases:
            raise NetworkError(f"container {container_id[:12]} is already attached to this network")
        taken = {lease.ip for lease in self.leases.values()} | {self.gateway} | set(self.reserved)
        if wanted:
            self.leases[container_id] = Lease(self._check_wanted(wanted, taken))
            return self.leases[container_id]
        for host in (self.ip_range or self.subnet).hosts():
            if str(host) not in taken:
                self.leases[container_id] = Lease(str(host))
                return self.leases[container_id]
        raise NetworkError(f"no free address left in {self.subnet} ({len(self.leases)} containers attached)")

    def _check_wanted(self, wanted: str, taken: set[str]) -> str:
        try:
            address = ipaddress.IPv4Address(wanted)
        except ValueError:
            raise InvalidArgument(f'invalid IP address "{wanted}": expected an IPv4 address') from None
        if address not in self.subnet or address in (self.subnet.network_address, self.subnet.broadcast_address):
            raise InvalidArgument(f"IP address {wanted} is not a host address of subnet {self.subnet}")
        if wanted in self.reserved:
            raise Conflict(f"IP address {wanted} is reserved on this network (an auxiliary address)")
        if wanted in taken:
            raise Conflict(f"IP address {wanted} is already in use on this network")
        return wanted


def mac_for(ip: str) -> str:
    """A locally administered unicast MAC that embeds the IPv4 address, as docker does."""
    return "02:50:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)


class LeaseStore:
    """The lease table of one bridge under ``state_dir``, opened only through ``locked()``."""

    def __init__(self, state_dir: Path, bridge: str, subnet: ipaddress.IPv4Network, gateway: str = "",
                 ip_range: ipaddress.IPv4Network | None = None, reserved: frozenset[str] = frozenset()) -> None:
        self.path = state_dir / f"{bridge}.leases.json"
        self.lock_path = state_dir / f"{bridge}.lock"
        self.subnet, self.gateway = subnet, gateway
        self.ip_range, self.reserved = ip_range, frozenset(reserved)

    @contextmanager
    def locked(self, write: bool = True) -> Iterator[LeaseTable]:
        """Hold the lock, yield the table, and save it (if ``write``) when the block ends without an error."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            table = self._load()
            yield table
            if write:
                self._save(table)

    def read(self) -> LeaseTable:
        """The table as last saved, without the lock: a save is a rename, so a reader sees one whole table."""
        return self._load()

    def _load(self) -> LeaseTable:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return LeaseTable(self.subnet, gateway=self.gateway, ip_range=self.ip_range, reserved=self.reserved)
        except ValueError as err:
            raise NetworkError(f"lease table {self.path} is corrupt: {err}") from None
        if data["subnet"] != str(self.subnet):
            raise NetworkError(f"bridge leases in {self.path} are for subnet {data['subnet']}, not {self.subnet}")
        leases = {cid: Lease.from_json(lease) for cid, lease in data["leases"].items()}
        return LeaseTable(self.subnet, leases, self.gateway, self.ip_range, self.reserved)

    def _save(self, table: LeaseTable) -> None:
        if not table.leases:
            self.path.unlink(missing_ok=True)
            return
        data = {"subnet": str(table.subnet), "leases": {c: l.to_json() for c, l in table.leases.items()}}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)
