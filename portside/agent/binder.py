"""The fallback binder: while ``portside up`` runs no scheduler, every unbound pod goes to the local node.

It binds through the pods/binding subresource, exactly as the scheduler does, so the scheduler replaces it
without any other change. Pods held by scheduling gates (a Job waiting for its dependencies) or asking for
another scheduler are left alone, and so is every pod while the cluster has any other Node: placement among
several nodes is the scheduler's work, not a fallback's.
"""

from __future__ import annotations

import asyncio
import logging

from portside.client import Client, Conflict, NotFound

log = logging.getLogger("portside.agent.binder")


def bindable(pod: dict) -> bool:
    spec = pod.get("spec") or {}
    return (not spec.get("nodeName") and not spec.get("schedulingGates") and not
            (pod["metadata"].get("deletionTimestamp")) and
            spec.get("schedulerName", "default-scheduler") == "default-scheduler")


async def alone(client: Client, node: str) -> bool:
    names = [n["metadata"]["name"] for n in (await client.list("nodes"))["items"]]
    return names == [node]


async def bind_unscheduled(client: Client, node: str) -> None:
    async for event in client.watch("pods", field_selector="spec.nodeName="):
        if event.type == "DELETED" or not bindable(event.object) or not await alone(client, node):
            continue
        try:
            await client.bind(event.namespace, event.name, node)
        except (Conflict, NotFound):
            pass  # bound or deleted meanwhile


async def run_component(ctx, ready: asyncio.Event, active: bool) -> None:
    """``portside up``'s fallback binder; idle (but ready) when a scheduler component does the binding."""
    from portside.agent.node import local_name
    ready.set()
    if not active:
        await asyncio.Event().wait()
    async with ctx.client() as client:
        await bind_unscheduled(client, local_name())
