"""Container logs in docker's json-file format: one JSON object per line of output, in rotated files.

Each entry is ``{"log": "text\\n", "stream": "stdout"|"stderr", "time": RFC 3339 with nanoseconds}``, as docker
writes them, so ``logs --timestamps`` and ``--tail`` need no other index and docker's tools can read the files.
A line is cut into entries at 16 KiB, like docker; a last line without a newline is written as is at the end.

Rotation (docker's ``max-size`` and ``max-file``) is the writer's: the container's monitor, the only process that
writes a log, appends through one ``Sink``, which, before a write that would take the file past ``max_size``,
renames ``LOG.(n-1)`` to ``LOG.n`` down to ``LOG`` to ``LOG.1`` (dropping the oldest, so that at most
``max_files`` files exist) and goes on in a new ``LOG``. It only rotates between whole writes, so every file ends
with a whole entry and no line is lost or cut in two. Readers (``Follower``) read the rotated files oldest first
and then the current one; following, they keep the current file open, and when its name has moved on they finish
the file they hold and go on with those that came after it, in order.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from pathlib import Path

from portside.runtime.plain import Plain

MAX_ENTRY = 16 * 1024


def rfc3339(ns: int | None = None) -> str:
    """UTC time with nanoseconds, docker's format (``2024-05-01T12:00:00.123456789Z``)."""
    ns = time.time_ns() if ns is None else ns
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


class Entry(Plain):
    __slots__ = ("stream", "time", "text")

    def __init__(self, stream: str, time: str, text: str) -> None:
        self.stream, self.time, self.text = stream, time, text


class Sink:
    """The log as its writer sees it: appends, and rotates past ``max_size`` bytes (0: never) keeping at most
    ``max_files`` files (1: the log alone, started afresh)."""

    def __init__(self, path: Path, max_size: int = 0, max_files: int = 1) -> None:
        self.path, self.max_size, self.max_files = Path(path), max_size, max(1, max_files)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self.size = os.fstat(self.fd).st_size

    def write(self, entries: list[bytes]) -> None:
        """Append whole entries; one write per file they go to (a chunk of output is many entries at once, and
        rotation is checked before each, as docker does)."""
        if not self.max_size:
            self._append(b"".join(entries))
            return
        batch, size = [], self.size
        for entry in entries:
            if size and size + len(entry) > self.max_size:
                self._append(b"".join(batch))
                self.rotate()
                batch, size = [], 0
            batch.append(entry)
            size += len(entry)
        self._append(b"".join(batch))

    def _append(self, data: bytes) -> None:
        if data:
            os.write(self.fd, data)
            self.size += len(data)

    def rotate(self) -> None:
        """Shift the rotated files up by one, the oldest dropped, the log itself becoming ``.1``; then a new log.
        With one file, the log is replaced by a new one (a follower still finishes the old one it holds)."""
        names = rotated_names(self.path, self.max_files)
        if names:
            for older, newer in zip(reversed(names[1:]), reversed(names[:-1])):
                _rename(newer, older)
            _rename(self.path, names[0])
        else:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self.size = 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def rotated_names(path: Path, max_files: int) -> list[Path]:
    """The rotated files' names, newest first: ``LOG.1`` ... ``LOG.(max_files-1)``, as docker names them."""
    return [path.with_name(f"{path.name}.{n}") for n in range(1, max_files)]


def chain(path: Path) -> list[Path]:
    """The log's files that exist, oldest first: the rotated ones by their number, then the log itself."""
    numbered = []
    for other in path.parent.glob(path.name + ".*"):
        suffix = other.name[len(path.name) + 1:]
        if suffix.isdigit():
            numbered.append((int(suffix), other))
    return [p for _, p in sorted(numbered, reverse=True)] + [path]


def _rename(src: Path, dst: Path) -> None:
    try:
        os.rename(src, dst)
    except FileNotFoundError:
        pass  # fewer files than the limit so far


class Writer:
    """Cuts one stream's bytes into lines and appends them to the log; keeps the unfinished line between chunks."""

    def __init__(self, sink: Sink, stream: str) -> None:
        self.sink = sink
        self.stream = stream
        self.pending = b""

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk
        cut = data.rfind(b"\n") + 1
        whole, self.pending = data[:cut], data[cut:]
        entries = [line[i:i + MAX_ENTRY] for line in whole.splitlines(keepends=True)
                   for i in range(0, len(line), MAX_ENTRY)]
        while len(self.pending) >= MAX_ENTRY:
            entries.append(self.pending[:MAX_ENTRY])
            self.pending = self.pending[MAX_ENTRY:]
        if entries:
            self._write(entries)

    def flush(self) -> None:
        if self.pending:
            self._write([self.pending])
            self.pending = b""

    def _write(self, lines: list[bytes]) -> None:
        stamp = rfc3339()
        self.sink.write([(json.dumps({"log": line.decode(errors="replace"), "stream": self.stream, "time": stamp})
                          + "\n").encode() for line in lines])


def time_ns(stamp: str) -> int:
    """An entry's time (RFC 3339, UTC, up to nanoseconds) in nanoseconds since the epoch; 0 when malformed."""
    import calendar

    try:
        whole, _, frac = stamp.rstrip("Z").partition(".")
        secs = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
        return secs * 1_000_000_000 + int((frac + "000000000")[:9])
    except ValueError:
        return 0


class Window(Plain):
    """docker's ``logs --since`` and ``--until``: the entries written in between (nanoseconds since the epoch, 0
    for no bound); ``passed`` once an entry came after ``until``, so that a follower stops there."""

    __slots__ = ("since", "until", "passed")

    def __init__(self, since: int = 0, until: int = 0) -> None:
        self.since, self.until, self.passed = since, until, False

    def pick(self, entries: list[Entry]) -> list[Entry]:
        if not (self.since or self.until):
            return entries
        out = []
        for entry in entries:
            at = time_ns(entry.time)
            if self.until and at > self.until:
                self.passed = True
                break
            if at >= self.since:
                out.append(entry)
        return out


def parse(line: bytes) -> Entry | None:
    try:
        obj = json.loads(line)
        return Entry(obj["stream"], obj["time"], obj["log"])
    except (ValueError, KeyError, TypeError):
        return None


def entries(path: Path, tail: int | None = None) -> list[Entry]:
    """Every entry of the log and the files rotated from it, oldest first (the last ``tail`` if given)."""
    reader = Follower(path)
    try:
        return reader.start(tail)
    finally:
        reader.close()


class Follower:
    """A log read as ``logs`` (and ``logs -f``) reads it: the rotated files and the log, then what follows."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fd = -1
        self.pending = b""

    def start(self, tail: int | None = None) -> list[Entry]:
        """Every entry so far (the last ``tail`` of them if given), the current file kept open for ``more``."""
        files = []
        for path in chain(self.path):
            try:
                files.append(os.open(path, os.O_RDONLY))
            except FileNotFoundError:
                continue  # rotated away meanwhile, or never written
        lines: list[bytes] = []
        for fd in files[:-1]:
            lines += _read_all(fd)[0].splitlines()
            os.close(fd)
        if files and os.fstat(files[-1]).st_ino == _inode(self.path):
            self.fd = files[-1]
            data, self.pending = self._read(self.fd)
            lines += data.splitlines()
        elif files:  # the last one is no longer the log: take it whole; ``more`` opens the new log
            lines += _read_all(files[-1])[0].splitlines()
            os.close(files[-1])
        if tail is not None:
            lines = list(deque(lines, maxlen=tail)) if tail > 0 else []
        return [e for e in map(parse, lines) if e is not None]

    def more(self) -> list[Entry]:
        """The entries appended since, across any rotations in between."""
        if self.fd < 0:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return []
        data, self.pending = self._read(self.fd, self.pending)
        lines = data.splitlines()
        held = os.fstat(self.fd).st_ino
        if _inode(self.path) in (held, 0):
            return [e for e in map(parse, lines) if e is not None]
        # rotated: the file held is complete; the files after it follow, the log itself last
        later = _after(chain(self.path), held)
        os.close(self.fd)
        self.fd, self.pending = -1, b""
        for path in later[:-1]:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            lines += _read_all(fd)[0].splitlines()
            os.close(fd)
        return [e for e in map(parse, lines) if e is not None] + self.more()

    def _read(self, fd: int, pending: bytes = b"") -> tuple[bytes, bytes]:
        data = pending + _read_all(fd)[0]
        cut = data.rfind(b"\n") + 1  # a line still being written is kept for the next read
        return data[:cut], data[cut:]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _read_all(fd: int) -> tuple[bytes, int]:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    data = b"".join(chunks)
    return data, len(data)


def _inode(path: Path) -> int:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return 0


def _after(files: list[Path], inode: int) -> list[Path]:
    """The files that came after the one with ``inode`` (all of them when it was dropped as the oldest)."""
    inodes = [_inode(p) for p in files]
    return files[inodes.index(inode) + 1:] if inode in inodes else files
