"""The access controllers as one ``portside up`` component: ClusterRole aggregation, and every namespace's
``default`` ServiceAccount and ``kube-root-ca.crt`` ConfigMap, which its pods need to start."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from portside.controllers.aggregation import AggregationController
from portside.controllers.serviceaccounts import ServiceAccountsController


async def run_component(ctx: Any, ready: asyncio.Event) -> None:
    with open(os.path.join(ctx.server.data_dir, "pki", "ca.crt")) as f:
        ca_pem = f.read()
    async with ctx.client("controller-manager") as client:
        controllers = [AggregationController(client), ServiceAccountsController(client, ca_pem)]
        events = [asyncio.Event() for _ in controllers]
        async with asyncio.TaskGroup() as group:
            for controller, event in zip(controllers, events):
                group.create_task(controller.run(event), name=controller.name)
            await asyncio.gather(*(e.wait() for e in events))
            ready.set()
