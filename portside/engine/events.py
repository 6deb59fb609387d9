"""The engine's events, as docker's ``events`` shows them: read back from the log the verbs append to.

Theory of operation. Every verb (create, start, stop, ``network connect``, ``volume rm``...) and every container's
monitor (start, die, health_status) appends one JSON line to ``ROOT/events/events.jsonl`` with
``records.append_event``: one O_APPEND write, so any number of processes log at once without a lock, and the file
is rotated to ``events.jsonl.1`` past a size (the log is bounded: docker keeps the last 256 events in memory; this
keeps about ten thousand, across restarts). A reader (``docker events`` through the API, ``portside events``) replays
the lines of both files between ``since`` and ``until``, then follows the current file: an inotify watch on the
directory wakes it at each append, and at a rotation, where it finishes the old file and opens the new one.

A line holds ``Type``, ``Action``, ``Actor`` and ``timeNano``; ``to_docker`` adds what docker's JSON also carries
(``scope``, ``time``, and for containers and images the old ``status``, ``id`` and ``from``).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from portside.engine.filters import check_names, labels_match
from portside.engine.records import EVENTS_FILE
from portside.runtime.errors import InvalidArgument

FILTERS = ("config", "container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope",
           "secret", "service", "type", "volume")
TYPES = ("builder", "config", "container", "daemon", "image", "network", "node", "plugin", "secret", "service",
         "volume")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATIONS = re.compile(f"(?:{_DURATION.pattern})+")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


# -- reading the log ---------------------------------------------------------------------------------------------

class EventLog:
    """The events of one engine root, past (``replay``) and to come (``more`` once ``fileno`` is readable)."""

    def __init__(self, root: Path, since: int | None = None, until: int | None = None,
                 filters: dict[str, list[str]] | None = None) -> None:
        """``since``/``until``: nanoseconds since the epoch, both inclusive (None: unbounded)."""
        self.path = Path(root) / EVENTS_FILE
        self.since, self.until = since, until
        self.filters = check_filters(filters or {})
        self._watch = None
        self._file = None
        self._rest = b""

    def open(self) -> EventLog:
        """Watch first, then open the file: nothing appended in between is missed."""
        from portside.runtime.inotify import FileWatch

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._watch = FileWatch(self.path.parent)
        self._file = _open(self.path)
        return self

    def skip_past(self) -> None:
        """From now on only: what the log holds already is not replayed (docker's ``events`` without ``since`` or
        ``until``)."""
        if self._file is not None:
            self._file.seek(0, os.SEEK_END)

    def fileno(self) -> int:
        return self._watch.fileno()

    def replay(self) -> list[dict]:
        """The past events that pass, oldest first: the rotated file, then the current one up to now."""
        out = []
        old = _open(self.path.with_name(self.path.name + ".1"))
        if old is not None:
            with old:
                out += self._pass(_lines(old.read()))
        return out + self.more()

    def more(self) -> list[dict]:
        """What was appended since the last look (the watch drained). Across a rotation: the old file's tail, the
        rotated file if it is another one (two rotations since the last look), then the new file's lines."""
        if self._watch is not None:
            self._watch.drain()
        out = self._read()
        current = _open(self.path)
        if current is None:
            return out
        if self._file is not None and _inode(current) == _inode(self._file):
            current.close()
            return out
        if self._file is not None:
            rotated = _open(self.path.with_name(self.path.name + ".1"))
            if rotated is not None:
                with rotated:
                    if _inode(rotated) not in (_inode(self._file), _inode(current)):
                        out += self._pass(_lines(rotated.read()))
            self._file.close()
        self._file, self._rest = current, b""
        return out + self._read()

    def _read(self) -> list[dict]:
        if self._file is None:
            return []
        data = self._rest + self._file.read()
        complete, _, self._rest = data.rpartition(b"\n")
        return self._pass(_lines(complete))

    def _pass(self, events: Iterator[dict]) -> list[dict]:
        return [e for e in events if self._in_window(e["timeNano"]) and matches(e, self.filters)]

    def _in_window(self, ns: int) -> bool:
        return (self.since is None or ns >= self.since) and (self.until is None or ns <= self.until)

    def done(self, now_ns: int | None = None) -> bool:
        """Past ``until``: nothing more can pass."""
        return self.until is not None and (now_ns or time.time_ns()) > self.until

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> EventLog:
        return self.open()

    def __exit__(self, *_exc) -> None:
        self.close()


def _open(path: Path):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def _inode(f) -> int:
    return os.fstat(f.fileno()).st_ino


def _lines(data: bytes) -> Iterator[dict]:
    for line in data.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash mid-write
        if isinstance(event, dict) and isinstance(event.get("timeNano"), int):
            yield event


# -- docker's filters and shapes ---------------------------------------------------------------------------------

def check_filters(filters: dict[str, list[str]]) -> dict[str, list[str]]:
    check_names(filters, FILTERS)
    for kind in filters.get("type", []):
        if kind not in TYPES:
            raise InvalidArgument(f"invalid filter 'type={kind}': expected one of {', '.join(TYPES)}")
    return filters


def matches(event: dict, filters: dict[str, list[str]]) -> bool:
    """docker's event filter: each filter given must match; ``container``, ``network``, ``volume`` (and the
    other object kinds) match the actor's id by prefix or its name, ``image`` the image's name or id, ``event``
    the action (``health_status`` matches each ``health_status: ...``), ``label`` the actor's attributes."""
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    for key, values in filters.items():
        if not values:
            continue
        if key == "type":
            ok = event.get("Type") in values
        elif key == "event":
            action = event.get("Action", "")
            ok = action in values or action.split(":", 1)[0] in values
        elif key == "label":
            ok = labels_match(attributes, values)
        elif key == "image":
            ok = _matches_image(event, values)
        elif key == "scope":
            ok = "local" in values
        else:
            ok = any(actor.get("ID", "").startswith(v) or attributes.get("name", "") == v for v in values)
        if not ok:
            return False
    return True


def _matches_image(event: dict, values: list[str]) -> bool:
    """docker's: the image's id (of an image's event), or its name as given, with or without its tag."""
    actor = event.get("Actor") or {}
    is_image = event.get("Type") == "image"
    name = (actor.get("Attributes") or {}).get("name" if is_image else "image", "")
    candidates = {actor.get("ID", "") if is_image else "", name, _strip_tag(name)} - {""}
    return any(v in candidates for v in values)


def _strip_tag(ref: str) -> str:
    head, _, tail = ref.rpartition(":")
    return head if head and "/" not in tail else ref


def to_docker(event: dict) -> dict:
    """docker's event JSON, key for key in its order."""
    out = {}
    actor = event.get("Actor") or {"ID": "", "Attributes": {}}
    if event.get("Type") in ("container", "image"):
        out = {"status": event["Action"], "id": actor["ID"]}
        if event["Type"] == "container":
            out["from"] = (actor.get("Attributes") or {}).get("image", "")
    ns = event["timeNano"]
    return {**out, "Type": event["Type"], "Action": event["Action"],
            "Actor": {"ID": actor["ID"], "Attributes": dict(sorted((actor.get("Attributes") or {}).items()))},
            "scope": "local", "time": ns // 10**9, "timeNano": ns}


def format_line(event: dict) -> str:
    """docker events' default line: local time with nanoseconds, type, action, actor id, (attributes)."""
    ns = event["timeNano"]
    stamp = datetime.fromtimestamp(ns // 10**9, UTC).astimezone()
    offset = stamp.strftime("%z")
    zone = "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    line = f"{stamp.strftime('%Y-%m-%dT%H:%M:%S')}.{ns % 10**9:09d}{zone} {event['Type']} {event['Action']} "
    actor = event.get("Actor") or {}
    line += actor.get("ID", "")
    attributes = actor.get("Attributes") or {}
    if attributes:
        line += " (" + ", ".join(f"{k}={v}" for k, v in sorted(attributes.items())) + ")"
    return line


# -- docker's times ----------------------------------------------------------------------------------------------

def parse_time(text: str, what: str = "since", now_ns: int | None = None) -> int:
    """docker's ``--since``/``--until`` value as nanoseconds since the epoch: a Unix time (``1700000000`` or
    ``1700000000.5``, what the docker CLI sends), an RFC 3339 date or time (``2026-01-02``,
    ``2026-01-02T15:04:05Z``), or a Go duration before now (``10m``, ``1h30m``)."""
    text = text.strip()
    now_ns = time.time_ns() if now_ns is None else now_ns
    if re.fullmatch(r"-?\d+(\.\d{1,9})?", text):
        secs, _, frac = text.partition(".")
        sign = -1 if secs.startswith("-") else 1
        return int(secs) * 10**9 + sign * int((frac or "0").ljust(9, "0"))
    duration = _duration(text)
    if duration is not None:
        return now_ns - duration
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"invalid value for {what}: {text!r} is not a Unix time, an RFC 3339 time or a "
                              "duration such as 10m") from None
    if stamp.tzinfo is None:
        stamp = stamp.astimezone()  # docker reads a time without a zone as local time
    return int(stamp.timestamp()) * 10**9 + stamp.microsecond * 1000


def _duration(text: str) -> int | None:
    """A Go duration (``1h30m``, ``1.5s``) in nanoseconds, or None."""
    if not _DURATIONS.fullmatch(text):
        return None
    return int(sum(float(n) * _UNIT_NS[u] for n, u in _DURATION.findall(text)))
