"""``portside up``'s process: every control-plane component in one asyncio.TaskGroup, in dependency order.

A component is an ``async def run(ctx, ready)`` that sets ``ready`` once it serves and then runs until
cancelled, cleaning up in ``finally``. A component starts when every component it needs is ready; adding one is
one line in ``COMPONENTS``. Stopping cancels components in reverse order (controllers before the API they talk
to), each under its own drain timeout. A component that fails takes the group down, and ``up`` exits non-zero.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from portside.apiserver import APIServer, ServerConfig

log = logging.getLogger("portside.up")
DRAIN_TIMEOUT_S = 10.0


@dataclass
class Context:
    """What components share: the API server's configuration, the engine root, the admin kubeconfig."""

    server: ServerConfig
    engine_root: str
    kubeconfig: str = ""

    def client(self):
        from portside.client import Client
        return Client.from_kubeconfig(self.kubeconfig)


Run = Callable[[Context, asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class Component:
    name: str
    run: Run
    needs: tuple[str, ...] = field(default=())


async def run_apiserver(ctx: Context, ready: asyncio.Event) -> None:
    server = APIServer(ctx.server)
    ctx.kubeconfig = server.kubeconfig
    await server.run(ready)


async def run_garbage_collector(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.gc import GarbageCollector
    async with ctx.client() as client:
        await GarbageCollector(client).run(ready)


async def run_workload_controllers(ctx: Context, ready: asyncio.Event) -> None:
    from portside.controllers.workloads import run_workload_controllers as run
    await run(ctx, ready)


async def run_scheduler(ctx: Context, ready: asyncio.Event) -> None:
    from portside.scheduler.service import run_component
    await run_component(ctx, ready)


async def run_proxy(ctx: Context, ready: asyncio.Event) -> None:
    from portside.proxy import controller
    async with ctx.client() as client:
        await controller.run(client, ready)


async def run_agent(ctx: Context, ready: asyncio.Event) -> None:
    from portside.agent import run_component
    await run_component(ctx, ready)


COMPONENTS: list[Component] = [
    Component("apiserver", run_apiserver),
    Component("garbage-collector", run_garbage_collector, needs=("apiserver",)),
    Component("scheduler", run_scheduler, needs=("apiserver",)),
    Component("workload-controllers", run_workload_controllers, needs=("apiserver",)),
    Component("proxy", run_proxy, needs=("apiserver",)),
    Component("agent", run_agent, needs=("apiserver",)),
]


async def _start(c: Component, ctx: Context, ready: dict[str, asyncio.Event]) -> None:
    for need in c.needs:
        await ready[need].wait()
    log.info("starting %s", c.name)
    await c.run(ctx, ready[c.name])


async def supervise(ctx: Context, stop: asyncio.Event, on_ready: Callable[[], Awaitable[None]],
                    components: list[Component] | None = None) -> None:
    """Run ``components`` until ``stop`` is set; ``on_ready`` runs once all of them are ready."""
    components = COMPONENTS if components is None else components
    ready = {c.name: asyncio.Event() for c in components}
    async with asyncio.TaskGroup() as group:
        tasks = {c.name: group.create_task(_start(c, ctx, ready), name=c.name) for c in components}
        await asyncio.gather(*(e.wait() for e in ready.values()))
        await on_ready()
        await stop.wait()
        for c in reversed(components):
            tasks[c.name].cancel()
            done, _ = await asyncio.wait([tasks[c.name]], timeout=DRAIN_TIMEOUT_S)
            if not done:
                log.warning("%s did not stop within %.0f s", c.name, DRAIN_TIMEOUT_S)
