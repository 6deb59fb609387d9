"""The engine's event log: appended by many processes, bounded by rotation, replayed between two times and followed
across a rotation; docker's filters and time formats."""

from __future__ import annotations

import json
import multiprocessing
import select

import pytest

from portside.engine import records
from portside.engine.events import EventLog, format_line, matches, parse_time, to_docker
from portside.engine.records import append_event
from portside.runtime.errors import InvalidArgument


def _append_many(root: str, tag: str, count: int) -> None:
    for i in range(count):
        append_event(root, "volume", "create", f"{tag}-{i}", {"driver": "local"})


def test_concurrent_writers_never_mix_their_lines(tmp_path) -> None:
    ctx = multiprocessing.get_context("fork")
    writers = [ctx.Process(target=_append_many, args=(str(tmp_path), f"w{n}", 300)) for n in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(30)
    lines = (tmp_path / "events" / "events.jsonl").read_text().splitlines()
    assert len(lines) == 1200
    ids = [json.loads(line)["Actor"]["ID"] for line in lines]
    for n in range(4):
        assert [i for i in ids if i.startswith(f"w{n}-")] == [f"w{n}-{i}" for i in range(300)]


def test_the_log_is_bounded_and_a_follower_crosses_the_rotation(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(records, "EVENTS_LIMIT", 2000)
    _append_many(tmp_path, "old", 5)
    with EventLog(tmp_path, since=0) as log:
        assert [e["Actor"]["ID"] for e in log.replay()] == [f"old-{i}" for i in range(5)]
        _append_many(tmp_path, "new", 40)  # two rotations: only the last two files are kept
        assert select.select([log], [], [], 5)[0] == [log]
        seen = [e["Actor"]["ID"] for e in log.more()]
    assert seen == [f"new-{i}" for i in range(40)]  # two rotations between two looks lose nothing
    files = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert files == ["events.jsonl", "events.jsonl.1"]
    assert sum(p.stat().st_size for p in (tmp_path / "events").iterdir()) < 2 * 2000 + 400


def test_replay_keeps_the_window_and_the_filters(tmp_path) -> None:
    append_event(tmp_path, "container", "die", "c" * 64, {"name": "web", "image": "busybox:1", "exitCode": "3",
                                                          "tier": "front"})
    middle = parse_time("0s")
    append_event(tmp_path, "network", "create", "n" * 64, {"name": "front", "type": "bridge"})
    with EventLog(tmp_path, since=middle) as log:
        assert [e["Type"] for e in log.replay()] == ["network"]
    with EventLog(tmp_path, until=middle) as log:
        assert [e["Type"] for e in log.replay()] == ["container"]
    die = EventLog(tmp_path, since=0).open().replay()[0]
    assert matches(die, {"container": ["web"], "event": ["die"], "label": ["tier=front"], "image": ["busybox"]})
    assert matches(die, {"container": ["ccc"]}) and not matches(die, {"container": ["we"]})
    assert not matches(die, {"type": ["network"]}) and not matches(die, {"label": ["tier=back"]})
    assert to_docker(die)["from"] == "busybox:1" and to_docker(die)["status"] == "die"
    line = format_line(die)
    assert line.endswith(f" container die {'c' * 64} (exitCode=3, image=busybox:1, name=web, tier=front)")
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        EventLog(tmp_path, filters={"colour": ["red"]})


def test_dockers_time_formats() -> None:
    now = 1_800_000_000 * 10**9
    assert parse_time("1700000000") == 1_700_000_000 * 10**9
    assert parse_time("1700000000.000000001") == 1_700_000_000 * 10**9 + 1
    assert parse_time("2026-01-02T03:04:05Z") == parse_time("2026-01-02T04:04:05+01:00")
    assert parse_time("10m", now_ns=now) == now - 600 * 10**9
    assert parse_time("1h30m", now_ns=now) == now - 5400 * 10**9
    with pytest.raises(InvalidArgument, match="invalid value for since"):
        parse_time("last tuesday")
