"""Container logs in docker's json-file format: one JSON object per line of output.

Each entry is ``{"log": "text\\n", "stream": "stdout"|"stderr", "time": RFC 3339 with nanoseconds}``, as docker
writes them, so ``logs --timestamps`` and ``--tail`` need no other index and docker's tools can read the files.
A line is cut into entries at 16 KiB, like docker; a last line without a newline is written as is at the end.
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


class Writer:
    """Cuts one stream's bytes into lines and appends them to the log; keeps the unfinished line between chunks."""

    def __init__(self, fd: int, stream: str) -> None:
        self.fd = fd
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
        out = "".join(json.dumps({"log": line.decode(errors="replace"), "stream": self.stream, "time": stamp})
                      + "\n" for line in lines)
        os.write(self.fd, out.encode())


def parse(line: bytes) -> Entry | None:
    try:
        obj = json.loads(line)
        return Entry(obj["stream"], obj["time"], obj["log"])
    except (ValueError, KeyError, TypeError):
        return None


def read(path: Path, tail: int | None = None, offset: int = 0) -> tuple[list[Entry], int]:
    """Entries from byte ``offset`` (the last ``tail`` of them if given) and the offset to continue from."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    cut = data.rfind(b"\n") + 1  # a line still being written is left for the next read
    lines = data[:cut].splitlines()
    if tail is not None:
        lines = list(deque(lines, maxlen=tail)) if tail > 0 else []
    entries = [e for e in map(parse, lines) if e is not None]
    return entries, offset + cut
