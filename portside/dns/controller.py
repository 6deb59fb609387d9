"""The cluster DNS component of a node: the zone kept in step with Services and Endpoints, served on the node.

Services and Endpoints are followed through the API (list, then watch, resumed by the client across server
restarts); every event rebuilds the records of that one Service and clears the stored replies, so an answer
follows a change as soon as the watch delivers it (milliseconds), with no resync period. The component is ready
once both lists are in the zone and the sockets are bound: a pod never meets a server that answers NXDOMAIN for
a Service only because it has not read it yet.

Each node runs its own server on its pod bridge's gateway address (what every pod of the node reaches without
NAT, as NodeLocal DNSCache's link-local address is), and pods are given that address as their nameserver.
The server's own ``up`` also keeps the ``kube-dns`` Service (``kubedns``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from portside.api.models import Endpoints, Service
from portside.api.wellknown import CLUSTER_DOMAIN
from portside.client import Client
from portside.dns.records import service_records
from portside.dns.server import DNSServer
from portside.dns.zone import Zone
from portside.runtime.net.dnsforward import Forwarder
from portside.runtime.net.resolvconf import DEFAULT_PATH, read

__all__ = ["DNSConfig", "DNSController", "run"]

log = logging.getLogger("portside.dns")
BIND_RETRY_S = 5.0


@dataclass(frozen=True)
class DNSConfig:
    address: str  # where to listen: the node's pod bridge gateway
    port: int = 53
    domain: str = CLUSTER_DOMAIN
    resolv_conf: str = DEFAULT_PATH  # the upstream resolvers for names outside the cluster
    manage_service: bool = False  # keep the kube-dns Service and its Endpoints (the servers' component does)


def _key(obj) -> str:
    return f"{obj.metadata.namespace or 'default'}/{obj.metadata.name}"


class DNSController:
    def __init__(self, client: Client, config: DNSConfig) -> None:
        self.client, self.config = client, config
        self.zone = Zone(config.domain, config.address)
        upstreams = list(read(config.resolv_conf).nameservers)
        self.server = DNSServer(self.zone, Forwarder(upstreams, own={config.address}), config.address, config.port)
        self.services: dict[str, Service] = {}
        self.endpoints: dict[str, Endpoints] = {}

    def _refresh(self, key: str) -> None:
        service = self.services.get(key)
        records = service_records(service, self.endpoints.get(key), self.zone.domain) if service else []
        self.zone.put(key, records)
        self.server.changed()

    async def _follow(self, resource: str, cache: dict, synced: asyncio.Event) -> None:
        listed = await self.client.list(resource)
        for obj in listed.items:
            cache[_key(obj)] = obj
        for key in list(cache):
            self._refresh(key)
        synced.set()
        async for event in self.client.watch(resource, resource_version=listed.resource_version,
                                             known=listed.items):
            key = _key(event.object)
            if event.type == "DELETED":
                cache.pop(key, None)
            else:
                cache[key] = event.object
            self._refresh(key)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Serve until cancelled; the sockets are closed on the way out."""
        synced = [asyncio.Event(), asyncio.Event()]
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._follow("services", self.services, synced[0]))
                group.create_task(self._follow("endpoints", self.endpoints, synced[1]))
                if self.config.manage_service:
                    from portside.dns.kubedns import keep_service
                    group.create_task(keep_service(self.client))
                await asyncio.gather(*(s.wait() for s in synced))
                group.create_task(self._listen(ready))
        finally:
            await self.server.close()

    async def _listen(self, ready: asyncio.Event | None) -> None:
        """Bind the sockets; while another program holds the address, say so and try again (the node's pods
        and the rest of the cluster carry on meanwhile)."""
        while True:
            try:
                await self.server.start()
                break
            except OSError as exc:
                log.warning("dns: cannot listen on %s:%d (%s); trying again in %.0f s", self.config.address,
                            self.config.port, exc.strerror or exc, BIND_RETRY_S)
                await self.server.close()
                if ready is not None:
                    ready.set()
                await asyncio.sleep(BIND_RETRY_S)
        log.info("dns: serving %s on %s:%d (UDP and TCP)", self.zone.domain, self.config.address, self.server.port)
        if ready is not None:
            ready.set()


async def run(client: Client, config: DNSConfig, ready: asyncio.Event | None = None) -> None:
    await DNSController(client, config).run(ready)
