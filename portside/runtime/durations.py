"""Go's duration syntax, which docker's flags and Dockerfile instructions use: ``30s``, ``1m30s``, ``500ms``.

Parsed to integer nanoseconds (docker stores durations so, in image configs and in ``Config.Healthcheck``), and
printed back the way Go prints them (``1m30s``, ``1.5s``), for messages that quote a duration.
"""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def parse(text: str) -> int:
    """Nanoseconds; ValueError for anything but a sequence of number-and-unit parts (``0`` alone is zero)."""
    if text == "0":
        return 0
    total, pos = 0, 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += int(float(match.group(1)) * UNIT_NS[match.group(2)])
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f"invalid duration {text!r} (expected e.g. 30s, 1m30s, 500ms)")
    return total


def format(ns: int) -> str:
    """As Go's ``Duration.String``: ``30s``, ``1m30s``, ``1h0m0s``, ``1.5s``, ``500ms``, ``0s``."""
    if ns == 0:
        return "0s"
    if ns < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if ns >= size:
                return _trim(ns / size) + unit
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = _trim(rest / 10**9) + "s"
    if hours:
        return f"{hours}h{minutes}m{seconds}"
    return f"{minutes}m{seconds}" if minutes else seconds


def _trim(value: float) -> str:
    return f"{value:.9f}".rstrip("0").rstrip(".")
