"""json-file logs: lines cut as docker cuts them, read back with tail and offsets."""

import json
import os

from portside.runtime import logfile


def test_writer_cuts_lines_and_keeps_partial_ones(tmp_path) -> None:
    path = tmp_path / "log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    out, err = logfile.Writer(fd, "stdout"), logfile.Writer(fd, "stderr")
    out.feed(b"one\ntw")
    err.feed(b"oops\n")
    out.feed(b"o\nthree")
    out.flush()
    os.close(fd)
    entries, offset = logfile.read(path)
    assert [(e.stream, e.text) for e in entries] == [("stdout", "one\n"), ("stderr", "oops\n"), ("stdout", "two\n"),
                                                      ("stdout", "three")]
    assert offset == path.stat().st_size
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"log", "stream", "time"} and first["time"].endswith("Z")


def test_very_long_lines_are_split_at_16k(tmp_path) -> None:
    fd = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT)
    writer = logfile.Writer(fd, "stdout")
    writer.feed(b"x" * 40000 + b"\n")
    os.close(fd)
    entries, _ = logfile.read(tmp_path / "log")
    assert [len(e.text) for e in entries] == [16384, 16384, 7233]


def test_tail_offset_and_a_line_still_being_written(tmp_path) -> None:
    path = tmp_path / "log"
    lines = [json.dumps({"log": f"{i}\n", "stream": "stdout", "time": "t"}) for i in range(5)]
    path.write_text("\n".join(lines) + "\n" + lines[0][:10])
    entries, offset = logfile.read(path, tail=2)
    assert [e.text for e in entries] == ["3\n", "4\n"]
    assert logfile.read(path, tail=0)[0] == []
    assert logfile.read(path, offset=offset) == ([], offset)
    assert logfile.read(tmp_path / "missing") == ([], 0)


def test_rfc3339_has_nanoseconds() -> None:
    assert logfile.rfc3339(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
