"""``store.Follower`` keeps a view of one prefix current: changes in order, a reload after a compaction, an end with
the store (on SQLite: the follower uses only the store's contract, which the contract suite runs on every backend)."""

from __future__ import annotations

import asyncio
import logging

from support.wait import eventually_async

from portside import store
from portside.store import Create, Delete, Follower

WAIT_S = 10


class View:
    """What a follower's owner keeps: the values under the prefix, their revisions, and how often it was reset."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.revisions: dict[str, int] = {}
        self.resets = 0

    def reset(self) -> None:
        self.values, self.revisions = {}, {}
        self.resets += 1

    def apply(self, key: str, value: bytes | None, revision: int) -> None:
        if value is None:
            self.values.pop(key, None)
            self.revisions.pop(key, None)
        else:
            self.values[key], self.revisions[key] = value, revision

    def follower(self, s: store.Store, retry_s: float) -> Follower:
        return Follower(s, "/f/", reset=self.reset, apply=self.apply, name="test-follower",
                        log=logging.getLogger("test"), what="test view", retry_s=retry_s)


async def settle(follower: Follower, predicate) -> None:
    async with asyncio.timeout(WAIT_S):
        await follower.wait_for(predicate)


def test_a_follower_loads_then_applies_puts_and_deletes_under_its_prefix_only(tmp_path):
    async def run():
        s = await store.open_store(f"sqlite://{tmp_path}/state.db")
        view = View()
        try:
            first = await s.create("/f/a", b"1")
            follower = view.follower(s, retry_s=0.5)
            await follower.start()
            assert view.values == {"/f/a": b"1"} and view.revisions == {"/f/a": first.mod_revision}
            updated = await s.update("/f/a", b"2")
            await s.create("/g/outside", b"x")
            await s.create("/f/b", b"3")
            await s.delete("/f/b")
            await settle(follower, lambda: "/f/b" not in view.values and view.values.get("/f/a") == b"2")
            assert view.values == {"/f/a": b"2"} and view.revisions == {"/f/a": updated.mod_revision}
            await follower.stop()
            assert not follower.running
            await s.create("/f/late", b"4")
            await asyncio.sleep(0.2)  # a stopped follower applies nothing more
            return view.values, view.resets
        finally:
            await s.close()

    assert asyncio.run(run()) == ({"/f/a": b"2"}, 1)


def test_a_follower_whose_history_was_compacted_reads_the_prefix_again(tmp_path):
    async def run():
        s = await store.open_store(f"sqlite://{tmp_path}/state.db")
        view = View()
        follower = view.follower(s, retry_s=2.0)  # the window in which the writes below fall between two watches
        try:
            await s.create("/f/a", b"1")
            await follower.start()
            await s.create("/f/b", b"2")
            await settle(follower, lambda: "/f/b" in view.values)  # its watch is open
            s.end_watches()  # the watch breaks; the follower will resume from the revision it saw
            await s.commit([Create("/f/c", b"3"), Delete("/f/a"), Delete("/f/b")])
            await s.compact(await s.current_revision())  # ...which is gone by then: it must list again
            await settle(follower, lambda: view.values == {"/f/c": b"3"})
            return view.resets
        finally:
            await follower.stop()
            await s.close()

    assert asyncio.run(run()) == 2


def test_a_follower_ends_with_its_store(tmp_path):
    async def run():
        s = await store.open_store(f"sqlite://{tmp_path}/state.db")
        follower = View().follower(s, retry_s=0.05)
        await follower.start()
        await s.close()
        await eventually_async(lambda: not follower.running, WAIT_S, what="the follower to end")
        await follower.stop()

    asyncio.run(run())
