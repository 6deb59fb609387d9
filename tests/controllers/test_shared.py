"""Shared informers: one list + watch however many controllers run them, stopped when the last one stops."""

import asyncio

from portside import api
from portside.controllers.shared import InformerFactory

CONFIGMAPS = api.lookup("", "v1", "configmaps")


async def _arrival(queue: asyncio.Queue, name: str) -> None:
    async with asyncio.timeout(10):
        while await queue.get() != name:
            pass


async def _two_users_then_stop(client, namespace):
    factory = InformerFactory(client)
    informer = factory.get(CONFIGMAPS)
    assert factory.get(CONFIGMAPS) is informer
    added: asyncio.Queue = asyncio.Queue()
    informer.on_change(lambda kind, obj, prev: kind == "ADDED" and added.put_nowait(obj.metadata.name))
    first, second = asyncio.create_task(informer.run()), asyncio.create_task(informer.run())
    await asyncio.wait_for(informer.synced.wait(), 10)
    await client.create("configmaps", {"metadata": {"name": "one"}, "data": {}}, namespace)
    await _arrival(added, "one")
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    await client.create("configmaps", {"metadata": {"name": "two"}, "data": {}}, namespace)
    await _arrival(added, "two")  # still followed for the remaining user
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    return informer._follow.done()


def test_one_follow_serves_every_user_until_the_last_stops(cluster, harness):
    ns = cluster.namespace("shared")
    assert harness.call(_two_users_then_stop(harness.client, ns)) is True
