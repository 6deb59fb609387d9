"""The etcd store across the loss of its leader: no acknowledged write is lost, none is applied twice, and the
store's watch carries on from another member."""

import asyncio

from portside import store
from portside.store import EventType

CREATES = 1000
KILL_AFTER = 300


def test_killing_the_leader_during_1000_creates_loses_none_acknowledged(etcd_cluster, etcd_url):
    """The store talks to the leader when it dies, so writes are in flight on the member that goes away."""
    leader = etcd_cluster.leader()
    url = etcd_cluster.store_url_from(leader)

    async def body():
        s = await store.open_store(url)
        try:
            stream = await s.watch("/chaos/", await s.current_revision())
            acked, errors, halfway = {}, [], asyncio.Event()

            async def one(i):
                try:
                    acked[i] = await s.create(f"/chaos/{i}", lambda rev: f"{i}@{rev}".encode())
                except Exception as exc:  # an error is allowed only for a write that may not have happened
                    errors.append(exc)
                if len(acked) == KILL_AFTER:
                    halfway.set()

            async def kill_leader():
                await halfway.wait()
                await asyncio.to_thread(etcd_cluster.kill, leader)
                return len(acked)

            at_kill, *_ = await asyncio.gather(kill_leader(), *(one(i) for i in range(CREATES)))
            seen = []
            async with asyncio.timeout(60):
                async for ev in stream:
                    seen.append(ev)
                    if len(seen) == len(acked):
                        break
            stream.close()
            return acked, errors, {kv.key: kv for kv in (await s.list("/chaos/")).items}, seen, at_kill
        finally:
            await s.close()

    try:
        acked, errors, stored, seen, at_kill = asyncio.run(body())
    finally:
        etcd_cluster.start(leader)
    assert at_kill < CREATES  # the leader died while creates were still coming
    lost = [i for i, kv in acked.items() if stored.get(f"/chaos/{i}") != kv]
    assert lost == [] and len(acked) >= KILL_AFTER
    # Every write came through (a retried create never trips on its own first attempt) with its own revision,
    # and the value it computed for that revision.
    assert errors == [] and len(acked) == CREATES
    assert all(kv.value == f"{i}@{kv.mod_revision}".encode() for i, kv in acked.items())
    revisions = [ev.revision for ev in seen]
    assert all(ev.type is EventType.PUT for ev in seen) and revisions == sorted(set(revisions))
    assert {ev.kv.key for ev in seen} == set(stored)
