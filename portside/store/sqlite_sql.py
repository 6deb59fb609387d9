"""The SQL of the SQLite backend, as plain functions over a connection (the threads live in ``sqlite.py``).

Reads that return more than one statement's worth run inside one read transaction, so the revision they report
and the rows they return come from the same snapshot.
"""

from __future__ import annotations

import sqlite3

from portside.store.types import Compacted, Event, EventType, KeyValue, ListResult

PUT, DELETE = 0, 1

# The current objects in an ordinary (rowid) table with an index on the key. Not WITHOUT ROWID: there, a row lives
# in an index b-tree, whose cells keep at most about a quarter of a 4 KiB page, and a Pod as the API server
# stores it (token volume, default tolerations: ~1.4 KB) spills into an overflow page on every write and read.
# Measured with 30,000 such pods and a writer beside: a get took 76 us there, 34 us here.
KV_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    key TEXT PRIMARY KEY, create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL, value BLOB NOT NULL
)"""
SCHEMA = KV_TABLE.format(name="kv") + """;
CREATE TABLE IF NOT EXISTS log (
    rev INTEGER PRIMARY KEY, key TEXT NOT NULL, type INTEGER NOT NULL, create_rev INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('rev', 0), ('compact', 0);
"""


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    _migrate_kv(conn)


def _migrate_kv(conn: sqlite3.Connection) -> None:
    """A store made before the table's layout changed: its rows are copied into the new one, in one transaction
    (a crash leaves the old table as it was)."""
    made = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'kv'").fetchone()[0]
    if "WITHOUT ROWID" not in made.upper():
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(KV_TABLE.format(name="kv_rowid"))
        conn.execute("INSERT INTO kv_rowid SELECT key, create_rev, mod_rev, value FROM kv")
        conn.execute("DROP TABLE kv")
        conn.execute("ALTER TABLE kv_rowid RENAME TO kv")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def read_meta(conn: sqlite3.Connection, name: str) -> int:
    return conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()[0]


def write_meta(conn: sqlite3.Connection, name: str, value: int) -> None:
    conn.execute("UPDATE meta SET value = ? WHERE name = ?", (value, name))


def current(conn: sqlite3.Connection, key: str) -> tuple[int, int, bytes] | None:
    return conn.execute("SELECT create_rev, mod_rev, value FROM kv WHERE key = ?", (key,)).fetchone()


def put(conn: sqlite3.Connection, kv: KeyValue) -> None:
    conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?, ?)", (kv.key, kv.create_revision, kv.mod_revision,
                                                                  kv.value))
    conn.execute("INSERT INTO log VALUES (?, ?, ?, ?, ?)", (kv.mod_revision, kv.key, PUT, kv.create_revision,
                                                            kv.value))


def delete(conn: sqlite3.Connection, kv: KeyValue) -> None:
    conn.execute("DELETE FROM kv WHERE key = ?", (kv.key,))
    conn.execute("INSERT INTO log VALUES (?, ?, ?, ?, ?)", (kv.mod_revision, kv.key, DELETE, kv.create_revision,
                                                            kv.value))


def get(conn: sqlite3.Connection, key: str) -> KeyValue | None:
    row = conn.execute("SELECT key, value, create_rev, mod_rev FROM kv WHERE key = ?", (key,)).fetchone()
    return KeyValue(*row) if row else None


def count(conn: sqlite3.Connection, lo: str, hi: str) -> int:
    return conn.execute("SELECT count(*) FROM kv WHERE key >= ? AND key < ?", (lo, hi)).fetchone()[0]


CURRENT = "SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?"
AT_REVISION = """
SELECT l.key, l.value, l.create_rev, l.rev FROM log l JOIN (
    SELECT key, max(rev) AS r FROM log WHERE key >= ? AND key < ? AND rev <= ? GROUP BY key
) m ON l.rev = m.r WHERE l.type = 0 ORDER BY l.key LIMIT ?
"""


def list_range(conn: sqlite3.Connection, lo: str, hi: str, revision: int, start: str, limit: int) -> ListResult:
    """Keys in [lo, hi) from ``start`` on; at ``revision`` (0: now). One extra row tells whether more remain."""
    lo = max(lo, start)
    cap = limit + 1 if limit > 0 else -1
    conn.execute("BEGIN")
    try:
        now = read_meta(conn, "rev")
        if revision and revision < now:
            _check_compacted(conn, revision)
            rows = conn.execute(AT_REVISION, (lo, hi, revision, cap)).fetchall()
        else:
            rows, revision = conn.execute(CURRENT, (lo, hi, cap)).fetchall(), now
    finally:
        conn.execute("COMMIT")
    items = [KeyValue(*r) for r in rows]
    if limit > 0 and len(items) > limit:
        return ListResult(items[:limit], revision, True, items[limit].key)
    return ListResult(items, revision)


def _check_compacted(conn: sqlite3.Connection, revision: int) -> None:
    compacted = read_meta(conn, "compact")
    if revision < compacted:
        raise Compacted(revision, compacted)


# Each change with the value its key had just before (None for a creation or when that entry is compacted).
HISTORY = """
SELECT key, value, create_rev, rev, type, CASE WHEN create_rev = rev AND type = 0 THEN NULL ELSE (
    SELECT p.value FROM log p WHERE p.key = log.key AND p.rev < log.rev ORDER BY p.rev DESC LIMIT 1) END
FROM log WHERE rev > ? AND key >= ? AND key < ? ORDER BY rev
"""


def history(conn: sqlite3.Connection, lo: str, hi: str, revision: int) -> list[Event]:
    """Changes under [lo, hi) with revision > ``revision``, oldest first; Compacted if that start is gone."""
    conn.execute("BEGIN")
    try:
        _check_compacted(conn, revision)
        rows = conn.execute(HISTORY, (revision, lo, hi)).fetchall()
    finally:
        conn.execute("COMMIT")
    return [Event(EventType.DELETE if r[4] == DELETE else EventType.PUT, KeyValue(*r[:4]), r[5]) for r in rows]


def compact(conn: sqlite3.Connection, revision: int) -> list:
    """Runs inside the writer's transaction. Keeps the newest entry of each live key so list-at-revision works."""
    if revision <= read_meta(conn, "compact"):
        return []
    conn.execute("""DELETE FROM log WHERE rev <= :r AND (type = 1 OR rev < (
                        SELECT max(l2.rev) FROM log l2 WHERE l2.key = log.key AND l2.rev <= :r))""", {"r": revision})
    write_meta(conn, "compact", revision)
    return []
