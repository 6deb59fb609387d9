"""Where pods reach the API server: the ``kubernetes`` Service's Endpoints, which the servers write themselves.

Pods (and the official client's in-cluster configuration) dial the Service's ClusterIP on 443; the service proxy
sends that to an address in ``default/kubernetes``'s Endpoints. Each server adds its own address there when its
node's pod network is up and takes it out when it stops in order, as kube-apiserver's endpoint reconciler does.
Which address: the one it serves on, unless that is loopback (the default, ``--address 127.0.0.1``), which a pod
cannot reach; then the server also listens on its node's pod bridge gateway, which every pod of the node reaches
(bound with ``IP_FREEBIND``: the bridge may come up a moment later), and publishes that. Pods on other nodes need
a server started with a routable ``--address``, as joined agents do.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket

from portside import api
from portside.apiserver import errors
from portside.apiserver.objects import Target, key
from portside.apiserver.registry import Registry, WriteOptions

log = logging.getLogger("portside.apiserver")
ENDPOINTS = api.lookup("", "v1", "endpoints")
NAME, NAMESPACE, PORT_NAME = "kubernetes", "default", "https"
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
ATTEMPTS = 5


def reachable_by_pods(host: str) -> bool:
    """Whether a pod could dial ``host`` (a wildcard counts: the server is on every address)."""
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host not in ("localhost",)


def listen_socket(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IP if family == socket.AF_INET else socket.IPPROTO_IPV6, IP_FREEBIND, 1)
    sock.bind((address, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _with(subsets: list[dict], address: str, port: int, present: bool) -> list[dict]:
    """``subsets`` with ``address`` added to (or removed from) the subset serving ``port``."""
    ports = [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]
    out = []
    for subset in subsets:
        addresses = [a for a in subset.get("addresses") or [] if a.get("ip") != address]
        if subset.get("ports") == ports and present:
            addresses.append({"ip": address})
            present = False
        if addresses:
            out.append({**subset, "addresses": sorted(addresses, key=lambda a: a["ip"])})
    if present:
        out.append({"addresses": [{"ip": address}], "ports": ports})
    return out


async def publish(registry: Registry, address: str, port: int, present: bool = True) -> None:
    """Add (or with ``present`` false, remove) this server's address in ``default/kubernetes``."""
    t = Target(ENDPOINTS, NAMESPACE, NAME)
    for _ in range(ATTEMPTS):
        kv = await registry.store.get(key(ENDPOINTS, NAMESPACE, NAME))
        current = json.loads(kv.value) if kv else {"metadata": {"name": NAME, "namespace": NAMESPACE}, "subsets": []}
        subsets = _with(current.get("subsets") or [], address, port, present)
        if kv is not None and subsets == current.get("subsets"):
            return
        try:
            if kv is None:
                await registry.create(t, {**current, "subsets": subsets}, WriteOptions())
            else:
                await registry.update(t, {**current, "subsets": subsets}, WriteOptions())
            log.info("kubernetes endpoints: %s %s:%d", "added" if present else "removed", address, port)
            return
        except errors.ApiError as exc:
            if exc.code != 409:
                raise
    log.warning("kubernetes endpoints: could not %s %s after %d attempts", "add" if present else "remove",
                address, ATTEMPTS)
