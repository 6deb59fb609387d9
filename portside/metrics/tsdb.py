"""A node's time series of resource usage: raw samples for a day, 5-minute aggregates for 35 days, in one file.

Theory of operation. The sampler appends one batch per period (every series' value at one instant) in one
transaction; the database runs in WAL mode with ``synchronous=FULL``, so a committed batch survives a crash or a
power cut and a crash loses at most the batch being written. ``compact`` (run by the sampler every few periods)
folds every closed 5-minute bucket of raw samples into the rollup table (min, max, sum, count: mergeable, so a
mean over any span of buckets is exact), deletes raw rows older than the raw retention and rollups older than
theirs, and drops series that no longer have a row. SQLite reuses freed pages, so the file settles at the size
of one retention window and nothing grows without bound.

Why SQLite rather than segment files of our own: the store already depends on it; WAL gives crash-safe appends
and concurrent readers (the capacity planner reads while the agent writes) for free; a range query over one
series is an index seek on ``(series, t)`` in a ``WITHOUT ROWID`` table, which is also the compact layout (the
key is the row). A batch of 200 series costs about a millisecond and one fsync.

This module imports nothing of portside: the agent writes it and ``capacity/`` reads it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Aggregate", "Point", "Series", "TSDB", "RAW_RETENTION_S", "ROLLUP_RETENTION_S", "ROLLUP_STEP_S"]

RAW_RETENTION_S = 86_400
ROLLUP_RETENTION_S = 35 * 86_400
ROLLUP_STEP_S = 300

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, metric TEXT NOT NULL, labels TEXT NOT NULL,
                                   UNIQUE (metric, labels));
CREATE TABLE IF NOT EXISTS raw (series INTEGER NOT NULL, t INTEGER NOT NULL, value REAL NOT NULL,
                                PRIMARY KEY (series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup (series INTEGER NOT NULL, t INTEGER NOT NULL, min REAL NOT NULL,
                                   max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
                                   PRIMARY KEY (series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, order=True)
class Series:
    """A metric name and its labels, e.g. ``container_cpu_usage_cores{namespace, pod, container}``."""

    metric: str
    labels: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, metric: str, labels: Mapping[str, str] | None = None) -> Series:
        return cls(metric, tuple(sorted((labels or {}).items())))

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def _key(self) -> tuple[str, str]:
        return self.metric, json.dumps(dict(self.labels), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Point:
    t: int
    value: float


@dataclass(frozen=True)
class Aggregate:
    """One rollup bucket starting at ``t``: the raw samples' min, max, sum and count."""

    t: int
    min: float
    max: float
    sum: float
    count: int

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def merge(self, other: Aggregate) -> Aggregate:
        """One bucket holding both buckets' samples (the same ``t``)."""
        return Aggregate(self.t, min(self.min, other.min), max(self.max, other.max), self.sum + other.sum,
                         self.count + other.count)


class TSDB:
    """One database file; safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: str | Path, raw_retention: int = RAW_RETENTION_S,
                 rollup_retention: int = ROLLUP_RETENTION_S, step: int = ROLLUP_STEP_S) -> None:
        if step <= 0 or raw_retention < step or rollup_retention < raw_retention:
            raise ValueError(f"tsdb: retention must satisfy 0 < step ({step}) <= raw ({raw_retention}) <= rollup "
                             f"({rollup_retention}) seconds")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.raw_retention, self.rollup_retention, self.step = raw_retention, rollup_retention, step
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._ids: dict[tuple[str, str], int] = {
            (m, lab): i for i, m, lab in self._db.execute("SELECT id, metric, labels FROM series")}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> TSDB:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------------------

    def append(self, t: float, samples: Iterable[tuple[Series, float]]) -> int:
        """One period's batch at instant ``t`` (seconds), in one durable transaction; returns rows written.
        A second batch in the same second replaces the first's values."""
        second = int(t)
        with self._lock, self._transaction():
            rows = [(self._id(s), second, float(v)) for s, v in samples]
            self._db.executemany("INSERT OR REPLACE INTO raw (series, t, value) VALUES (?, ?, ?)", rows)
        return len(rows)

    def compact(self, now: float | None = None) -> None:
        """Roll closed buckets up, apply both retentions, forget series with no rows left."""
        now = int(time.time() if now is None else now)
        closed = now - now % self.step
        with self._lock, self._transaction():
            done = self._meta("rolled_until", 0)
            self._db.execute(
                "INSERT OR REPLACE INTO rollup (series, t, min, max, sum, count) "
                "SELECT series, t - t % ?1, min(value), max(value), sum(value), count(*) FROM raw "
                "WHERE t >= ?2 AND t < ?3 GROUP BY series, t - t % ?1", (self.step, done, closed))
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rolled_until', ?)", (closed,))
            self._db.execute("DELETE FROM raw WHERE t < ?", (now - self.raw_retention,))
            self._db.execute("DELETE FROM rollup WHERE t < ?", (now - self.rollup_retention,))
            self._db.execute("DELETE FROM series WHERE id NOT IN (SELECT DISTINCT series FROM raw) "
                             "AND id NOT IN (SELECT DISTINCT series FROM rollup)")
            self._ids = {(m, lab): i for i, m, lab in self._db.execute("SELECT id, metric, labels FROM series")}
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _id(self, series: Series) -> int:
        key = series._key()
        found = self._ids.get(key)
        if found is None:
            found = self._db.execute("INSERT INTO series (metric, labels) VALUES (?, ?)", key).lastrowid
            self._ids[key] = found
        return found

    def _meta(self, key: str, default: int) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def _transaction(self):
        return _Transaction(self._db, self)

    # -- reading -------------------------------------------------------------------------------------------

    def series(self, metric: str | None = None, **match: str) -> list[Series]:
        """Known series, optionally of one metric and with the given label values."""
        with self._lock:
            rows = self._db.execute("SELECT metric, labels FROM series" + (" WHERE metric = ?" if metric else ""),
                                    (metric,) if metric else ()).fetchall()
        found = [Series.of(m, json.loads(lab)) for m, lab in rows]
        return sorted(s for s in found if all(s.label_map.get(k) == v for k, v in match.items()))

    def points(self, series: Series, start: float = 0, end: float = float("inf")) -> list[Point]:
        """Raw samples in ``[start, end)``, oldest first."""
        rows = self._select("SELECT t, value FROM raw WHERE series = ? AND t >= ? AND t < ? ORDER BY t",
                            series, start, end)
        return [Point(t, v) for t, v in rows]

    def aggregates(self, series: Series, start: float = 0, end: float = float("inf")) -> list[Aggregate]:
        """Rollup buckets starting in ``[start, end)``, oldest first."""
        rows = self._select("SELECT t, min, max, sum, count FROM rollup WHERE series = ? AND t >= ? AND t < ? "
                            "ORDER BY t", series, start, end)
        return [Aggregate(*row) for row in rows]

    def buckets(self, series: Series, start: float, end: float, step: int) -> list[Aggregate]:
        """Buckets of ``step`` seconds (starting at multiples of ``step``) in ``[start, end)``, oldest first: from
        the raw samples where the raw table still holds all of them, from the rollups before that, never both
        for one instant. A rollup bucket is never split: with ``step`` finer than the rollup step, the older
        part of the answer comes one rollup bucket per ``step`` bucket.

        The boundary is the first rollup-step multiple at or after the series' oldest raw sample (the raw table
        is complete from there: retention only deletes what is older), but no later than what compaction has
        rolled up (the rollups are complete below that)."""
        if step <= 0:
            raise ValueError(f"tsdb: step must be positive seconds, got {step}")
        end = int(min(end, 2**62))
        with self._lock:
            sid = self._ids.get(series._key())
            if sid is None:
                return []
            oldest = self._db.execute("SELECT min(t) FROM raw WHERE series = ?", (sid,)).fetchone()[0]
            rolled = self._meta("rolled_until", 0)
            boundary = rolled if oldest is None else min(-(-oldest // self.step) * self.step, rolled)
            rows = self._db.execute(
                "SELECT t - t % ?1, min(lo), max(hi), sum(total), sum(n) FROM ("
                "  SELECT t, min AS lo, max AS hi, sum AS total, count AS n FROM rollup"
                "  WHERE series = ?2 AND t >= ?3 AND t < min(?4, ?5)"
                "  UNION ALL SELECT t, value, value, value, 1 FROM raw"
                "  WHERE series = ?2 AND t >= max(?3, ?4) AND t < ?5"
                ") GROUP BY t - t % ?1 ORDER BY 1", (int(step), sid, int(start), boundary, end)).fetchall()
        return [Aggregate(*row) for row in rows]

    def _select(self, sql: str, series: Series, start: float, end: float) -> list[tuple]:
        with self._lock:
            sid = self._ids.get(series._key())
            if sid is None:
                return []
            return self._db.execute(sql, (sid, int(start), int(min(end, 2**62)))).fetchall()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an error (which also drops series ids minted inside it)."""

    def __init__(self, db: sqlite3.Connection, owner: TSDB) -> None:
        self.db, self.owner = db, owner

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.known = dict(self.owner._ids)

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
            self.owner._ids = self.known
