"""json-file logs: lines cut as docker cuts them, rotated as docker's max-size and max-file rotate them, read back
(and followed) across the rotated files in order."""

import json

from portside.runtime import logfile


def entry(i: int) -> bytes:
    """One entry; all of the same size (for sizes counted in entries)."""
    return (json.dumps({"log": f"{i:02d}\n", "stream": "stdout", "time": "t"}) + "\n").encode()


def numbered(first: int, end: int) -> list[str]:
    return [f"{i:02d}\n" for i in range(first, end)]


def texts(entries) -> list[str]:
    return [e.text for e in entries]


def test_writer_cuts_lines_and_keeps_partial_ones(tmp_path) -> None:
    path = tmp_path / "log"
    sink = logfile.Sink(path)
    out, err = logfile.Writer(sink, "stdout"), logfile.Writer(sink, "stderr")
    out.feed(b"one\ntw")
    err.feed(b"oops\n")
    out.feed(b"o\nthree")
    out.flush()
    sink.close()
    entries = logfile.entries(path)
    assert [(e.stream, e.text) for e in entries] == [("stdout", "one\n"), ("stderr", "oops\n"), ("stdout", "two\n"),
                                                      ("stdout", "three")]
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"log", "stream", "time"} and first["time"].endswith("Z")


def test_very_long_lines_are_split_at_16k(tmp_path) -> None:
    sink = logfile.Sink(tmp_path / "log")
    logfile.Writer(sink, "stdout").feed(b"x" * 40000 + b"\n")
    sink.close()
    assert [len(e.text) for e in logfile.entries(tmp_path / "log")] == [16384, 16384, 7233]


def test_tail_and_a_line_still_being_written(tmp_path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"".join(entry(i) for i in range(5)) + entry(9)[:10])
    assert texts(logfile.entries(path, tail=2)) == numbered(3, 5)
    assert logfile.entries(path, tail=0) == []
    reader = logfile.Follower(path)
    assert len(reader.start()) == 5
    with open(path, "ab") as f:
        f.write(entry(9)[10:])  # the rest of the line: now whole
    assert texts(reader.more()) == numbered(9, 10) and reader.more() == []
    reader.close()
    assert logfile.entries(tmp_path / "missing") == []


def test_rotated_files_are_named_as_dockers(tmp_path) -> None:
    log = tmp_path / "c-json.log"
    assert logfile.rotated_names(log, 3) == [tmp_path / "c-json.log.1", tmp_path / "c-json.log.2"]
    assert logfile.rotated_names(log, 1) == []
    for name in ("c-json.log.2", "c-json.log.10", "c-json.log.1", "c-json.log.tmp"):
        (tmp_path / name).write_text("")
    assert [p.name for p in logfile.chain(log)] == ["c-json.log.10", "c-json.log.2", "c-json.log.1", "c-json.log"]


def test_rotation_keeps_at_most_max_files_and_never_cuts_an_entry(tmp_path) -> None:
    log = tmp_path / "c-json.log"
    sink = logfile.Sink(log, max_size=3 * len(entry(0)), max_files=3)
    sink.write([entry(i) for i in range(10)])  # a chunk of output: rotated within, entry by entry
    for i in range(10, 20):
        sink.write([entry(i)])
    sink.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-json.log", "c-json.log.1", "c-json.log.2"]
    assert all(p.stat().st_size <= 3 * len(entry(0)) for p in tmp_path.iterdir())
    assert texts(logfile.entries(log)) == numbered(12, 20)  # the newest, in order, whole
    assert texts(logfile.entries(log, tail=4)) == numbered(16, 20)


def test_one_file_starts_afresh(tmp_path) -> None:
    log = tmp_path / "c-json.log"
    sink = logfile.Sink(log, max_size=2 * len(entry(0)), max_files=1)
    for i in range(5):
        sink.write([entry(i)])
    sink.close()
    assert [p.name for p in tmp_path.iterdir()] == ["c-json.log"]
    assert texts(logfile.entries(log)) == numbered(4, 5)


def test_a_follower_goes_on_across_rotations(tmp_path) -> None:
    log = tmp_path / "c-json.log"
    sink = logfile.Sink(log, max_size=2 * len(entry(0)), max_files=4)
    sink.write([entry(0)])
    reader = logfile.Follower(log)
    assert texts(reader.start()) == numbered(0, 1)
    for i in range(1, 4):  # two rotations before the follower reads again
        sink.write([entry(i)])
    assert texts(reader.more()) == numbered(1, 4)
    sink.write([entry(4)])
    assert texts(reader.more()) == numbered(4, 5)
    for i in range(5, 14):  # so many that the file it held is dropped: it finishes it, then the oldest kept
        sink.write([entry(i)])
    assert texts(reader.more()) == numbered(5, 14)  # the rest of the dropped file it held, then the others
    reader.close()
    sink.close()


def test_rfc3339_has_nanoseconds() -> None:
    assert logfile.rfc3339(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
