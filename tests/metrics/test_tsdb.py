"""The usage time-series store: durable batches, 5-minute rollups, both retentions, bounded size, and a batch
that survives a killed writer (the crash loses at most the period being written)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from portside.metrics import TSDB, Series
from portside.metrics.tsdb import Aggregate

CPU = Series.of("container_cpu_usage_cores", {"namespace": "default", "pod": "web", "container": "app"})
MEM = Series.of("container_memory_working_set_bytes", {"namespace": "default", "pod": "web", "container": "app"})
DAY = 86_400


def test_append_and_read_back_in_order(tmp_path):
    with TSDB(tmp_path / "m.db") as db:
        for i in range(5):
            db.append(1000 + 10 * i, [(CPU, 0.1 * i), (MEM, 1000 + i)])
        assert [p.value for p in db.points(CPU)] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
        assert [p.t for p in db.points(MEM, 1010, 1030)] == [1010, 1020]
        assert db.series("container_cpu_usage_cores", pod="web") == [CPU]
        assert db.series(pod="other") == []
        assert db.points(Series.of("nothing")) == []


def test_labels_are_order_independent(tmp_path):
    with TSDB(tmp_path / "m.db") as db:
        db.append(10, [(Series.of("m", {"a": "1", "b": "2"}), 1.0)])
        assert db.points(Series.of("m", {"b": "2", "a": "1"})) == db.points(Series("m", (("a", "1"), ("b", "2"))))
        assert len(db.series("m")) == 1


def test_compaction_rolls_closed_buckets_into_min_max_sum_count(tmp_path):
    with TSDB(tmp_path / "m.db") as db:
        for t in range(0, 600, 10):  # two 5-minute buckets of 30 samples: 0..29 then 30..59
            db.append(t, [(CPU, t / 10)])
        db.compact(now=610)
        buckets = db.aggregates(CPU)
        assert buckets == [Aggregate(0, 0.0, 29.0, sum(range(30)), 30), Aggregate(300, 30.0, 59.0,
                                                                                   sum(range(30, 60)), 30)]
        assert buckets[0].mean == pytest.approx(14.5)
        db.compact(now=620)  # nothing new closed: the buckets are not counted twice
        assert db.aggregates(CPU) == buckets


def test_open_bucket_waits_and_late_compaction_catches_up(tmp_path):
    with TSDB(tmp_path / "m.db") as db:
        db.append(310, [(CPU, 1.0)])
        db.compact(now=320)
        assert db.aggregates(CPU) == []  # the bucket [300, 600) is still filling
        db.append(590, [(CPU, 3.0)])
        db.compact(now=1000)
        assert db.aggregates(CPU) == [Aggregate(300, 1.0, 3.0, 4.0, 2)]


def test_retention_drops_old_raw_then_old_rollups_then_the_series(tmp_path):
    with TSDB(tmp_path / "m.db") as db:
        db.append(0, [(CPU, 1.0)])
        db.compact(now=400)
        db.compact(now=DAY + 400)
        assert db.points(CPU) == [] and len(db.aggregates(CPU)) == 1  # raw kept a day, the rollup stays
        db.compact(now=36 * DAY)
        assert db.aggregates(CPU) == []
        assert db.series() == []  # a pod gone for 35 days leaves nothing behind


def test_size_stays_bounded_under_churn(tmp_path):
    """Series come and go (pods replaced) for several retention windows: the file settles, it does not grow."""
    db = TSDB(tmp_path / "m.db", raw_retention=600, rollup_retention=1200, step=60)
    sizes = []
    for window in range(8):
        for t in range(window * 1200, (window + 1) * 1200, 10):
            pod = f"web-{t // 300}"  # a new pod every 5 minutes
            db.append(t, [(Series.of("pod_cpu_usage_cores", {"pod": pod, "namespace": "d"}), 0.5)] +
                      [(Series.of("container_cpu_usage_cores", {"pod": pod, "container": str(i)}), i)
                       for i in range(20)])
            if t % 60 == 0:
                db.compact(now=t)
        sizes.append(os.path.getsize(tmp_path / "m.db"))
    db.close()
    assert sizes[-1] <= sizes[3] * 1.1, sizes
    assert len(TSDB(tmp_path / "m.db").series()) < 21 * 8


def test_buckets_read_raw_where_it_is_whole_and_rollups_before(tmp_path):
    """A day and a half at one sample a minute: the first half day survives only as rollups, the last day as
    both; each instant is counted once, from raw where raw is complete."""
    with TSDB(tmp_path / "m.db") as db:
        end = DAY + DAY // 2
        for t in range(0, end, 60):
            db.append(t, [(CPU, 1.0 if t < DAY // 2 else 2.0)])
            if t % 300 == 0:
                db.compact(now=t)
        hours = db.buckets(CPU, 0, end, 3600)
        assert [b.t for b in hours] == list(range(0, end, 3600))
        assert all(b.count == 60 for b in hours)  # no minute lost at the boundary, none counted twice
        assert [b.mean for b in hours[:12]] == [1.0] * 12 and [b.mean for b in hours[12:]] == [2.0] * 24
        oldest_raw = db.points(CPU)[0].t
        assert oldest_raw > DAY // 2 - 3600  # the raw table no longer holds the start
        fine = db.buckets(CPU, end - 600, end, 60)  # raw: one sample per minute
        assert [(b.t, b.count) for b in fine] == [(t, 1) for t in range(end - 600, end, 60)]
        coarse = db.buckets(CPU, 0, 900, 60)  # before the raw: one rollup bucket per 5 minutes, never split
        assert [(b.t, b.count) for b in coarse] == [(0, 5), (300, 5), (600, 5)]
        assert db.buckets(Series.of("nothing"), 0, end, 60) == []


def test_bad_retention_is_named(tmp_path):
    with pytest.raises(ValueError, match="retention"):
        TSDB(tmp_path / "m.db", raw_retention=100, step=300)


WRITER = """
import os, sys
from portside.metrics import TSDB, Series
db = TSDB(sys.argv[1])
t = 0
while True:
    db.append(t, [(Series.of("c", {"i": str(i)}), float(t)) for i in range(50)])
    t += 1
    if t == 20:
        print("written", flush=True)
"""


def test_a_killed_writer_keeps_every_committed_batch(tmp_path):
    path = tmp_path / "m.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "written"
    finally:
        proc.kill()
        proc.wait()
    with TSDB(path) as db:
        counts = {len(db.points(s)) for s in db.series("c")}
        assert len(db.series("c")) == 50
        assert len(counts) == 1 and counts.pop() >= 20  # every series has every batch: none torn
