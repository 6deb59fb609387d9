"""Cron schedules: Kubernetes' grammar checked field by field with errors that name the field, descriptors,
@every, time zones, and the times a schedule denotes (including across a daylight-saving change)."""

import datetime as dt
import zoneinfo

import pytest

from portside.api import cron

UTC = dt.UTC


def at(*args, tz=UTC) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


@pytest.mark.parametrize(("schedule", "after", "expected"), [
    ("*/1 * * * *", at(2026, 3, 1, 10, 0, 30), at(2026, 3, 1, 10, 1)),
    ("*/1 * * * *", at(2026, 3, 1, 10, 1), at(2026, 3, 1, 10, 2)),  # strictly after
    ("@hourly", at(2026, 3, 1, 10, 0), at(2026, 3, 1, 11, 0)),
    ("@daily", at(2026, 3, 1, 10, 0), at(2026, 3, 2, 0, 0)),
    ("@midnight", at(2026, 3, 1, 10, 0), at(2026, 3, 2, 0, 0)),
    ("@weekly", at(2026, 3, 4, 10, 0), at(2026, 3, 8, 0, 0)),  # a Sunday
    ("@monthly", at(2026, 3, 4, 10, 0), at(2026, 4, 1, 0, 0)),
    ("@yearly", at(2026, 3, 4, 10, 0), at(2027, 1, 1, 0, 0)),
    ("@annually", at(2026, 3, 4, 10, 0), at(2027, 1, 1, 0, 0)),
    ("0 9 * * MON-FRI", at(2026, 3, 6, 9, 0), at(2026, 3, 9, 9, 0)),  # Friday 9:00 -> Monday 9:00
    ("5/15 * * * *", at(2026, 3, 1, 10, 6), at(2026, 3, 1, 10, 20)),
    ("0 0 1 jan,JUL ?", at(2026, 3, 1), at(2026, 7, 1)),
    ("@every 90s", at(2026, 3, 1, 10, 0, 0, 500000), at(2026, 3, 1, 10, 1, 30)),
])
def test_next_time(schedule, after, expected):
    assert cron.parse(schedule).next(after) == expected


def test_a_zone_moves_the_times_and_daylight_saving_is_followed():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    daily = cron.parse("30 8 * * *", berlin)
    assert daily.next(at(2026, 3, 27, 12)) == at(2026, 3, 28, 7, 30)  # CET, UTC+1
    assert daily.next(at(2026, 3, 28, 12)) == at(2026, 3, 29, 6, 30)  # CEST from 29 March, UTC+2


@pytest.mark.parametrize(("schedule", "error"), [
    ("", "empty schedule"),
    ("* * * *", "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 4: * * * *"),
    ("* * * * * *", "expected exactly 5 fields"),
    ("61 * * * *", "minute field '61': 61 is outside 0-59"),
    ("* 24 * * *", "hour field '24': 24 is outside 0-23"),
    ("* * 0 * *", "day of month field '0': 0 is outside 1-31"),
    ("* * * 13 *", "month field '13': 13 is outside 1-12"),
    ("* * * * 7", "day of week field '7': 7 is outside 0-6 (Sunday is 0)"),
    ("* * * FOO *", "month field 'FOO': 'FOO' is not a number from 1 to 12 or a name (JAN, FEB"),
    ("*/0 * * * *", "minute field '*/0': the step after / must be a positive number"),
    ("1/2/3 * * * *", "minute field '1/2/3': the step after / must be a positive number"),
    ("1-2-3 * * * *", "minute field '1-2-3': too many hyphens"),
    ("30-10 * * * *", "minute field '30-10': the range starts at 30, after its end 10"),
    ("L * * * *", "minute field 'L': 'L' is not a number from 0 to 59"),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ("@every soon", "failed to parse duration @every soon"),
    ("0 0 30 2 *", "never occurs"),
    ("TZ=Mars/Olympus * * * * *", "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"),
])
def test_bad_schedules_name_the_field_and_the_bound(schedule, error):
    with pytest.raises(cron.ScheduleError) as caught:
        cron.parse(schedule)
    assert str(caught.value).startswith(error), caught.value


@pytest.mark.parametrize(("name", "error"), [
    ("", "timeZone must be nil or non-empty string"),
    ("Local", "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"),
    ("Mars/Olympus", "unknown time zone Mars/Olympus"),
    ("../../etc/passwd", "unknown time zone ../../etc/passwd"),
])
def test_bad_zones(name, error):
    with pytest.raises(cron.ScheduleError, match=error.replace(".", r"\.").replace("/", "/")):
        cron.load_zone(name)


def test_good_zones_and_the_controllers_own():
    assert cron.load_zone("UTC") is UTC
    assert str(cron.load_zone("America/New_York")) == "America/New_York"
    assert cron.local_zone() is not None
