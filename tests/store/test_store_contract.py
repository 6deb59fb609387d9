"""The store contract, run against every backend in ``portside.store.BACKENDS``."""

import asyncio

import pytest

from portside import store
from portside.store import Compacted, Conflict, Create, Delete, EventType, KeyExists, KeyNotFound, Update
from portside.store.hub import flatten

LOCATIONS = {"sqlite": lambda request, tmp: f"sqlite://{tmp}/state.db",
             "etcd": lambda request, tmp: request.getfixturevalue("etcd_url")}


@pytest.fixture(params=sorted(store.BACKENDS))
def url(request, tmp_path):
    return LOCATIONS[request.param](request, tmp_path)


def run(coro):
    return asyncio.run(coro)


async def with_store(url, body):
    s = await store.open_store(url)
    try:
        return await body(s)
    finally:
        await s.close()


def test_create_get_update_delete_take_increasing_revisions(url):
    async def body(s):
        a = await s.create("/r/a", b"1")
        b = await s.update("/r/a", b"2", expect=a.mod_revision)
        got = await s.get("/r/a")
        d = await s.delete("/r/a", expect=b.mod_revision)
        return a, b, got, d, await s.get("/r/a")

    a, b, got, d, gone = run(with_store(url, body))
    assert a.create_revision == a.mod_revision and b.mod_revision > a.mod_revision
    assert got.value == b"2" and got.create_revision == a.create_revision
    assert d.mod_revision > b.mod_revision and gone is None


def test_value_function_sees_its_own_revision(url):
    async def body(s):
        return await s.create("/r/x", lambda rev: str(rev).encode())

    kv = run(with_store(url, body))
    assert kv.value == str(kv.mod_revision).encode()


def test_errors_name_the_key(url):
    async def body(s):
        kv = await s.create("/r/a", b"1")
        with pytest.raises(KeyExists, match="/r/a"):
            await s.create("/r/a", b"x")
        with pytest.raises(Conflict, match="/r/a"):
            await s.update("/r/a", b"x", expect=kv.mod_revision + 100)
        with pytest.raises(KeyNotFound, match="/r/b"):
            await s.delete("/r/b")
        return await s.get("/r/a")

    assert run(with_store(url, body)).value == b"1"


def test_commit_is_all_or_nothing(url):
    async def body(s):
        await s.create("/r/taken", b"0")
        before = await s.current_revision()
        with pytest.raises(KeyExists):
            await s.commit([Create("/r/new", b"1"), Create("/r/taken", b"2")])
        return before, await s.current_revision(), await s.get("/r/new")

    before, after, new = run(with_store(url, body))
    assert before == after and new is None


def test_refused_lone_writes_in_one_round_leave_the_others_and_no_revision_gap(url):
    """Lone writes committed together: refusals and a failing encoder spoil neither the others nor the
    revision sequence (the writers' round shares one transaction)."""
    def broken(rev):
        raise ValueError("cannot encode")

    async def body(s):
        taken = await s.create("/r/g/taken", b"0")
        writes = [s.create("/r/g/taken", b"x"), s.update("/r/g/taken", b"x", expect=taken.mod_revision + 9),
                  s.create("/r/g/broken", broken), s.update("/r/g/taken", b"1", expect=taken.mod_revision),
                  *(s.create(f"/r/g/{i}", b"v") for i in range(20))]
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        watch = await s.watch("/r/g/", taken.mod_revision)
        events = []
        async for event in flatten(watch.batches):
            events.append(event)
            if len(events) == 21:
                break
        watch.close()
        return taken, outcomes, events, await s.get("/r/g/broken")

    taken, outcomes, events, broken_kv = run(with_store(url, body))
    assert [type(o) for o in outcomes[:3]] == [KeyExists, Conflict, ValueError] and broken_kv is None
    assert all(not isinstance(o, BaseException) for o in outcomes[3:])
    assert [e.revision for e in events] == list(range(taken.mod_revision + 1, taken.mod_revision + 22))


def test_list_prefix_paging_and_past_revision(url):
    async def body(s):
        for i in range(10):
            await s.create(f"/r/p/{i:02}", str(i).encode())
        await s.create("/r/q/0", b"other")
        mid = await s.current_revision()
        await s.delete("/r/p/03")
        await s.update("/r/p/04", b"changed")
        pages, start = [], ""
        while True:
            page = await s.list("/r/p/", start=start, limit=4, revision=mid)
            pages.append(page)
            if not page.more:
                break
            start = page.next_key
        return pages, await s.list("/r/p/"), mid

    pages, now, mid = run(with_store(url, body))
    assert [len(p.items) for p in pages] == [4, 4, 2]
    assert all(p.revision == mid for p in pages)
    past = {kv.key: kv.value for p in pages for kv in p.items}
    assert past["/r/p/03"] == b"3" and past["/r/p/04"] == b"4"
    assert "/r/p/03" not in {kv.key for kv in now.items} and len(now.items) == 9


def test_concurrent_creates_all_acknowledged_with_distinct_revisions(url):
    async def body(s):
        kvs = await asyncio.gather(*(s.create(f"/r/c/{i}", b"v") for i in range(500)))
        return kvs, await s.count("/r/c/")

    kvs, n = run(with_store(url, body))
    assert n == 500 and len({kv.mod_revision for kv in kvs}) == 500


def test_watch_replays_history_then_follows_live_without_gaps(url):
    async def body(s):
        first = await s.create("/r/w/a", b"1")
        await s.update("/r/w/a", b"2")
        await s.create("/r/other", b"x")
        stream = await s.watch("/r/w/", first.mod_revision - 1)
        await s.delete("/r/w/a", tombstone=b"gone")
        seen = []
        async for ev in stream:
            seen.append((ev.type, ev.kv.value, ev.created, ev.prev))
            if len(seen) == 3:
                stream.close()
        return seen

    seen = run(with_store(url, body))
    assert seen == [(EventType.PUT, b"1", True, None), (EventType.PUT, b"2", False, b"1"),
                    (EventType.DELETE, b"gone", False, b"2")]


def test_compaction_makes_old_revisions_gone_but_keeps_live_keys(url):
    async def body(s):
        a = await s.create("/r/k/a", b"1")
        await s.create("/r/k/b", b"0")
        for _ in range(4):
            await s.update("/r/k/b", b"x")
        rev = await s.current_revision()
        await s.compact(rev - 1)
        with pytest.raises(Compacted):
            await s.watch("/r/k/", a.mod_revision)
        with pytest.raises(Compacted):
            await s.list("/r/k/", revision=a.mod_revision)
        return await s.list("/r/k/", revision=rev - 1), await s.compacted_revision(), rev

    listed, compacted, rev = run(with_store(url, body))
    assert compacted == rev - 1 and {kv.key for kv in listed.items} == {"/r/k/a", "/r/k/b"}


def test_state_and_revision_survive_reopen(url):
    async def write(s):
        await s.commit([Create("/r/d/a", b"1"), Update("/r/d/a", b"2"), Create("/r/d/b", b"3"), Delete("/r/d/b")])
        return await s.current_revision()

    async def read(s):
        return await s.current_revision(), await s.get("/r/d/a"), (await s.create("/r/d/c", b"")).mod_revision

    rev = run(with_store(url, write))
    rev2, a, next_rev = run(with_store(url, read))
    assert rev2 == rev and a.value == b"2" and next_rev == rev + 1


def test_unknown_scheme_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown scheme 'zk'.*etcd.*sqlite"):
        run(store.open_store("zk://somewhere"))


def test_a_stalled_watcher_is_ended_not_buffered_forever(url, monkeypatch):
    from portside.store import hub
    monkeypatch.setattr(hub, "MAX_PENDING_BATCHES", 3)

    async def body(s):
        stream = await s.watch("/r/slow/", await s.current_revision())
        for i in range(6):  # one commit round each: more pending batches than the limit
            await s.create(f"/r/slow/{i}", b"x")
        return [ev.kv.key async for ev in stream]

    received = run(with_store(url, body))
    assert 1 <= len(received) <= 3 and received == [f"/r/slow/{i}" for i in range(len(received))]
