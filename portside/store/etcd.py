"""etcd backend: the store's revision is etcd's revision; every write is one etcd transaction per store revision.

Theory of operation. The store promises two things etcd does not give directly: a value may be a function of
the revision it is written at, and a commit of several writes gives each its own revision, all or nothing. Both
rest on one *guard* key (``GUARD``) that every write transaction of this backend also puts:

- While every write goes through the guard, the guard's mod revision *is* the cluster's revision. A transaction
  that compares the guard's mod revision to R and succeeds therefore lands at exactly R + 1, so values are
  computed for R + 1 before sending. If the compare fails, someone else wrote first: read again, recompute.
- Before writing, a commit reads the guard and the keys it touches in one snapshot, checks every write against
  it in order (KeyExists, KeyNotFound, Conflict, an encoder's error: all raised before anything is written), and
  computes every value. One write is then one transaction. Several writes become a *plan* of steps, one per
  revision; the first step stores the whole plan in the guard's value, so any store that finds a plan there
  (this one after an error, another process, one opened after a crash) completes it step by step before
  writing anything itself. Each step compares the guard's revision, so no step runs twice. Readers may see a
  plan half done for the few milliseconds it takes; they never see a plan abandoned.
- A delete's tombstone (the value the store reports in the DELETE event) rides in the guard's value of the
  same transaction: etcd delivers all changes of one revision together, so the watch reads it from there.

Failures. An answered transaction is committed on a majority of members, so an acknowledged write survives the
loss of any one member. A write whose answer was lost (the member died, or lost its leader) may or may not have
happened; the store then reads the cluster again on another member: if the guard still has the revision the
write compared, the write has not happened and is sent again (the same transaction: if the first copy still
commits, the second fails its compare); if the guard moved, the guard's value at the next revision carries the
write's random id exactly when it was ours. So a write is acknowledged once and never applied twice; only when
no member answers for ``WRITE_FOR_S`` does it fail with ``Unavailable`` and an outcome the caller cannot know.
Several stores (API servers) may share a cluster; writes that bypass this backend break the guard's promise.

Cost. Writes are serialised cluster-wide through the guard: one snapshot read and one transaction each, one at
a time (a few hundred writes a second on three loopback members). A plan rides in the guard's value, so a
multi-write commit must fit in half of etcd's request size limit (1.5 MiB by default).

Watches. The store follows one etcd watch over the whole key space and fans its changes out through ``Hub``
(the SQLite backend's too), one batch per revision. A write returns once its change has been published, so a
watch opened after a write sees it, as with SQLite. History for a new watch comes from a second etcd watch
started at the asked revision (etcd's compacted answer becomes ``Compacted``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from portside.store.etcd_gateway import (
    EtcdError,
    Gateway,
    Unavailable,
    b64,
    backoff,
    key_value,
    parse_endpoints,
    range_end,
    unb64,
)
from portside.store.etcd_plan import GUARD, Plan, Snapshot, by_revision, guard_doc, make_plan, step_txn
from portside.store.hub import Hub
from portside.store.types import (
    Closed,
    Compacted,
    Create,
    Delete,
    Event,
    KeyValue,
    ListResult,
    StoreError,
    Update,
    WatchStream,
    Write,
)

log = logging.getLogger(__name__)

WRITE_FOR_S = 60.0  # how long a write keeps trying through elections before it gives up (outcome reported)
PUBLISH_WAIT_S = 10.0
ALL = b64(b"\0")


class EtcdStore:
    """Open with ``await EtcdStore.open("H1:2379,H2:2379,H3:2379")``; all methods must run on one event loop."""

    def __init__(self, gateway: Gateway, revision: int) -> None:
        self._gw = gateway
        self._hub = Hub()
        self._hub.published = revision
        self._published = asyncio.Condition()
        self._write_lock = asyncio.Lock()
        self._closed = False
        self._follower = asyncio.get_running_loop().create_task(self._follow(), name="portside-etcd-watch")

    @classmethod
    async def open(cls, location: str) -> EtcdStore:
        gateway = Gateway(parse_endpoints(location))
        try:
            header = (await gateway.call("/v3/kv/range", {"key": b64(GUARD)}))["header"]
        except BaseException:
            await gateway.close()
            raise
        return cls(gateway, int(header["revision"]))

    def _check_open(self) -> None:
        if self._closed:
            raise Closed()

    # -- reads -----------------------------------------------------------------------------------------------

    async def _range(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_open()
        return await self._gw.call("/v3/kv/range", body)

    async def get(self, key: str) -> KeyValue | None:
        if key == GUARD:
            return None
        kvs = (await self._range({"key": b64(key)})).get("kvs")
        return key_value(kvs[0]) if kvs else None

    async def list(self, prefix: str, *, revision: int = 0, start: str = "", limit: int = 0) -> ListResult:
        hides_guard = GUARD.startswith(prefix) and GUARD >= start
        body = {"key": b64(max(prefix, start) or "\0"), "range_end": range_end(prefix),
                "limit": str(limit + 1 + hides_guard if limit > 0 else 0)}
        try:
            answer = await self._range({**body, "revision": str(revision)})
        except EtcdError as exc:
            if exc.future_revision:  # as with SQLite, a revision not reached yet reads as now
                revision, answer = 0, await self._range(body)
            elif exc.compacted:
                raise Compacted(revision, await self.compacted_revision()) from None
            else:
                raise
        items = [kv for kv in map(key_value, answer.get("kvs", [])) if kv.key != GUARD]
        at = revision or int(answer["header"]["revision"])
        if limit > 0 and len(items) > limit:
            return ListResult(items[:limit], at, True, items[limit].key)
        return ListResult(items, at)

    async def count(self, prefix: str) -> int:
        body = {"key": b64(prefix or "\0"), "range_end": range_end(prefix), "count_only": True}
        n = int((await self._range(body)).get("count", 0))
        if n and GUARD.startswith(prefix) and (await self._range({"key": b64(GUARD), "count_only": True})).get(
                "count"):
            n -= 1
        return n

    async def current_revision(self) -> int:
        return int((await self._range({"key": b64(GUARD), "count_only": True}))["header"]["revision"])

    async def _snapshot(self, keys: list[str]) -> Snapshot:
        """The guard and ``keys`` as of one revision (a read-only transaction is one linearizable read)."""
        self._check_open()
        ranges = [{"request_range": {"key": b64(k)}} for k in [GUARD, *keys]]
        answer = await self._gw.call("/v3/kv/txn", {"success": ranges})
        found = [(r["response_range"].get("kvs") or [None])[0] for r in answer["responses"]]
        kvs = [key_value(kv) if kv else None for kv in found]
        return Snapshot(int(answer["header"]["revision"]), kvs[0], dict(zip(keys, kvs[1:], strict=True)))

    # -- writes ----------------------------------------------------------------------------------------------

    async def commit(self, writes: list[Write]) -> list[KeyValue]:
        self._check_open()
        if not writes:
            return []
        async with self._write_lock:  # one writer per store: the guard would make concurrent ones retry anyway
            results = await self._write(writes)
        await self._wait_published(results[-1].mod_revision)
        return results

    async def create(self, key: str, value) -> KeyValue:
        return (await self.commit([Create(key, value)]))[0]

    async def update(self, key: str, value, expect: int = 0) -> KeyValue:
        return (await self.commit([Update(key, value, expect)]))[0]

    async def delete(self, key: str, expect: int = 0, tombstone=None) -> KeyValue:
        return (await self.commit([Delete(key, expect, tombstone)]))[0]

    async def _write(self, writes: list[Write]) -> list[KeyValue]:
        """Snapshot, plan, send; after any failure, read again and find out what happened (module docstring)."""
        keys = list(dict.fromkeys(w.key for w in writes))
        loop = asyncio.get_running_loop()
        deadline, attempt = loop.time() + WRITE_FOR_S, 0
        sent: list[Plan] = []  # plans sent against the same guard revision whose outcome is not known yet
        while True:
            try:
                snap = await self._snapshot(keys)
                if "plan" in snap.guard_doc:
                    await self._finish(Plan.from_guard(snap.guard_doc), snap.guard.mod_revision)
                    continue
                if sent and (snap.guard.mod_revision if snap.guard else 0) != sent[-1].guard:
                    for plan in sent:
                        if await self._was_ours(plan):
                            return plan.results
                    sent = []
                if not sent or snap.revision != sent[-1].base:
                    sent.append(make_plan(writes, snap))
                plan = sent[-1]
                answer = await self._gw.send("/v3/kv/txn", step_txn(plan, 0, plan.guard))
                if answer.get("succeeded"):
                    await self._finish(plan, plan.base + 1)
                    return plan.results
            except Unavailable:
                if loop.time() > deadline:
                    raise
                await backoff(attempt)
                attempt += 1

    async def _finish(self, plan: Plan, guard_mod: int) -> None:
        """Run the steps of ``plan`` after the one that left the guard at ``guard_mod``; stop if another store
        runs them (a failed compare)."""
        for i in range(guard_mod - plan.base, len(plan.steps)):
            answer = await self._gw.send("/v3/kv/txn", step_txn(plan, i, plan.base + i))
            if not answer.get("succeeded"):
                return

    async def _was_ours(self, plan: Plan) -> bool:
        """The guard moved past the revision ``plan`` compared: did its first step move it?"""
        try:
            answer = await self._gw.call("/v3/kv/range", {"key": b64(GUARD), "revision": str(plan.base + 1)})
        except EtcdError as exc:
            raise StoreError(plan.steps[0].key, f"write outcome unknown: {exc}") from None
        kvs = answer.get("kvs") or []
        return bool(kvs) and guard_doc(unb64(kvs[0].get("value"))).get("id") == plan.id

    # -- watches ---------------------------------------------------------------------------------------------

    async def _wait_published(self, revision: int) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PUBLISH_WAIT_S), self._published:
                await self._published.wait_for(lambda: self._hub.published >= revision)

    async def _follow(self) -> None:
        """Feed the hub from one watch over every key; on a lost member resume on the next from the last
        revision published."""
        attempt = 0
        while True:
            body = {"create_request": {"key": ALL, "range_end": ALL, "prev_kv": True,
                                       "start_revision": str(self._hub.published + 1)}}
            try:
                async with contextlib.aclosing(self._gw.stream(body)) as results:
                    async for result in results:
                        attempt = 0
                        if int(result.get("compact_revision", 0)):
                            # Fell behind a compaction: end every subscriber (each resumes and learns of it).
                            self._hub.close_all()
                            self._hub.published = await self.current_revision()
                            break
                        await self._publish(result.get("events", []))
            except Unavailable:
                await backoff(attempt)
                attempt += 1
            except Exception:  # an answer this code did not expect must not end every watch for good
                log.exception("etcd watch failed; resuming from revision %d", self._hub.published)
                await backoff(attempt)
                attempt += 1

    async def _publish(self, raw: list[dict[str, Any]]) -> None:
        for revision, events in by_revision(raw):
            if events:
                self._hub.publish(events)
            self._hub.published = revision
        async with self._published:
            self._published.notify_all()

    async def watch(self, prefix: str, revision: int, progress_every: float = 0) -> WatchStream:
        self._check_open()
        sub = self._hub.subscribe(prefix)
        try:
            history = await self._history(prefix, revision, self._hub.published)
        except BaseException:
            self._hub.unsubscribe(sub)
            raise
        return WatchStream(sub.batches(history, revision, progress_every), lambda: self._hub.unsubscribe(sub))

    async def _history(self, prefix: str, revision: int, upto: int) -> list[Event]:
        """Changes under ``prefix`` in (revision, upto]: every revision changes some key, so a watch over every
        key from ``revision + 1`` reaches ``upto``."""
        out: list[Event] = []
        seen = revision
        async with _as_unavailable(f"history from revision {revision}"), asyncio.timeout(WRITE_FOR_S):
            while seen < upto:
                body = {"create_request": {"key": ALL, "range_end": ALL, "prev_kv": True,
                                           "start_revision": str(seen + 1)}}
                try:
                    async with contextlib.aclosing(self._gw.stream(body)) as results:
                        async for result in results:
                            if int(result.get("compact_revision", 0)):
                                raise Compacted(revision, int(result["compact_revision"]))
                            for rev, events in by_revision(result.get("events", [])):
                                out += [e for e in events if e.kv.key.startswith(prefix)]
                                seen = rev
                            if seen >= upto:
                                break
                except Unavailable:
                    await backoff(0)
        return [e for e in out if e.revision <= upto]

    async def compact(self, revision: int) -> None:
        target = min(revision, await self.current_revision())
        try:
            await self._gw.call("/v3/kv/compaction", {"revision": str(target)})
        except EtcdError as exc:
            if not exc.compacted:  # compacted already at or past ``target``: nothing to do
                raise

    async def compacted_revision(self) -> int:
        """etcd does not say; the oldest revision a read can still ask for does (binary search, rarely used)."""
        lo, hi = 1, await self.current_revision()
        while lo < hi:
            mid = (lo + hi) // 2
            try:
                await self._range({"key": b64(GUARD), "count_only": True, "revision": str(mid)})
                hi = mid
            except EtcdError as exc:
                if not exc.compacted:
                    raise
                lo = mid + 1
        return lo if lo > 1 else 0

    def end_watches(self) -> None:
        self._hub.close_all()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._follower
        self._hub.close_all()
        await self._gw.close()


@contextlib.asynccontextmanager
async def _as_unavailable(what: str):
    try:
        yield
    except TimeoutError:
        raise Unavailable(f"{what}: no member answered in {WRITE_FOR_S:.0f} s") from None


__all__ = ["EtcdStore", "GUARD"]
