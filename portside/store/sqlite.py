"""SQLite backend: WAL journal, synchronous=FULL, one writer thread with group commit, readers on their own threads.

Two tables: ``kv`` holds the current value of every live key (what a plain list reads: one range scan, stored
bytes returned as they are), ``log`` holds every change by revision (what watch history and list-at-revision
read). The writer thread takes every queued write batch it can find, runs each batch inside its own SAVEPOINT so
one failing batch does not spoil the others, then commits once: many concurrent writers share one fsync, and
none is acknowledged before that fsync returned, so an acknowledged write survives kill -9.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

from portside.store import sqlite_sql as sql
from portside.store.hub import Hub
from portside.store.types import (
    Closed,
    Compacted,
    Conflict,
    Create,
    Delete,
    Event,
    EventType,
    KeyExists,
    KeyNotFound,
    KeyValue,
    ListResult,
    Update,
    WatchStream,
    Write,
)

MAX_BATCH = 512
MMAP_BYTES = 1 << 30  # address space only; pages are shared with the OS page cache


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    # Reads through a mapping rather than a read() per page: the API server's gets run on its event loop.
    # Writes still go through write() and fsync, so durability is unchanged.
    conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    return conn


def prefix_end(prefix: str) -> str:
    """The smallest key greater than every key starting with ``prefix``."""
    return prefix + "\U0010ffff" if prefix else "\U0010ffff"


class _Writer(threading.Thread):
    """Owns the write connection and the revision counter; applies queued batches with one commit per round."""

    def __init__(self, path: str, publish) -> None:
        super().__init__(name="portside-store-writer", daemon=True)
        self.conn = _connect(path)
        sql.create_schema(self.conn)
        self.revision = sql.read_meta(self.conn, "rev")
        self.inbox: queue.Queue = queue.Queue()
        self._publish = publish

    def run(self) -> None:
        while True:
            first = self.inbox.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.inbox.put(None)
                    break
                batch.append(item)
            self._round(batch)
        self.conn.close()

    def _round(self, batch: list) -> None:
        outcomes, events = [], []
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for writes, fut, loop in batch:
                outcomes.append((fut, loop, *self._apply(writes, events)))
            sql.write_meta(self.conn, "rev", self.revision)
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:  # nothing of this round is durable: fail every caller
            self.conn.execute("ROLLBACK")
            self.revision = sql.read_meta(self.conn, "rev")
            outcomes, events = [(fut, loop, None, exc) for _, fut, loop in batch], []
        if events:
            self._publish(events)
        for fut, loop, result, exc in outcomes:
            loop.call_soon_threadsafe(_settle, fut, result, exc)

    def _apply(self, writes: list[Write], events: list[Event]) -> tuple[list[KeyValue] | None, Exception | None]:
        if not callable(writes) and len(writes) == 1:
            return self._apply_one(writes[0], events)
        start_rev, start_events = self.revision, len(events)
        self.conn.execute("SAVEPOINT w")
        try:
            if callable(writes):  # maintenance (compaction) runs in the writer's transaction, not beside it
                results = writes(self.conn)
            else:
                results = [self._do_one(w, events) for w in writes]
        except Exception as exc:
            self.conn.execute("ROLLBACK TO w")
            self.conn.execute("RELEASE w")
            self.revision = start_rev
            del events[start_events:]
            return None, exc
        self.conn.execute("RELEASE w")
        return results, None

    def _apply_one(self, w: Write, events: list[Event]) -> tuple[list[KeyValue] | None, Exception | None]:
        """A lone write (a binding, most updates) needs no savepoint, which saves two statements per write:
        its refusals and its encoder's failures all come before its first changing statement. A statement
        that fails is an SQLite error, and that fails the whole round (``_round``), so nothing half-done is
        committed."""
        start_rev = self.revision
        try:
            return [self._do_one(w, events)], None
        except sqlite3.Error:
            raise
        except Exception as exc:
            self.revision = start_rev
            return None, exc

    def _do_one(self, w: Write, events: list[Event]) -> KeyValue:
        row = sql.current(self.conn, w.key)
        if isinstance(w, Create):
            if row is not None:
                raise KeyExists(w.key)
            return self._do_put(w.key, w.value, None, events, None)
        if row is None:
            raise KeyNotFound(w.key)
        if w.expect and row[1] != w.expect:
            raise Conflict(w.key, w.expect, row[1])
        if isinstance(w, Update):
            return self._do_put(w.key, w.value, row[0], events, row[2])
        return self._do_delete(w, row, events)

    def _do_put(self, key: str, value, create_rev: int | None, events: list[Event], prev: bytes | None) -> KeyValue:
        self.revision += 1
        rev = self.revision
        data = value(rev) if callable(value) else value
        kv = KeyValue(key, data, create_rev or rev, rev)
        sql.put(self.conn, kv)
        events.append(Event(EventType.PUT, kv, prev))
        return kv

    def _do_delete(self, w: Delete, row: tuple, events: list[Event]) -> KeyValue:
        self.revision += 1
        rev = self.revision
        tomb = w.tombstone
        data = (tomb(rev) if callable(tomb) else tomb) if tomb is not None else row[2]
        kv = KeyValue(w.key, data, row[0], rev)
        sql.delete(self.conn, kv)
        events.append(Event(EventType.DELETE, kv, row[2]))
        return kv


def _settle(fut: asyncio.Future, result, exc) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)


class SQLiteStore:
    """The default store. Open with ``await SQLiteStore.open(path)``; all methods must run on one event loop."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._hub = Hub()
        self._loop = asyncio.get_running_loop()
        self._writer = _Writer(path, self._publish_threadsafe)
        self._hub.published = self._writer.revision
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="portside-store-reader")
        self._local = threading.local()
        self._loop_conn: sqlite3.Connection | None = None
        self._closed = False
        self._writer.start()

    @classmethod
    async def open(cls, path: str) -> SQLiteStore:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return cls(path)

    def _publish_threadsafe(self, events: list[Event]) -> None:
        self._loop.call_soon_threadsafe(self._hub.publish, events)

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = _connect(self.path)
        return conn

    async def _read(self, fn, *args):
        if self._closed:
            raise Closed()
        return await self._loop.run_in_executor(self._readers, lambda: fn(self._reader(), *args))

    async def get(self, key: str) -> KeyValue | None:
        """A primary-key lookup takes microseconds: cheaper on the loop thread than a hop to a reader thread."""
        if self._closed:
            raise Closed()
        if self._loop_conn is None:
            self._loop_conn = _connect(self.path)
        return sql.get(self._loop_conn, key)

    async def list(self, prefix: str, *, revision: int = 0, start: str = "", limit: int = 0) -> ListResult:
        return await self._read(sql.list_range, prefix, prefix_end(prefix), revision, start, limit)

    async def count(self, prefix: str) -> int:
        return await self._read(sql.count, prefix, prefix_end(prefix))

    async def current_revision(self) -> int:
        return self._writer.revision

    async def commit(self, writes: list[Write]) -> list[KeyValue]:
        return await self._submit(writes)

    async def _submit(self, work):
        if self._closed:
            raise Closed()
        fut = self._loop.create_future()
        self._writer.inbox.put((work, fut, self._loop))
        return await fut

    async def create(self, key: str, value) -> KeyValue:
        return (await self.commit([Create(key, value)]))[0]

    async def update(self, key: str, value, expect: int = 0) -> KeyValue:
        return (await self.commit([Update(key, value, expect)]))[0]

    async def delete(self, key: str, expect: int = 0, tombstone=None) -> KeyValue:
        return (await self.commit([Delete(key, expect, tombstone)]))[0]

    async def watch(self, prefix: str, revision: int, progress_every: float = 0) -> WatchStream:
        if self._closed:
            raise Closed()
        sub = self._hub.subscribe(prefix)
        try:
            history = await self._read(sql.history, prefix, prefix_end(prefix), revision)
        except Exception:
            self._hub.unsubscribe(sub)
            raise
        return WatchStream(sub.batches(history, revision, progress_every), lambda: self._hub.unsubscribe(sub))

    async def compact(self, revision: int) -> None:
        """Drop history at or below ``revision`` except each key's latest entry (list-at-revision still works)."""
        target = min(revision, self._writer.revision)
        await self._submit(lambda conn: sql.compact(conn, target))

    async def compacted_revision(self) -> int:
        return await self._read(sql.read_meta, "compact")

    def end_watches(self) -> None:
        self._hub.close_all()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.inbox.put(None)
        await asyncio.to_thread(self._writer.join)
        self._readers.shutdown(wait=True)
        if self._loop_conn is not None:
            self._loop_conn.close()
        self._hub.close_all()


__all__ = ["SQLiteStore", "Compacted", "Conflict", "KeyExists", "KeyNotFound"]
