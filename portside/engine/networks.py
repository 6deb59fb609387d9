"""User-defined networks, as docker's: ``network create|ls|inspect|rm|prune``.

A network is a record under the engine root and, in the kernel, a bridge with its own subnet and nftables table
(``runtime.net.BridgeNetwork``): outbound traffic masqueraded, published ports DNATed as on the default bridge,
and forwarding to and from every other bridge of portside dropped (docker's isolation between networks), or, for
an ``--internal`` network, all forwarding in and out. The containers attached to it, with their addresses and the
names they answer to (container name, short id, aliases), are its lease table; the engine's DNS responder
(``resolver.py``) answers those names to the network's containers.

Layout: ``ROOT/networks/<id>/network.json`` (written once at create) beside the network's lease table;
``ROOT/networks/names/<name> -> <id>`` (a symlink: name uniqueness is atomic, as for containers);
``ROOT/networks/netns/<container id>`` the namespaces of containers whose first network is a user network.
The bridge is made at create (so other engines see its route and pick other subnets) and again by the first
attach after a reboot took it; ``remove`` deletes it, ``teardown`` takes down the kernel side of idle networks.

The predefined ``bridge``, ``host`` and ``none`` are listed and inspected like the others and cannot be removed.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
from contextlib import contextmanager
from pathlib import Path

from portside.engine.config import check_network_name
from portside.engine.records import append_event, read_json, remove_tree, write_atomic
from portside.runtime import logfile
from portside.runtime.errors import Conflict, InvalidArgument, NetworkNotFound
from portside.runtime.plain import Plain

PREDEFINED = {"bridge": "bridge", "host": "host", "none": "null"}  # name -> driver
LIST_FILTERS = ("name", "id", "label", "driver", "type", "dangling", "scope")
BRIDGE_PREFIX = "psn-"  # user networks' bridges: psn-<11 hex of the id>, 15 characters as docker's br-<12 hex>


class NetworkRecord(Plain):
    """One network as created; ``predefined`` for bridge, host and none."""

    __slots__ = ("id", "name", "created", "driver", "subnet", "gateway", "internal", "labels", "bridge", "attachable",
                 "ip_range", "aux_addresses", "pool_given")

    def __init__(self, id: str, name: str, created: str, driver: str = "bridge", subnet: str = "", gateway: str = "",
                 internal: bool = False, labels: dict[str, str] | None = None, bridge: str = "",
                 attachable: bool = False, ip_range: str = "", aux_addresses: dict[str, str] | None = None,
                 pool_given: tuple[str, ...] = ("Subnet", "Gateway")) -> None:
        """``pool_given``: the fields of docker's IPAM config the creator gave (inspect shows those; a subnet
        from the pools shows its gateway too)."""
        self.id, self.name, self.created, self.driver = id, name, created, driver
        self.subnet, self.gateway, self.internal = subnet, gateway, internal
        self.labels, self.bridge, self.attachable = dict(labels or {}), bridge, attachable
        self.ip_range, self.aux_addresses, self.pool_given = ip_range, dict(aux_addresses or {}), tuple(pool_given)

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    @classmethod
    def from_json(cls, d: dict) -> NetworkRecord:
        return cls(d["Id"], d["Name"], d.get("Created", ""), d.get("Driver", "bridge"), d.get("Subnet", ""),
                   d.get("Gateway", ""), d.get("Internal", False), d.get("Labels") or {}, d.get("Bridge", ""),
                   d.get("Attachable", False), d.get("IPRange", ""), d.get("AuxiliaryAddresses") or {},
                   tuple(d.get("PoolGiven") or ("Subnet", "Gateway")))

    def to_json(self) -> dict:
        return {"Id": self.id, "Name": self.name, "Created": self.created, "Driver": self.driver,
                "Subnet": self.subnet, "Gateway": self.gateway, "Internal": self.internal, "Labels": self.labels,
                "Bridge": self.bridge, "Attachable": self.attachable, "IPRange": self.ip_range,
                "AuxiliaryAddresses": self.aux_addresses, "PoolGiven": list(self.pool_given)}

    def ipam_config(self) -> list[dict]:
        """docker's ``IPAM.Config``: the fields given at create (Subnet and Gateway of a pool's subnet)."""
        if not self.subnet:
            return []
        values = {"Subnet": self.subnet, "IPRange": self.ip_range, "Gateway": self.gateway,
                  "AuxiliaryAddresses": self.aux_addresses}
        return [{key: value for key, value in values.items() if key in self.pool_given and value}]


class Networks:
    """The networks of one engine root. ``settings`` is ``ROOT/engine.json``."""

    def __init__(self, root: Path, settings: dict, default=None, alive=None) -> None:
        """``default``: gives the default bridge's ``BridgeNetwork`` (for inspecting ``bridge``); ``alive``: whether
        a container id is running (the engine's look, which also releases what a dead container held: after a
        reboot the lease tables still name containers that no longer run)."""
        self.root = Path(root)
        self.dir = self.root / "networks"
        self.names = self.dir / "names"
        self.settings = settings
        self._default = default
        self._alive = alive or (lambda cid: True)

    # -- the registry ----------------------------------------------------------------------------------------

    def create(self, name: str, subnet: str = "", gateway: str = "", internal: bool = False,
               labels: dict[str, str] | None = None, attachable: bool = False, ip_range: str = "",
               aux_addresses: dict[str, str] | None = None) -> NetworkRecord:
        """Record the network, bring its bridge up and have the DNS responder serve it; all or nothing.
        ``ip_range``: where containers' addresses are given out from (within ``subnet``); ``aux_addresses``:
        addresses never given out (docker's ``--aux-address``)."""
        if (ip_range or aux_addresses) and not subnet:
            raise InvalidArgument("--ip-range and --aux-address need --subnet")
        check_network_name(name)
        if name in PREDEFINED:
            raise Conflict(f"network with name {name} already exists")
        with self._create_lock():
            if os.path.lexists(self.names / name):
                raise Conflict(f"network with name {name} already exists")
            net = self._subnet(subnet)
            from portside.runtime.net.bridge import gateway_of

            given = ("Subnet", "Gateway") if not subnet else \
                ("Subnet",) + (("Gateway",) if gateway else ()) + (("IPRange",) if ip_range else ()) + \
                (("AuxiliaryAddresses",) if aux_addresses else ())
            record = NetworkRecord(os.urandom(32).hex(), name, logfile.rfc3339(), "bridge", str(net),
                                   gateway_of(net, gateway), internal, labels, attachable=attachable,
                                   ip_range=_ip_range(net, ip_range), aux_addresses=_aux(net, aux_addresses or {}),
                                   pool_given=given)
            record.bridge = BRIDGE_PREFIX + record.id[:11]
            self._write(record)
            try:
                self.bridge(record).ensure_bridge()
                from portside.engine import resolver

                resolver.sync(self.root)
            except BaseException:
                self._delete(record)
                raise
        network_event(self.root, "create", record)
        return record

    def _write(self, record: NetworkRecord) -> None:
        (self.dir / record.id).mkdir(parents=True)
        write_atomic(self.dir / record.id / "network.json", record.to_json())
        self.names.mkdir(parents=True, exist_ok=True)
        os.symlink(record.id, self.names / record.name)

    @contextmanager
    def _create_lock(self):
        """Serialises creates, which pick subnets and names: two at once would pick the same. Other roots' engines
        pick subnets too: the host's lock is held as well (``pools.host_lock``), until the new bridge is up."""
        from portside.runtime.net import pools

        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "create.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with pools.host_lock():
                yield

    def find(self, ref: str) -> NetworkRecord:
        """A network by name, full id or unique id prefix (docker's order: id, name, prefix)."""
        if ref in PREDEFINED:
            return self._predefined(ref)
        if ref and (self.dir / ref / "network.json").exists():
            return self._read(ref)
        try:
            return self._read(os.readlink(self.names / ref))
        except OSError:
            pass
        matches = [r for r in self.user_networks() if r.id.startswith(ref)] if ref.isalnum() else []
        if len(matches) > 1:
            raise InvalidArgument(f"network id prefix {ref!r} is ambiguous: it matches {len(matches)} networks")
        if not matches:
            raise NetworkNotFound(ref)
        return matches[0]

    def user_networks(self) -> list[NetworkRecord]:
        """The user-defined networks, oldest first."""
        out = []
        try:
            entries = list(self.dir.iterdir())
        except FileNotFoundError:
            return []
        for entry in entries:
            if len(entry.name) == 64 and (entry / "network.json").exists():
                try:
                    out.append(self._read(entry.name))
                except (FileNotFoundError, ValueError, KeyError):
                    continue  # removed while we looked
        return sorted(out, key=lambda r: (r.created, r.name))

    def all(self) -> list[NetworkRecord]:
        return [self._predefined(name) for name in PREDEFINED] + self.user_networks()

    def _read(self, nid: str) -> NetworkRecord:
        return NetworkRecord.from_json(read_json(self.dir / nid / "network.json"))

    def _predefined(self, name: str) -> NetworkRecord:
        import zlib

        nid = f"{zlib.crc32(f'{self.root}:{name}'.encode()):08x}" * 8  # stable per root, as docker's per daemon
        if name != "bridge":
            return NetworkRecord(nid, name, "", PREDEFINED[name])
        subnet = ipaddress.IPv4Network(self.settings.get("subnet", "10.88.0.0/16"))
        return NetworkRecord(nid, name, "", "bridge", str(subnet), str(subnet.network_address + 1),
                             bridge=self.settings.get("bridge", "portside0"))

    def inspect(self, ref: str) -> dict:
        """docker's ``network inspect`` JSON, with the containers attached now."""
        record = self.find(ref)
        if record.driver != "bridge":
            attached = {}
        else:
            bridge = self.bridge(record) if not record.predefined else self._default() if self._default else None
            attached = bridge.leases() if bridge is not None else {}
        prefix = ipaddress.IPv4Network(record.subnet).prefixlen if record.subnet else 0
        containers = {cid: {"Name": self._container_name(cid), "EndpointID": endpoint_id(record.id, cid),
                            "MacAddress": _mac(lease.ip),
                            "IPv4Address": f"{lease.ip}/{prefix}", "IPv6Address": ""}
                      for cid, lease in attached.items() if not lease.owners}
        return {"Name": record.name, "Id": record.id, "Created": record.created or logfile.rfc3339(0),
                "Scope": "local", "Driver": record.driver, "EnableIPv6": False,
                "IPAM": {"Driver": "default", "Options": None, "Config": record.ipam_config()}, "Internal": record.internal,
                "Attachable": record.attachable, "Ingress": False, "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
                "Containers": containers,
                "Options": {"com.docker.network.bridge.name": record.bridge} if record.bridge else {},
                "Labels": record.labels}

    def remove(self, ref: str) -> NetworkRecord:
        """docker's refusal while containers are attached names them; stopped containers do not count."""
        record = self.find(ref)
        if record.predefined:
            raise Conflict(f"{record.name} is a pre-defined network and cannot be removed")
        active = self.active(record)
        if active:
            raise Conflict(f"error while removing network: network {record.name} has active endpoints "
                           + " ".join(f'(name:"{self._container_name(cid)}" id:"{cid[:12]}")' for cid in active))
        self._delete(record)
        network_event(self.root, "destroy", record)
        from portside.engine import resolver

        resolver.sync(self.root, required=False)
        return record

    def active(self, record: NetworkRecord) -> list[str]:
        """Ids of the running containers attached to the network."""
        return [cid for cid in self.bridge(record).attached() if self._alive(cid)]

    def _delete(self, record: NetworkRecord) -> None:
        """Bridge, table and files; a lease still there is a container's that is gone (its files deleted)."""
        bridge = self.bridge(record)
        try:
            for cid in bridge.attached():
                bridge.detach(cid)
            bridge.teardown()
        finally:
            link = self.names / record.name
            if _readlink(link) == record.id:
                link.unlink(missing_ok=True)
            remove_tree(self.dir / record.id)

    def select(self, filters: dict[str, list[str]]) -> list[NetworkRecord]:
        """The networks that pass docker's ``network ls`` filters: name, id, label, driver, type (custom or
        builtin), dangling (no container attached)."""
        from portside.engine import filters as f

        f.check_names(filters, LIST_FILTERS)
        kinds = filters.get("type", [])
        for kind in kinds:
            if kind not in ("custom", "builtin"):
                raise InvalidArgument(f"invalid filter 'type={kind}': expected custom or builtin")
        dangling = f.boolean(filters, "dangling")
        return [r for r in self.all()
                if ("name" not in filters or f.text_matches(r.name, filters["name"]))
                and ("id" not in filters or any(r.id.startswith(i) for i in filters["id"]))
                and ("driver" not in filters or r.driver in filters["driver"])
                and f.labels_match(r.labels, filters.get("label", []))
                and (not kinds or ("builtin" if r.predefined else "custom") in kinds)
                and ("scope" not in filters or "local" in filters["scope"])
                and (dangling is None or self._dangling(r) == dangling)]

    def _dangling(self, record: NetworkRecord) -> bool:
        """docker's ``dangling``: a user network no container is attached to (the predefined ones never are)."""
        return not record.predefined and not self.active(record)

    def prune(self, keep=lambda record: False) -> list[NetworkRecord]:
        """Every user network no running container is attached to (docker's ``network prune``), but those
        ``keep`` says to keep (the prune filters)."""
        removed = []
        for record in self.user_networks():
            if not self.active(record) and not keep(record):
                self._delete(record)
                network_event(self.root, "destroy", record)
                removed.append(record)
        if removed:
            from portside.engine import resolver

            resolver.sync(self.root, required=False)
        return removed

    def teardown(self) -> list[str]:
        """The kernel side of every idle network (bridge, nftables table), and the DNS responder once no network
        is in use; the records stay, and the next attach brings it all back. The bridges removed."""
        removed, busy = [], False
        for record in self.user_networks():
            if self.active(record):
                busy = True
                continue
            bridge = self.bridge(record)
            if bridge.present():
                removed.append(record.bridge)
            for cid in bridge.attached():
                bridge.detach(cid)
            bridge.teardown()
        if not busy:
            from portside.engine import resolver

            resolver.stop(self.root)
        return removed

    # -- the kernel side -------------------------------------------------------------------------------------

    def bridge(self, record: NetworkRecord):
        """The ``BridgeNetwork`` of a user network."""
        from portside.runtime.net.bridge import BridgeNetwork

        if record.predefined:
            raise InvalidArgument(f"network {record.name} is not a user-defined network")
        return BridgeNetwork(self.dir / record.id, record.bridge, record.subnet, mtu=int(self.settings.get("mtu", 0)),
                             gateway=record.gateway, internal=record.internal,
                             isolate=(BRIDGE_PREFIX + "*", self.settings.get("bridge", "portside0")),
                             ip_range=record.ip_range, reserved=tuple(record.aux_addresses.values()))

    def netns_path(self, cid: str) -> Path:
        """The namespace of a container whose first network is a user network (the engine owns it)."""
        return self.dir / "netns" / cid

    def _subnet(self, text: str) -> ipaddress.IPv4Network:
        from portside.runtime.net import pools

        known = [ipaddress.IPv4Network(r.subnet) for r in self.user_networks()]
        known.append(ipaddress.IPv4Network(self.settings.get("subnet", "10.88.0.0/16")))
        if self.settings.get("cluster_cidr"):
            known.append(ipaddress.IPv4Network(self.settings["cluster_cidr"]))
        if not text:
            configured = self.settings.get("default_address_pools") or pools.DEFAULT_POOLS
            return pools.allocate(pools.parse_pools(configured), known + pools.host_networks())
        try:
            net = ipaddress.IPv4Network(text)
        except ValueError as err:
            raise InvalidArgument(f'invalid --subnet "{text}": {err}') from None
        if net.prefixlen > 30:
            raise InvalidArgument(f'invalid --subnet "{text}": a network needs at least a /30')
        clash = next((k for k in known if k.overlaps(net)), None)
        if clash is not None:
            raise Conflict(f"invalid pool request: Pool overlaps with other one on this address space ({clash})")
        return net

    def _container_name(self, cid: str) -> str:
        try:
            return read_json(self.root / "containers" / cid / "container.json")["Name"]
        except (OSError, ValueError, KeyError):
            return ""


def _mac(ip: str) -> str:
    from portside.runtime.net.ipam import mac_for

    return mac_for(ip)


def _ip_range(net: ipaddress.IPv4Network, text: str) -> str:
    if not text:
        return ""
    try:
        pool = ipaddress.IPv4Network(text)
    except ValueError as err:
        raise InvalidArgument(f'invalid --ip-range "{text}": {err}') from None
    if not pool.subnet_of(net):
        raise InvalidArgument(f'invalid --ip-range "{text}": it is not within the subnet {net}')
    return str(pool)


def _aux(net: ipaddress.IPv4Network, addresses: dict[str, str]) -> dict[str, str]:
    for name, text in addresses.items():
        try:
            inside = ipaddress.IPv4Address(text) in net
        except ValueError:
            inside = False
        if not inside:
            raise InvalidArgument(f"invalid --aux-address {name}={text}: expected an IPv4 address in {net}")
    return dict(addresses)


def endpoint_id(network_id: str, cid: str) -> str:
    """A container's endpoint on a network, named as docker's (64 hex), the same every time it is asked."""
    import hashlib

    return hashlib.sha256(f"{network_id}:{cid}".encode()).hexdigest()


def network_event(root: Path, action: str, record: NetworkRecord, **extra: str) -> None:
    """A network's event, with docker's attributes (``container`` for connect and disconnect)."""
    append_event(root, "network", action, record.id, {**extra, "name": record.name, "type": record.driver})


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def parse_labels(items: list[str], flag: str = "--label") -> dict[str, str]:
    labels = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {flag} {item!r}: expected KEY=VALUE")
        labels[key] = value
    return labels

