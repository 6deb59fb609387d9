"""Docker's health rules, pure: what a probe's result does to the health, when the next probe comes, and the
durations docker's flags take."""

from __future__ import annotations

import pytest

from portside.runtime import durations
from portside.runtime.health import Health, HealthConfig, ProbeResult, next_interval, record

S = 10**9
OK, FAIL = ProbeResult("t0", "t1", 0, "ok"), ProbeResult("t0", "t1", 1, "no")


def test_a_success_is_healthy_and_ends_the_streak() -> None:
    config = HealthConfig(("CMD", "true"))
    assert record(Health("unhealthy", 7), OK, config, False) == Health("healthy", 0, (OK,))


def test_failures_in_a_row_make_it_unhealthy_after_retries() -> None:
    config = HealthConfig(("CMD", "false"), retries=2)
    h = record(Health(), FAIL, config, False)
    assert (h.status, h.failing_streak) == ("starting", 1)
    h = record(h, FAIL, config, False)
    assert (h.status, h.failing_streak) == ("unhealthy", 2)
    assert record(Health("healthy"), FAIL, HealthConfig(("CMD", "x")), False).status == "healthy"  # 1 of 3


def test_failures_in_the_start_period_do_not_count_while_starting() -> None:
    config = HealthConfig(("CMD", "false"), retries=1, start_period=60 * S)
    assert record(Health(), FAIL, config, True) == Health("starting", 0, (FAIL,))
    assert record(Health("healthy"), FAIL, config, True).status == "unhealthy"  # once healthy, they count


def test_the_log_keeps_the_last_five() -> None:
    h = Health()
    results = [ProbeResult(str(i), str(i), 0, "") for i in range(7)]
    for r in results:
        h = record(h, r, HealthConfig(("CMD", "true")), False)
    assert h.log == tuple(results[2:])


def test_intervals() -> None:
    config = HealthConfig(("CMD", "true"), interval=10 * S, start_period=60 * S, start_interval=2 * S)
    assert next_interval(config, 0, "starting") == 2 * S  # the start interval while starting
    assert next_interval(config, 0, "healthy") == 10 * S
    assert next_interval(config, 55 * S, "starting") == 5 * S  # never past the start period's end
    assert next_interval(config, 61 * S, "starting") == 10 * S
    assert next_interval(HealthConfig(("CMD", "true")), 0, "starting") == 30 * S  # docker's default
    assert next_interval(HealthConfig(("CMD", "true"), start_period=60 * S), 0, "starting") == 5 * S


def test_commands() -> None:
    assert HealthConfig(("CMD-SHELL", "curl -f localhost")).argv == ["/bin/sh", "-c", "curl -f localhost"]
    assert HealthConfig(("CMD", "curl", "-f", "x")).argv == ["curl", "-f", "x"]
    assert HealthConfig(("NONE",)).argv == [] and HealthConfig(()).argv == []


@pytest.mark.parametrize("text, ns", [("30s", 30 * S), ("1m30s", 90 * S), ("500ms", S // 2), ("1.5s", 3 * S // 2),
                                      ("1h", 3600 * S), ("0", 0), ("10us", 10_000)])
def test_durations_parse(text: str, ns: int) -> None:
    assert durations.parse(text) == ns


@pytest.mark.parametrize("text", ["", "10", "1x", "s", "1s2", "-1s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        durations.parse(text)


@pytest.mark.parametrize("ns, text", [(30 * S, "30s"), (90 * S, "1m30s"), (3600 * S, "1h0m0s"), (S // 2, "500ms"),
                                      (3 * S // 2, "1.5s"), (0, "0s"), (200_000_000, "200ms")])
def test_durations_print_as_go_does(ns: int, text: str) -> None:
    assert durations.format(ns) == text
