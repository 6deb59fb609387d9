"""A container's networks: attached at each start, released at its end, connected and disconnected while it runs.

Theory of operation. A container's first network is the default bridge (``--network bridge``, which makes the
container's namespace, as it always did) or a user-defined network (its namespace is then the engine's, pinned at
``Networks.netns_path``); either way, each user network it is on (the first, and every one ``network connect``
added) plumbs a veth into that one namespace: ``eth0``, ``eth1``, ... in order. Published ports go to the first
network; the default route through the first network that is not ``--internal``. The record keeps the networks
asked for (``ContainerRecord.networks``, so they come back at every start); the state keeps where the container
is while it runs (``ContainerState.endpoints``).

``connect`` and ``disconnect`` change the record, and when the container runs, the kernel and the state as well,
undoing the record's change if the kernel refuses. The container's ``/etc/resolv.conf`` names the gateway of its
first user network as nameserver (the engine's DNS responder answers there, see ``resolver.py``); it is rewritten
in place when that changes, so a running container follows.

A container on the default bridge alone takes none of this: ``attach`` goes straight to the bridge, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from portside.engine.model import NO_NETWORK, ContainerRecord, Endpoint, EndpointConfig, NetworkState, PortBinding
from portside.engine.records import Records
from portside.runtime.errors import Conflict, InvalidArgument, NetworkNotFound
from portside.runtime.plain import Plain


class Attached(Plain):
    """What one start attached: runc joins ``netns``; ``network`` is the first network's place (with the
    published ports), ``endpoints`` the user networks'; ``reserved`` the host ports' sockets (the monitor's from
    then on); ``nameserver`` the resolv.conf's, "" for the host's resolvers."""

    __slots__ = ("netns", "network", "endpoints", "reserved", "nameserver")

    def __init__(self, netns: Path, network: NetworkState, endpoints: tuple[Endpoint, ...] = (),
                 reserved: tuple = (), nameserver: str = "") -> None:
        self.netns, self.network, self.endpoints = netns, network, tuple(endpoints)
        self.reserved, self.nameserver = tuple(reserved), nameserver


def network_state(attachment) -> NetworkState:
    return NetworkState(attachment.ip, attachment.gateway, attachment.prefixlen, attachment.mac,
                        tuple(PortBinding(p.host_ip, p.host_port, p.container_port, p.protocol)
                              for p in attachment.ports))


class Networking:
    """The networks of the containers of one engine root. ``default`` and ``networks`` give the default bridge
    and the user networks' registry when first needed."""

    def __init__(self, root: Path, records: Records, default: Callable[[], object],
                 networks: Callable[[], object], resolv_source: Callable[[], str] = lambda: "/etc/resolv.conf") -> None:
        """``resolv_source``: where the host's resolv.conf is (search domains and options; the DNS responder's
        upstreams), asked when first needed: a node agent writes the engine's settings after it made the engine."""
        self.root, self.records, self._resolv_source = root, records, resolv_source
        self._default, self._networks = default, networks

    @property
    def resolv_source(self) -> str:
        return self._resolv_source()

    @property
    def default(self):
        return self._default()

    @property
    def networks(self):
        return self._networks()

    # -- start and end ---------------------------------------------------------------------------------------

    def attach(self, record: ContainerRecord, undo: ExitStack) -> Attached | None:
        """Every network of the container, each undone by ``undo`` on a later failure; None without a network."""
        if not (record.host.bridged or record.host.user_network):
            return None
        ports = _mappings(record)
        netns, network, reserved = self._namespace(record, ports, undo)
        if not record.networks:
            return Attached(netns, network, reserved=tuple(reserved))
        endpoints, first = self._attach_user_networks(record, netns, ports, undo)
        if first is not None:
            network, reserved = network_state(first), first.reserved
        from portside.engine import resolver

        resolver.ensure(self.root)
        return Attached(netns, network, endpoints, tuple(reserved), endpoints[0].gateway if endpoints else "")

    def _namespace(self, record: ContainerRecord, ports: list, undo: ExitStack) -> tuple[Path, NetworkState, list]:
        """The container's namespace: the default bridge's attachment (its place there, and the host ports it
        holds), or one of the engine's for a container whose first network is a user network."""
        if record.host.bridged:
            first = self.default.attach(record.id, ports)
            undo.callback(self.default.detach, record.id)
            undo.callback(lambda: [s.close() for s in first.reserved])
            return first.netns_path, network_state(first), first.reserved
        from portside.runtime.net import netns as namespaces

        netns = self.networks.netns_path(record.id)
        namespaces.create(netns)
        undo.callback(namespaces.remove, netns)
        return netns, NO_NETWORK, []

    def _attach_user_networks(self, record: ContainerRecord, netns: Path, ports: list,
                              undo: ExitStack) -> tuple[tuple[Endpoint, ...], object]:
        """Each user network in order, as the next ``ethN``: the ports go to the first network, if it is the
        container's first; the default route through the first that is not internal. Returns the endpoints, and
        the attachment holding the ports (None when the default bridge holds them)."""
        endpoints: list[Endpoint] = []
        routed, holder = record.host.bridged, None
        for wanted in record.networks:
            first = record.host.user_network and not endpoints
            attachment, endpoint, internal = self._attach_endpoint(
                record, wanted, netns, f"eth{len(endpoints) + int(record.host.bridged)}", not routed,
                ports if first else [], undo)
            routed = routed or not internal
            endpoints.append(endpoint)
            holder = attachment if first else holder
        return tuple(endpoints), holder

    def _attach_endpoint(self, record: ContainerRecord, wanted: EndpointConfig, netns: Path, ifname: str,
                         route: bool, ports: list, undo: ExitStack):
        net = self._find(wanted)
        bridge = self.networks.bridge(net)
        names = (record.name, record.id[:12], *wanted.aliases)
        attachment = bridge.attach(record.id, ports, names=names, netns=netns, ifname=ifname, default_route=route,
                                   ip=wanted.ipv4)
        undo.callback(bridge.detach, record.id)
        undo.callback(lambda: [s.close() for s in attachment.reserved])
        endpoint = Endpoint(net.name, net.id, attachment.ip, attachment.gateway, attachment.prefixlen,
                            attachment.mac, wanted.aliases, names, ifname)
        return attachment, endpoint, net.internal

    def _find(self, wanted: EndpointConfig):
        """The network by the id recorded, else by name (one removed and created again under that name)."""
        try:
            return self.networks.find(wanted.network_id)
        except NetworkNotFound:
            return self.networks.find(wanted.network)

    def release(self, record: ContainerRecord, endpoints: tuple[Endpoint, ...] = (), wait: bool = False) -> None:
        """What the container's networks hold while it runs. Idempotent; the user networks go first (their veths
        are in the namespace the first network made)."""
        if record.networks or endpoints:
            ids = dict.fromkeys([e.network_id for e in record.networks] + [e.network_id for e in endpoints])
            for network_id in ids:
                try:
                    net = self.networks.find(network_id)
                except NetworkNotFound:
                    continue  # removed while nobody was attached: nothing of it is left to release
                self.networks.bridge(net).detach(record.id, wait=wait)
        if record.host.bridged:
            self.default.detach(record.id, wait=wait)
        elif record.host.user_network:
            from portside.runtime.net import netns as namespaces

            namespaces.remove(self.networks.netns_path(record.id))

    def reclaim(self, record: ContainerRecord, endpoints: tuple[Endpoint, ...]) -> Attached | None:
        """The attachments as recorded, the first network's host ports bound again (its monitor died)."""
        if record.host.bridged:
            first = self.default.reclaim(record.id)
        elif record.host.user_network and endpoints:
            first = self.networks.bridge(self.networks.find(endpoints[0].network_id)).reclaim(record.id)
        else:
            return None
        if first is None:
            return None
        return Attached(first.netns_path, network_state(first), endpoints, tuple(first.reserved))

    def rename(self, record: ContainerRecord, new: str, endpoints: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
        """A running container renamed: its user networks answer to the new name from now on (the DNS responder
        reads the leases at each query); returns the endpoints with their names changed."""
        out = []
        for e in endpoints:
            try:
                self.networks.bridge(self.networks.find(e.network_id)).rename(record.id, record.name, new)
            except NetworkNotFound:
                pass  # the network went away meanwhile
            out.append(e.replace(names=tuple(new if n == record.name else n for n in e.names)))
        return tuple(out)

    # -- connect and disconnect ------------------------------------------------------------------------------

    def connect(self, cid: str, ref: str, aliases: tuple[str, ...] = (), ip: str = "", *,
                running: bool, endpoints: tuple[Endpoint, ...] = ()) -> Endpoint | None:
        """Add network ``ref`` to the container; attached at once when ``running`` (else at its next start)."""
        net = self.networks.find(ref)
        record = self.records.record(cid)
        self._check_connect(record, net, aliases)
        wanted = EndpointConfig(net.name, net.id, tuple(dict.fromkeys(aliases)), ip)
        record = self.records.update_record(cid, lambda r: r.replace(networks=r.networks + (wanted,)))
        if not running:
            return None
        try:
            with ExitStack() as undo:
                used = {e.ifname for e in endpoints} | ({"eth0"} if record.host.bridged else set())
                ifname = next(f"eth{i}" for i in range(len(used) + 1) if f"eth{i}" not in used)
                routed = record.host.bridged or any(not self._internal(e.network_id) for e in endpoints)
                _, endpoint, _ = self._attach_endpoint(record, wanted, self._netns(record), ifname, not routed, [],
                                                       undo)
                undo.pop_all()
        except BaseException:
            self.records.update_record(cid, lambda r: r.replace(
                networks=tuple(e for e in r.networks if e.network_id != net.id)))
            raise
        self.resolv_changed(record, endpoints + (endpoint,))
        return endpoint

    def _check_connect(self, record: ContainerRecord, net, aliases: tuple[str, ...]) -> None:
        if net.predefined:
            raise InvalidArgument(f"cannot connect to network {net.name}: only user-defined networks can be "
                                  "connected to a container")
        if not (record.host.bridged or record.host.user_network):
            raise InvalidArgument(f"container {record.name} shares the network namespace of "
                                  f"{record.host.network_mode}: it cannot be connected to any other network")
        if record.endpoint(net.id) is not None:
            raise Conflict(f"endpoint with name {record.name} already exists in network {net.name}")
        from portside.engine.config import check_name

        for alias in aliases:
            check_name(alias, "network alias")

    def disconnect(self, cid: str, ref: str, *, running: bool, endpoints: tuple[Endpoint, ...] = ()) -> bool:
        """Remove network ``ref`` from the container (and from its namespace when ``running``); False when
        it was attached but is not any more in the record (nothing to undo)."""
        net = self.networks.find(ref)
        record = self.records.record(cid)
        if net.predefined:
            raise InvalidArgument(f"cannot disconnect from network {net.name}: it is the container's own "
                                  "namespace; remove the container instead")
        if record.endpoint(net.id) is None and not any(e.network_id == net.id for e in endpoints):
            raise InvalidArgument(f"container {cid[:12]} is not connected to network {net.name}")
        if running:
            self.networks.bridge(net).detach(cid, wait=True)
        record = self.records.update_record(cid, lambda r: r.replace(
            networks=tuple(e for e in r.networks if e.network_id != net.id)))
        if running:
            self.resolv_changed(record, tuple(e for e in endpoints if e.network_id != net.id))
        return True

    def resolv_changed(self, record: ContainerRecord, endpoints: tuple[Endpoint, ...]) -> None:
        """A running container's user networks changed: its resolv.conf names its first one's gateway."""
        from portside.engine.bundle import resolv_conf

        path = self.records.paths(record.id).dir / "resolv.conf"
        text = resolv_conf(endpoints[0].gateway if endpoints else "", self.resolv_source)
        try:
            if path.read_text() != text:
                with open(path, "r+") as f:  # in place: the container sees the file through a bind mount
                    f.write(text)
                    f.truncate()
        except FileNotFoundError:
            pass

    def _netns(self, record: ContainerRecord) -> Path:
        if record.host.bridged:
            return self.default.netns_path(record.id)
        return self.networks.netns_path(record.id)

    def _internal(self, network_id: str) -> bool:
        try:
            return self.networks.find(network_id).internal
        except NetworkNotFound:
            return True


def _mappings(record: ContainerRecord) -> list:
    published = record.published_ports()
    if not published:
        return []
    from portside.runtime.network import PortMapping

    return [PortMapping(p.host_ip, p.host_port, p.container_port, p.protocol) for p in published]
