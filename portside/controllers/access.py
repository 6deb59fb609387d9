"""The access controllers as one ``portside up`` component: ClusterRole aggregation (and, with it, what keeps
every namespace's ServiceAccount machinery in place)."""

from __future__ import annotations

import asyncio
from typing import Any

from portside.controllers.aggregation import AggregationController


async def run_component(ctx: Any, ready: asyncio.Event) -> None:
    async with ctx.client("controller-manager") as client:
        controllers = [AggregationController(client)]
        events = [asyncio.Event() for _ in controllers]
        async with asyncio.TaskGroup() as group:
            for controller, event in zip(controllers, events):
                group.create_task(controller.run(event), name=controller.name)
            await asyncio.gather(*(e.wait() for e in events))
            ready.set()
