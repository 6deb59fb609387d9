"""The SQLite store's table layout: a store made with the old layout is carried over, whole, at its opening."""

from __future__ import annotations

import asyncio
import sqlite3

from portside.store.sqlite import SQLiteStore

OLD_KV = """CREATE TABLE kv (key TEXT PRIMARY KEY, create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL,
                             value BLOB NOT NULL) WITHOUT ROWID"""


def _kv_table_sql(path: str) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT sql FROM sqlite_master WHERE name = 'kv'").fetchone()[0]


def test_a_store_of_the_old_layout_keeps_every_object_and_revision(tmp_path) -> None:
    path = str(tmp_path / "state.db")
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_KV)
        conn.executemany("INSERT INTO kv VALUES (?, ?, ?, ?)",
                         [(f"/registry/pods/default/p{i}", i + 1, i + 1, b"x" * 1500) for i in range(50)])
        conn.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('rev', 50), ('compact', 0)")

    async def reopen() -> None:
        store = await SQLiteStore.open(path)
        try:
            assert await store.current_revision() == 50
            kv = await store.get("/registry/pods/default/p7")
            assert (kv.value, kv.create_revision, kv.mod_revision) == (b"x" * 1500, 8, 8)
            listed = await store.list("/registry/pods/")
            assert len(listed.items) == 50
        finally:
            await store.close()

    asyncio.run(reopen())
    assert "WITHOUT ROWID" not in _kv_table_sql(path).upper()
    asyncio.run(reopen())  # and a second opening finds nothing left to carry over


def test_a_new_store_gets_the_rowid_layout(tmp_path) -> None:
    path = str(tmp_path / "state.db")

    async def open_and_close() -> None:
        await (await SQLiteStore.open(path)).close()

    asyncio.run(open_and_close())
    assert "WITHOUT ROWID" not in _kv_table_sql(path).upper()
