"""A bridge network: one Linux bridge, an address per container, and published ports.

Theory of operation. ``attach`` gives a container a persistent network namespace (pinned on a file under the
state directory, which runc then joins by path), a veth pair whose host end is a port of the bridge and whose
other end is ``eth0`` in the namespace, an address leased from the subnet with the bridge's address (the first of
the subnet) as default gateway, and DNAT map elements for its published ports. The bridge, its nftables table and
the sysctls it needs are created by the first attach and removed by ``teardown`` once no lease is left.

An attachment normally belongs to one container, whose removal detaches it. One that several containers join in
turn (``ns:PATH``) belongs to whoever made it, and that owner may vanish without a word (its state directory
deleted): so it can name owner paths, and ``detach_orphans`` removes it once one of them is gone.

A container on several networks (docker's user-defined networks) has one namespace, which its caller owns: each
network's ``attach`` then plumbs a veth into that namespace (``netns``) as the next interface (``eth1``, ...), with
a default route only where asked, and its ``detach`` takes the veth and the lease but leaves the namespace. A user
network is ``internal`` (nothing forwarded in or out) or isolated from the bridges ``isolate`` names (see
``nft.py``); the names each address answers to on the network are kept in its lease (``names``).

Every step of ``attach`` registers its undo first, so a failure at any point leaves nothing behind. The lease
table's lock is held only around lease changes and the bridge's creation and removal: those are what concurrent
engines could race on; per-container work needs no lock once the container's lease is recorded.

Cost: with the bridge in place an attach is two ``ip -batch`` runs (host side, then inside the namespace) plus one
``nft`` batch when ports are published; the namespace itself costs no subprocess (see ``netns.py``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import socket
import subprocess
from collections.abc import Collection, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from portside.runtime.errors import InvalidArgument, NetworkError
from portside.runtime.net import netns as netns_module
from portside.runtime.net import nft
from portside.runtime.net.ipam import Lease, LeaseStore, LeaseTable, mac_for
from portside.runtime.net.ports import PortMapping, reclaim, release, reserve

_IFNAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")
_CONTAINER_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Attachment:
    """What a container got: runc joins ``netns_path``; the caller keeps ``reserved`` open while it lives."""

    netns_path: Path
    ip: str
    gateway: str
    prefixlen: int
    mac: str
    reserved: list[socket.socket] = field(default_factory=list)
    ports: list[PortMapping] = field(default_factory=list)  # as published, with any host port 0 resolved
    veth: str = ""  # the host end, a port of the bridge
    ifname: str = "eth0"  # the container's end, in its namespace


class BridgeNetwork:
    """One bridge and its subnet; every method is safe to call from concurrent processes sharing ``state_dir``."""

    def __init__(self, state_dir: Path, bridge: str = "portside0", subnet: str = "10.88.0.0/16",
                 cluster_cidr: str = "", mtu: int = 0, *, gateway: str = "", internal: bool = False,
                 isolate: tuple[str, ...] = (), ip_range: str = "", reserved: tuple[str, ...] = ()) -> None:
        """``cluster_cidr``: the pod range of the whole cluster when this bridge holds one node's share of it;
        traffic to it leaves un-NATed. ``mtu``: the containers' (0: the kernel's default), lower under VXLAN.
        ``gateway``: the bridge's address (default: the subnet's first); ``internal`` and ``isolate``: see the
        module docstring. ``ip_range`` and ``reserved``: where addresses are given out from, and which are
        never (see ``ipam.LeaseTable``)."""
        if not _IFNAME.fullmatch(bridge):
            raise InvalidArgument(f'bridge name "{bridge}" must be 1-15 letters, digits, "_", "." or "-"')
        if mtu and not 576 <= mtu <= 65535:
            raise InvalidArgument(f"mtu {mtu} is not in 576-65535")
        self.bridge = bridge
        self.subnet = _subnet(subnet)
        self.gateway = gateway_of(self.subnet, gateway)
        self.cluster_cidr = _cluster_cidr(cluster_cidr, self.subnet)
        self.mtu = mtu
        self.internal, self.isolate = internal, tuple(isolate)
        self.state_dir = Path(state_dir)
        self._leases = LeaseStore(self.state_dir, bridge, self.subnet, self.gateway,
                                  ipaddress.IPv4Network(ip_range) if ip_range else None, frozenset(reserved))

    def netns_path(self, container_id: str) -> Path:
        return self.state_dir / "netns" / container_id

    def attached(self) -> dict[str, str]:
        """Container id -> leased address, for every container attached now."""
        with self._leases.locked(write=False) as table:
            return {cid: lease.ip for cid, lease in table.leases.items()}

    def leases(self) -> dict[str, Lease]:
        """Container id -> lease, as last saved; read without the lock (for readers such as a DNS responder)."""
        if not self._leases.path.exists():
            return {}
        return self._leases.read().leases

    def reclaim(self, container_id: str) -> Attachment | None:
        """The recorded attachment with its host ports bound again (``reserved``), for a container whose
        monitor, which held them, died: a new monitor holds them from here on."""
        attachment = self.lookup(container_id)
        return None if attachment is None else dataclasses.replace(attachment, reserved=reclaim(attachment.ports))

    def rename(self, container_id: str, old: str, new: str) -> bool:
        """The attached container answers to ``new`` where it answered to ``old`` (a renamed container); False
        when it is not attached here."""
        with self._leases.locked() as table:
            lease = table.leases.get(container_id)
            if lease is None:
                return False
            lease.names = [new if name == old else name for name in lease.names]
            return True

    def lookup(self, container_id: str) -> Attachment | None:
        """The attachment as recorded, for an engine that restarted; ``reserved`` is empty (the monitor has it)."""
        with self._leases.locked(write=False) as table:
            lease = table.leases.get(container_id)
        if lease is None:
            return None
        return Attachment(Path(lease.netns) if lease.netns else self.netns_path(container_id), lease.ip,
                          self.gateway, self.subnet.prefixlen, mac_for(lease.ip), ports=list(lease.ports),
                          veth=lease.veth, ifname=lease.ifname)

    def attach(self, container_id: str, publish: list[PortMapping], owners: Sequence[str] = (), *,
               names: Sequence[str] = (), netns: Path | None = None, ifname: str = "eth0",
               default_route: bool = True, ip: str = "") -> Attachment:
        """Connect a container; on any failure undo every step and raise.

        ``owners``: absolute paths that own the attachment when no one container does (a namespace that several
        containers join in turn): once one of them is gone, ``detach_orphans`` may remove it. ``netns``: the
        container's namespace when the caller owns it (else one is made here, at ``netns_path``), ``ifname`` its
        interface there, ``default_route`` whether its default route goes through this bridge's gateway;
        ``names``: what the address answers to on this network; ``ip``: the address wanted (else the lowest free)."""
        if not _CONTAINER_ID.fullmatch(container_id):
            raise InvalidArgument(f'container id "{container_id}" must be letters, digits, "_", "." or "-"')
        for path in owners:
            if not os.path.isabs(path) or not os.path.lexists(path):
                raise InvalidArgument(f'attachment owner "{path}" must be an absolute path that exists')
        if not _IFNAME.fullmatch(ifname):
            raise InvalidArgument(f'interface name "{ifname}" must be 1-15 letters, digits, "_", "." or "-"')
        with ExitStack() as undo:
            ports, sockets = reserve(publish)
            undo.callback(release, sockets)
            # a fresh veth name per attach: the veth of a detach(wait=False) may still exist for a while
            veth = "vps" + os.urandom(6).hex()
            lease = Lease(ip, veth, ports, list(owners), list(names), str(netns) if netns else "", ifname)
            lease.ip = self._lease(container_id, lease)
            undo.callback(self._unlease, container_id)
            path = netns or self.netns_path(container_id)
            if netns is None:
                netns_module.create(path)
                undo.callback(netns_module.remove, path)
            self._plumb(path, lease, default_route and not self.internal, undo)
            if ports:
                nft.apply(nft.elements("add", self.bridge, lease.ip, ports))
            undo.pop_all()
        return Attachment(path, lease.ip, self.gateway, self.subnet.prefixlen, mac_for(lease.ip),
                          reserved=sockets, ports=ports, veth=veth, ifname=ifname)

    def _lease(self, container_id: str, wanted: Lease) -> str:
        """Record ``wanted`` (its ``ip``, if set, is the address asked for) under a free address; returns it."""
        with self._leases.locked() as table:
            lease = table.allocate(container_id, wanted.ip)
            wanted.ip = lease.ip
            table.leases[container_id] = wanted
            if not _link_exists(self.bridge):
                self._create_bridge()
        return wanted.ip

    def present(self) -> bool:
        """The bridge exists in this network namespace (a reboot removes it; the next attach makes it again)."""
        return _link_exists(self.bridge)

    def ensure_bridge(self) -> None:
        """Create the bridge and its table now if absent (a network's DNS responder listens on its gateway)."""
        with self._leases.locked(write=False):
            if not _link_exists(self.bridge):
                self._create_bridge()

    def _unlease(self, container_id: str) -> None:
        with self._leases.locked() as table:
            table.leases.pop(container_id, None)

    def _create_bridge(self) -> None:
        """Bridge, sysctls and nftables table; called under the lease lock, only when the bridge is absent."""
        try:
            _ip_batch(f"link add name {self.bridge} type bridge\n"
                      f"addr add {self.gateway}/{self.subnet.prefixlen} dev {self.bridge}\n"
                      f"link set {self.bridge} up\n")
            # route_localnet on the bridge alone is enough for 127.0.0.1 -> container DNAT (see nft.py)
            _sysctl(f"net/ipv4/conf/{self.bridge}/route_localnet", "1")
            _sysctl("net/ipv4/ip_forward", "1")
            nft.apply(nft.create_table(self.bridge, str(self.subnet), self.cluster_cidr, self.internal,
                                       self.isolate))
        except BaseException:
            _delete_link(self.bridge)
            raise

    def _plumb(self, path: Path, lease: Lease, default_route: bool, undo: ExitStack) -> None:
        """Veth pair, addresses and routes in the namespace at ``path``, with the undo registered first."""
        veth, ip, eth = lease.veth, lease.ip, lease.ifname
        undo.callback(_delete_link, veth)
        mtu = f" mtu {self.mtu}" if self.mtu else ""
        _ip_batch(f"link add {veth}{mtu} type veth peer name {eth} address {mac_for(ip)}{mtu} netns {path}\n"
                  f"link set {veth} master {self.bridge}\n"
                  f"link set {veth} type bridge_slave hairpin on\n"
                  f"link set {veth} up\n")
        _ip_batch("link set lo up\n"
                  f"addr add {ip}/{self.subnet.prefixlen} dev {eth}\n"
                  f"link set {eth} up\n"
                  + (f"route add default via {self.gateway}\n" if default_route else ""), path)

    def detach(self, container_id: str, wait: bool = True) -> None:
        """Remove the container's rules, veth, namespace and lease. Idempotent; the first error is raised last.

        Deleting a veth blocks 20-40 ms in the kernel (it waits for RCU readers). With ``wait=False`` it is left
        to the kernel, which destroys the veth with the namespace once the namespace's last process is gone (so
        only once the container is dead); everything else is gone on return either way.
        """
        errors: list[Exception] = []
        with self._leases.locked() as table:
            self._detach_locked(table, container_id, wait, errors)
        if errors:
            raise errors[0]

    def _detach_locked(self, table: LeaseTable, container_id: str, wait: bool, errors: list[Exception]) -> None:
        """A bridge that is gone (a reboot) took its table and veths with it: only the lease is left to drop.
        A namespace the caller owns (``lease.netns``) stays; the veth in it goes now when it still runs."""
        lease = table.leases.get(container_id)
        present = _link_exists(self.bridge)
        if lease is not None and lease.ports and present:
            _collect(errors, nft.apply, nft.elements("delete", self.bridge, lease.ip, lease.ports))
        if lease is not None and wait and present:
            _collect(errors, _delete_link, lease.veth)
        if lease is None or not lease.netns:
            _collect(errors, netns_module.remove, self.netns_path(container_id))
        table.leases.pop(container_id, None)

    def owned(self) -> dict[str, list[str]]:
        """Id -> owner paths, for every attachment made with owners."""
        if not self._leases.path.exists():
            return {}
        with self._leases.locked(write=False) as table:
            return {cid: list(lease.owners) for cid, lease in table.leases.items() if lease.owners}

    def orphans(self) -> list[str]:
        """Ids of the attachments one of whose owner paths is gone."""
        if not self._leases.path.exists():  # nothing ever attached: not even a lock file to create
            return []
        with self._leases.locked(write=False) as table:
            return sorted(cid for cid, lease in table.leases.items() if lease.orphaned())

    def detach_orphans(self, busy: Collection[str] = ()) -> list[str]:
        """Detach (as ``detach`` does, veth included) every attachment one of whose owner paths is gone, except
        those in ``busy`` (a process still runs in their namespace); the ids detached. Owners are checked under
        the lease lock, where ``attach`` records them (once they exist), so an attachment being made is never taken for
        an orphan."""
        errors: list[Exception] = []
        with self._leases.locked() as table:
            gone = sorted(cid for cid, lease in table.leases.items() if lease.orphaned() and cid not in busy)
            for cid in gone:
                self._detach_locked(table, cid, True, errors)
        if errors:
            raise errors[0]
        return gone

    def teardown(self) -> None:
        """Remove the bridge and its nftables table, unless a container is still attached."""
        with self._leases.locked() as table:
            if table.leases:
                return
            _delete_link(self.bridge)
            nft.apply(nft.delete_table(self.bridge))


def gateway_of(subnet: ipaddress.IPv4Network, gateway: str = "") -> str:
    """``gateway`` checked to be a host address of ``subnet``; by default the subnet's first."""
    if not gateway:
        return str(subnet.network_address + 1)
    try:
        address = ipaddress.IPv4Address(gateway)
    except ValueError:
        raise InvalidArgument(f'gateway "{gateway}" is not an IPv4 address') from None
    if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
        raise InvalidArgument(f'gateway "{gateway}" is not a host address of subnet {subnet}')
    return gateway


def _subnet(text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(text)
    except ValueError as err:
        raise InvalidArgument(f'subnet "{text}" is not an IPv4 network: {err}') from None
    if net.prefixlen > 30:
        raise InvalidArgument(f'subnet "{text}" is too small: a bridge needs at least a /30')
    return net


def _cluster_cidr(text: str, subnet: ipaddress.IPv4Network) -> str:
    if not text:
        return ""
    try:
        net = ipaddress.IPv4Network(text)
    except ValueError as err:
        raise InvalidArgument(f'cluster CIDR "{text}" is not an IPv4 network: {err}') from None
    if not subnet.subnet_of(net):
        raise InvalidArgument(f'subnet "{subnet}" is not inside the cluster CIDR "{text}"')
    return str(net)


def _ip_batch(script: str, in_netns: Path | None = None) -> None:
    argv = ["ip", "-batch", "-"]
    if in_netns is None:
        proc = subprocess.run(argv, input=script, capture_output=True, text=True, check=False)
    else:
        proc = netns_module.run_in(in_netns, argv, script)
    if proc.returncode != 0:
        raise NetworkError(_ip_error(script, proc.stderr))


def _ip_error(script: str, stderr: str) -> str:
    """``ip -batch`` ends its output with "Command failed -:N": name that command with the kernel's answer."""
    lines = stderr.strip().splitlines() or ["no error output"]
    match = re.search(r"Command failed -:(\d+)", stderr)
    command = script.splitlines()[int(match[1]) - 1] if match else script.splitlines()[0]
    return f"ip {command}: {lines[0]}"


def _link_exists(name: str) -> bool:
    """Asked of the calling thread's network namespace: ``/sys/class/net`` shows the namespace that mounted
    /sys, which is not this one in a process that entered a node's namespace without remounting it."""
    with open("/proc/thread-self/net/dev") as f:
        return any(line.split(":", 1)[0].strip() == name for line in f.readlines()[2:])


def _delete_link(name: str) -> None:
    if name and _link_exists(name):
        try:
            _ip_batch(f"link del {name}\n")
        except NetworkError:
            if _link_exists(name):  # gone meanwhile is what we wanted: the kernel destroys a veth whose peer's
                raise               # namespace lost its last process, and may do so between the look and the del


def _sysctl(key: str, value: str) -> None:
    path = Path("/proc/sys", key)
    if path.read_text().strip() != value:
        path.write_text(value)


def _collect(errors: list[Exception], fn, *args) -> None:
    try:
        fn(*args)
    except Exception as err:  # detach carries on so that one failure does not strand the other resources
        errors.append(err)
