"""The ``netpol`` component of every node: follows Pods, Namespaces, NetworkPolicies and Nodes through the API
and keeps the node's policy table in step.

Every change marks the world dirty; one sync task then compiles the whole cached world (``compiler``, pure) into
the node's rule state (``nftrules``) and sends the difference from what is installed, as the service proxy does.
Coalescing this way applies a burst of changes in one batch, well within a second of the last. A failing sync is
logged and retried with back-off; a node where nft cannot be used (no root) logs once and enforces nothing, and
never takes its ``up`` or ``agent`` down.

On an orderly stop the table is deleted (the pods are open until an enforcer runs again, as with the proxy's
Services); one killed outright leaves its rules enforcing, and the next start replaces them in one batch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from portside.client import Client
from portside.netpol.compiler import compile_node
from portside.netpol.model import World
from portside.netpol.nftrules import desired, table_name
from portside.netpol.plane import NetworkError, PolicyTable, bridge_filtering, nft_available

__all__ = ["NetpolConfig", "NetworkPolicyEnforcer", "run"]

log = logging.getLogger("portside.netpol")
RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
RESOURCES = ("pods", "namespaces", "networkpolicies", "nodes")


@dataclass(frozen=True)
class NetpolConfig:
    node: str  # the pods bound to this node are the ones whose traffic it polices
    bridge: str  # the node's pod bridge, which names its table


def _key(obj: Any) -> str:
    return f"{obj.metadata.namespace or ''}/{obj.metadata.name}"


@dataclass
class _Caches:
    by_resource: dict[str, dict[str, Any]] = field(default_factory=lambda: {r: {} for r in RESOURCES})

    def world(self) -> World:
        c = self.by_resource
        return World.of(c["pods"].values(), c["namespaces"].values(), c["networkpolicies"].values(),
                        c["nodes"].values())


class NetworkPolicyEnforcer:
    def __init__(self, client: Client, config: NetpolConfig) -> None:
        self.client, self.config = client, config
        self.caches = _Caches()
        self.changed = asyncio.Event()
        self.table: PolicyTable | None = None
        self.last_batch = ""

    async def _follow(self, resource: str, synced: asyncio.Event) -> None:
        cache = self.caches.by_resource[resource]
        listed = await self.client.list(resource)
        cache.update({_key(o): o for o in listed.items})
        synced.set()
        self.changed.set()
        async for event in self.client.watch(resource, resource_version=listed.resource_version,
                                             known=listed.items):
            if event.type == "DELETED":
                cache.pop(_key(event.object), None)
            else:
                cache[_key(event.object)] = event.object
            self.changed.set()

    def _start_table(self) -> None:
        if not nft_available():
            log.warning("netpol: nft cannot be used here (root and the nft tool are needed); network policies are "
                        "not enforced on node %s", self.config.node)
            return
        try:
            bridge_filtering()
        except NetworkError as exc:
            log.error("netpol: %s; pods of node %s are not isolated from each other", exc, self.config.node)
        self.table = PolicyTable(table_name(self.config.bridge))

    async def sync(self) -> None:
        if self.table is None:
            return
        state = desired(compile_node(self.caches.world(), self.config.node))
        self.last_batch = await asyncio.to_thread(self.table.sync, state)

    async def _sync_loop(self, ready: asyncio.Event | None) -> None:
        failures = 0
        while True:
            await self.changed.wait()
            self.changed.clear()
            try:
                await self.sync()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - a bad sync must not take the node down
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                log.warning("netpol: sync failed (%s); retrying in %.1fs", exc, delay, exc_info=failures == 1)
                asyncio.get_running_loop().call_later(delay, self.changed.set)
            if ready is not None:
                ready.set()  # after the first attempt, even a failed one: the enforcer keeps retrying

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Enforce until cancelled; then remove the table."""
        try:
            self._start_table()
            synced = [asyncio.Event() for _ in RESOURCES]
            async with asyncio.TaskGroup() as group:
                for resource, event in zip(RESOURCES, synced, strict=True):
                    group.create_task(self._follow(resource, event), name=f"netpol:{resource}")
                await asyncio.gather(*(s.wait() for s in synced))
                group.create_task(self._sync_loop(ready))
        finally:
            self.close()

    def close(self) -> None:
        if self.table is not None:
            try:
                self.table.close()
            except NetworkError as exc:
                log.warning("netpol: table %s not removed: %s", self.table.table, exc)


async def run(client: Client, config: NetpolConfig, ready: asyncio.Event | None = None) -> None:
    await NetworkPolicyEnforcer(client, config).run(ready)
