"""Cron schedules as a Kubernetes CronJob reads them, parsed once for validation and for the controller.

The grammar is the one Kubernetes accepts (robfig/cron's standard parser): five fields, minute hour day-of-month
month day-of-week, each a comma-separated list of ``*``, ``?``, ``N`` or ``N-M``, optionally ``/STEP``; months
and weekdays may be named (``JAN``, ``MON``); Sunday is 0. A descriptor may stand for the five fields
(``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``, ``@hourly``), and
``@every DURATION`` (Go's duration syntax, ``90s``, ``1h30m``) runs at a fixed interval. A ``CRON_TZ=Zone`` or
``TZ=Zone`` prefix names the time zone; ``spec.timeZone`` is the supported way to do that.

The fields are checked here (each error names the field and the bound it broke); the times they denote are
computed by ``croniter`` in the schedule's zone, so daylight-saving changes are handled by a maintained library.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import zoneinfo
from dataclasses import dataclass

from croniter import croniter
from croniter.croniter import CroniterBadDateError

__all__ = ["Schedule", "ScheduleError", "parse", "load_zone", "local_zone", "DESCRIPTORS"]

DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
               "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_MONTHS = {m: i for i, m in enumerate(("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC").split(), 1)}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
# (name, lowest, highest, names)
_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, _MONTHS),
           ("day of week", 0, 6, _DAYS))
_ZONE_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_NO_TIME = "never occurs (no date matches its day-of-month and month fields)"


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; the message says which part and why."""


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: five cron fields in ``zone``, or a fixed interval of ``every`` seconds."""

    fields: str = ""
    zone: dt.tzinfo = dt.UTC
    every: float = 0.0

    def next(self, after: dt.datetime) -> dt.datetime | None:
        """The first scheduled time strictly after ``after`` (aware, UTC); None when there is none."""
        if self.every:
            whole = after.replace(microsecond=0)  # an interval counts from the second, as robfig/cron does
            return (whole + dt.timedelta(seconds=self.every)).astimezone(dt.UTC)
        try:
            found = croniter(self.fields, after.astimezone(self.zone)).get_next(dt.datetime)
        except CroniterBadDateError:
            return None
        return found.astimezone(dt.UTC)


def local_zone() -> dt.tzinfo:
    """The zone of the machine the controller runs on: a schedule without a zone is read in it, as Kubernetes
    reads one in kube-controller-manager's."""
    name = os.environ.get("TZ", "").lstrip(":")
    try:
        if name:
            return zoneinfo.ZoneInfo(name)
        with open("/etc/localtime", "rb") as f:
            return zoneinfo.ZoneInfo.from_file(f, key="localtime")
    except (OSError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        return dt.UTC


def load_zone(name: str) -> dt.tzinfo:
    """An IANA zone by name (``Europe/Berlin``, ``UTC``); ScheduleError for an empty, ``Local`` or unknown one."""
    if not name:
        raise ScheduleError("timeZone must be nil or non-empty string")
    if any(p in (".", "..") or p.startswith("-") or not _ZONE_PART.fullmatch(p) for p in name.split("/")):
        raise ScheduleError(f"unknown time zone {name}")
    if name.lower() == "local":
        raise ScheduleError("timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")
    if name == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(f"unknown time zone {name}") from None


def parse(schedule: str, zone: dt.tzinfo | None = None) -> Schedule:
    """``schedule`` checked and compiled; ``zone`` (the CronJob's timeZone) applies unless the schedule names
    its own. Raises ScheduleError naming the field at fault."""
    text = schedule.strip()
    if not text:
        raise ScheduleError("empty schedule")
    if text.startswith(("TZ=", "CRON_TZ=")):
        prefix, _, text = text.partition(" ")
        name = prefix.split("=", 1)[1]
        try:
            zone = load_zone(name)
        except ScheduleError as exc:
            raise ScheduleError(f"provided bad location {name}: {exc}") from None
        text = text.strip()
    zone = zone or dt.UTC
    if text.startswith("@every"):
        return Schedule(zone=zone, every=_every(text))
    if text.startswith("@"):
        if text not in DESCRIPTORS:
            raise ScheduleError(f"unrecognized descriptor: {text} (expected one of {', '.join(DESCRIPTORS)} or "
                                "@every DURATION)")
        text = DESCRIPTORS[text]
    parts = text.split()
    if len(parts) != 5:
        raise ScheduleError(f"expected exactly 5 fields (minute hour day-of-month month day-of-week), found "
                            f"{len(parts)}: {text}")
    fields = " ".join(_field(part, *spec) for part, spec in zip(parts, _FIELDS))
    compiled = Schedule(fields=fields, zone=zone)
    if compiled.next(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) is None:
        raise ScheduleError(_NO_TIME)
    return compiled


def _every(text: str) -> float:
    """``@every 1h30m`` in seconds: Go's duration syntax, at least one second, whole seconds (as robfig/cron)."""
    value = text.removeprefix("@every").strip()
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(value):
        if match.start() != pos:
            break
        total, pos = total + float(match.group(1)) * _UNIT_S[match.group(2)], match.end()
    if not value or pos != len(value):
        raise ScheduleError(f"failed to parse duration {text}: expected a duration such as 90s, 5m or 1h30m")
    return max(1.0, math.floor(total))


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> str:
    """One field as croniter reads it (names become numbers), after checking every range and step in it."""
    out = []
    for item in text.split(","):
        span, slash, step = item.partition("/")
        if slash and (not step.isdigit() or int(step) == 0):
            raise ScheduleError(f"{name} field {text!r}: the step after / must be a positive number")
        if "/" in step:
            raise ScheduleError(f"{name} field {text!r}: too many slashes")
        if span in ("*", "?"):
            out.append("*" + (f"/{step}" if slash else ""))
            continue
        bounds = span.split("-")
        if len(bounds) > 2:
            raise ScheduleError(f"{name} field {text!r}: too many hyphens")
        first, last = (_value(b, name, text, low, high, names) for b in (bounds[0], bounds[-1]))
        if first > last:
            raise ScheduleError(f"{name} field {text!r}: the range starts at {first}, after its end {last}")
        if len(bounds) == 1 and slash:  # "N/step" means from N to the end, stepping
            last = high
        out.append(f"{first}-{last}" + (f"/{step}" if slash else "") if first != last or slash else str(first))
    return ",".join(out)


def _value(word: str, name: str, text: str, low: int, high: int, names: dict[str, int]) -> int:
    if word.upper() in names:
        return names[word.upper()]
    if not word.isdigit():
        expected = f"a number from {low} to {high}" + (f" or a name ({', '.join(names)})" if names else "")
        raise ScheduleError(f"{name} field {text!r}: {word!r} is not {expected}")
    value = int(word)
    if value < low or value > high:
        hint = " (Sunday is 0)" if names is _DAYS and value == 7 else ""
        raise ScheduleError(f"{name} field {text!r}: {value} is outside {low}-{high}{hint}")
    return value
