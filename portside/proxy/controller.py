"""The proxy component: watches Services and Endpoints through the API and keeps the data planes in step.

Every change marks the world dirty; one sync task then plans from the whole cached world (``plan.plan``, pure
and cheap) and hands each plane its part. The planes diff against what they hold, so a sync that changes
nothing costs nothing, and one that changes a single endpoint sends a single small nft batch. Coalescing changes
this way keeps latency low (one sync per burst, well under a second) without a sync per event.

After each sync the Services' status is brought in line: LoadBalancer Services get ``status.loadBalancer.ingress``
once their ports are bound; a Service whose port could not be bound gets the condition ``PortsAvailable=False``
(reason ``PortConflict``) and a Warning Event, and loses neither when the conflict is gone: the condition turns
True. A failing sync is logged and retried with back-off; the component itself never takes ``portside up`` down.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from portside.client import Client
from portside.proxy import status
from portside.proxy.holder import PortHolder
from portside.proxy.metrics import merge
from portside.proxy.nftables import KernelPlane, NetworkError, kernel_available
from portside.proxy.plan import MODES, Plan, plan
from portside.proxy.workers import UserspacePlane

__all__ = ["ProxyConfig", "ProxyController", "run"]

log = logging.getLogger("portside.proxy")
RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
CONFLICT_RETRY_S = 5.0  # a port another program holds may be freed: try again while any conflict stands
Obj = dict[str, Any]


@dataclass(frozen=True)
class ProxyConfig:
    mode: str = "auto"
    lb_address: str = "0.0.0.0"
    workers: int = 0  # 0: one per core
    table: str = ""  # default: portside_svc_<pid>
    metrics_interval_s: float = 2.0
    report: bool = True  # write Service status, Events and metrics: the server's proxy does; a joined node's not
    cluster_cidr: str = ""  # the pods' range, on a node of a multi-node cluster (see nftrules: masquerade)

    @classmethod
    def from_env(cls) -> ProxyConfig:
        """``PORTSIDE_PROXY_MODE`` (auto, kernel, userspace), ``..._LB_ADDRESS``, ``..._WORKERS``,
        ``..._TABLE`` (a node's own: ``names.for_node``) and ``PORTSIDE_CLUSTER_CIDR``."""
        mode = os.environ.get("PORTSIDE_PROXY_MODE", "auto")
        if mode not in MODES:
            raise ValueError(f'PORTSIDE_PROXY_MODE: "{mode}" is not one of {", ".join(MODES)}')
        return cls(mode, os.environ.get("PORTSIDE_PROXY_LB_ADDRESS", "0.0.0.0"),
                   int(os.environ.get("PORTSIDE_PROXY_WORKERS", "0")), os.environ.get("PORTSIDE_PROXY_TABLE", ""),
                   cluster_cidr=os.environ.get("PORTSIDE_CLUSTER_CIDR", ""))


def _key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


@dataclass
class _World:
    services: dict[str, Obj] = field(default_factory=dict)
    endpoints: dict[str, Obj] = field(default_factory=dict)


class ProxyController:
    def __init__(self, client: Client, config: ProxyConfig = ProxyConfig()) -> None:
        self.client, self.config = client.raw, config  # the planner reads Services and Endpoints as wire dicts
        self.world = _World()
        self.changed = asyncio.Event()
        self.kernel: KernelPlane | None = None
        self.userspace = UserspacePlane(config.workers, config.lb_address)
        self.holder = PortHolder(config.lb_address)  # the LoadBalancer ports nft serves in kernel mode
        self.reporter = status.Reporter(self.client, config.lb_address)
        self.last_plan = Plan()
        self._metrics: dict[str, str] = {}  # nothing is published until there is something to show

    async def _start_kernel(self) -> None:
        if self.config.mode == "userspace" or (self.config.mode == "auto" and not kernel_available()):
            return
        plane = KernelPlane(self.config.table or None, kernel_lb=self.config.mode == "kernel",
                            cluster_cidr=self.config.cluster_cidr)
        try:
            await asyncio.to_thread(plane.start)
            self.kernel = plane
        except NetworkError as exc:
            if self.config.mode == "kernel":
                raise
            log.warning("proxy: nftables unusable (%s); serving LoadBalancer and NodePort ports in userspace", exc)

    async def _follow(self, resource: str, cache: dict[str, Obj], synced: asyncio.Event) -> None:
        listed = await self.client.list(resource)
        cache.update({_key(o): o for o in listed.items})
        synced.set()
        self.changed.set()
        async for event in self.client.watch(resource, resource_version=listed.resource_version):
            if event.type == "DELETED":
                cache.pop(_key(event.object), None)
            else:
                cache[_key(event.object)] = event.object
            self.changed.set()

    async def sync(self) -> None:
        p = plan(list(self.world.services.values()), self.world.endpoints, self.config.mode, self.kernel is not None)
        kernel_lb = self.kernel is not None and self.kernel.kernel_lb  # kernel mode: nft serves LoadBalancer ports
        held = self.holder.sync([sp for sp in p.kernel if sp.load_balancer] if kernel_lb else [])
        if self.kernel is not None:  # a port another program holds gets no rule: its traffic stays that program's
            await asyncio.to_thread(self.kernel.sync, [sp for sp in p.kernel if sp.key not in held])
        conflicts = {**held, **self.userspace.sync(p.userspace)}
        for port_key, reason in conflicts.items():
            p.conflicts.setdefault(port_key.split(":", 1)[0], []).append(reason)
        self.last_plan = p
        served = set(self.userspace.served)
        if kernel_lb:
            served |= {sp.key for sp in p.kernel if sp.load_balancer and sp.key not in held}
        if self.config.report:
            await self.reporter.report(self.world.services, p, served)

    async def _sync_loop(self, ready: asyncio.Event | None) -> None:
        failures = 0
        while True:
            await self.changed.wait()
            self.changed.clear()
            try:
                await self.sync()
                failures = 0
                if self.last_plan.conflicts:
                    asyncio.get_running_loop().call_later(CONFLICT_RETRY_S, self.changed.set)
            except Exception as exc:  # noqa: BLE001 - a bad sync must not take the control plane down
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                log.warning("proxy: sync failed (%s); retrying in %.1fs", exc, delay, exc_info=failures == 1)
                asyncio.get_running_loop().call_later(delay, self.changed.set)
            if ready is not None:
                ready.set()  # after the first attempt, even a failed one: up reports, the proxy keeps retrying

    async def _metrics_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.metrics_interval_s)
            try:
                await self._publish_metrics()
            except Exception as exc:  # noqa: BLE001 - metrics are best effort; serving goes on
                log.warning("proxy: metrics not published: %s", exc)

    async def _publish_metrics(self) -> None:
        kernel = await asyncio.to_thread(self.kernel.connections) if self.kernel and self.kernel.counter_names \
            else {}
        data = merge(self.userspace.stats(), kernel)
        if data != self._metrics:
            await status.publish_metrics(self.client, data)
            self._metrics = data

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Serve until cancelled; then remove every rule and listener this proxy made."""
        try:
            await self._start_kernel()
            synced = [asyncio.Event(), asyncio.Event()]
            async with asyncio.TaskGroup() as group:
                group.create_task(self._follow("services", self.world.services, synced[0]))
                group.create_task(self._follow("endpoints", self.world.endpoints, synced[1]))
                await asyncio.gather(*(s.wait() for s in synced))
                group.create_task(self._sync_loop(ready))
                if self.config.report:
                    group.create_task(self._metrics_loop())
        finally:
            self.close()

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
        self.userspace.close()
        self.holder.close()


async def run(client: Client, ready: asyncio.Event | None = None, config: ProxyConfig | None = None) -> None:
    await ProxyController(client, config or ProxyConfig.from_env()).run(ready)
