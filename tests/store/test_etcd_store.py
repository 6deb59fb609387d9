"""What the etcd backend adds to the store contract: a write whose answer is lost is found out rather than
repeated, a commit left half done by a dead store is completed by the next one, and several stores (API servers)
share one cluster with one revision sequence."""

import asyncio
import signal

import pytest

from portside import store
from portside.store import Create, Delete, EventType, Update
from portside.store.etcd_gateway import Unavailable


async def opened(url, body):
    s = await store.open_store(url)
    try:
        return await body(s)
    finally:
        await s.close()


def lose_answers(s, how_many: int, *, before_sending: bool = False) -> list[dict]:
    """Make the next ``how_many`` write transactions fail as a dying member would: after etcd applied them (the
    answer is lost) or before they reached it."""
    real, lost = s._gw.send, []

    async def send(path, body):
        if len(lost) >= how_many:
            return await real(path, body)
        lost.append(body)
        if before_sending:
            raise Unavailable("connection refused")
        await real(path, body)
        raise Unavailable("connection reset after the request was sent")

    s._gw.send = send
    return lost


@pytest.mark.parametrize("before_sending", [False, True])
def test_a_write_whose_answer_is_lost_is_applied_once(etcd_url, before_sending):
    async def body(s):
        before = await s.current_revision()
        lost = lose_answers(s, 1, before_sending=before_sending)
        kv = await s.create("/lost/a", lambda rev: str(rev).encode())
        return before, lost, kv, await s.current_revision(), await s.get("/lost/a")

    before, lost, kv, after, got = asyncio.run(opened(etcd_url, body))
    assert len(lost) == 1 and kv == got
    assert kv.mod_revision == after == before + 1 and kv.value == str(kv.mod_revision).encode()


def test_a_commit_left_half_done_is_completed_by_the_next_writer(etcd_url):
    writes = [Create("/half/a", b"1"), Update("/half/a", b"2"), Create("/half/b", b"3"),
              Delete("/half/b", tombstone=lambda rev: f"gone@{rev}".encode())]

    async def body():
        a, b = await store.open_store(etcd_url), await store.open_store(etcd_url)
        try:
            base = await a.current_revision()
            real = a._gw.send

            async def die_after_first_step(path, request):
                a._gw.send = crash
                return await real(path, request)

            async def crash(path, request):
                raise RuntimeError("the process died here")

            a._gw.send = die_after_first_step
            with pytest.raises(RuntimeError):
                await a.commit(writes)
            half = await b.get("/half/a"), await b.get("/half/b")
            other = await b.create("/half/other", b"x")
            stream = await b.watch("/half/", base)
            events = []
            async for ev in stream:
                events.append((ev.type, ev.kv.key, ev.kv.value, ev.revision - base))
                if len(events) == 5:
                    stream.close()
            return half, other.mod_revision - base, events, await b.get("/half/a"), base
        finally:
            await a.close()
            await b.close()

    half, other_at, events, a_now, base = asyncio.run(body())
    assert half[0].value == b"1" and half[1] is None  # only the first step had run
    assert other_at == 5 and a_now.value == b"2"
    assert events == [(EventType.PUT, "/half/a", b"1", 1), (EventType.PUT, "/half/a", b"2", 2),
                      (EventType.PUT, "/half/b", b"3", 3), (EventType.DELETE, "/half/b", f"gone@{base + 4}".encode(), 4),
                      (EventType.PUT, "/half/other", b"x", 5)]


def test_two_stores_on_one_cluster_share_one_revision_sequence(etcd_url):
    async def body():
        stores = [await store.open_store(etcd_url) for _ in range(2)]
        try:
            kvs = await asyncio.gather(*(stores[i % 2].create(f"/two/{i}", lambda rev: str(rev).encode())
                                         for i in range(200)))
            return kvs, await stores[0].count("/two/")
        finally:
            for s in stores:
                await s.close()

    kvs, n = asyncio.run(body())
    assert n == 200 and len({kv.mod_revision for kv in kvs}) == 200
    assert all(kv.value == str(kv.mod_revision).encode() for kv in kvs)


@pytest.mark.parametrize("url", ["etcd://", "etcd://127.0.0.1", "etcd://127.0.0.1:2379,,x:1", "etcd://h:1/path"])
def test_bad_endpoints_are_named(url):
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        asyncio.run(store.open_store(url))


def test_the_guard_key_is_never_listed_counted_or_watched(etcd_url):
    async def body(s):
        start = await s.current_revision()
        stream = await s.watch("", start)
        await s.create("/g/a", b"1")
        await s.delete("/g/a", tombstone=b"t")
        first = [ev async for ev in _take(stream, 2)]
        return (await s.list("")).items, await s.count(""), first, await s.get(store.etcd.GUARD)

    items, n, events, guard = asyncio.run(opened(etcd_url, body))
    assert items == [] and n == 0 and guard is None
    assert [(e.type, e.kv.key, e.kv.value) for e in events] == [(EventType.PUT, "/g/a", b"1"),
                                                               (EventType.DELETE, "/g/a", b"t")]


async def _take(stream, n):
    async for ev in stream:
        yield ev
        n -= 1
        if n == 0:
            stream.close()
            return


def test_a_watch_on_a_member_cut_off_from_the_others_ends(etcd_cluster):
    """Rather than stay open and silent while the others go on without it, so the store moves to another."""
    from portside.store.etcd_gateway import Gateway

    async def watch_until_it_ends(frozen):
        gw = Gateway([etcd_cluster.client_urls[0]])
        try:
            async with asyncio.timeout(30):
                async for result in gw.stream({"create_request": {"key": "AA==", "range_end": "AA=="}}):
                    if result.get("created"):
                        for p in frozen:
                            p.send_signal(signal.SIGSTOP)
        except Unavailable as exc:
            return str(exc)
        finally:
            await gw.close()

    frozen = etcd_cluster.procs[1:]
    try:
        ended = asyncio.run(watch_until_it_ends(frozen))
    finally:
        for p in frozen:
            p.send_signal(signal.SIGCONT)
        etcd_cluster.wait_ready([0, 1, 2])
    assert "ended" in ended
