"""HEALTHCHECK through the CLI on real containers: the probes run by each container's monitor, docker's states
(starting, healthy, unhealthy) with the last results in ``inspect`` and the status in ``ps``, the image's
HEALTHCHECK and the flags that change or disable it."""

from __future__ import annotations

import json

from support.wait import eventually


def health(portside, name: str) -> dict:
    return portside.inspect(name)["State"].get("Health") or {}


def ps_status(portside, name: str) -> str:
    rows = [json.loads(line) for line in portside("ps", "--format", "json").stdout.splitlines()]
    return next(r["Status"] for r in rows if r["Names"] == name)


def test_starting_healthy_unhealthy_with_the_log_and_the_ps_column(portside) -> None:
    portside("run", "-d", "--name", "app", "--health-cmd", "cat /tmp/ok", "--health-interval", "300ms",
             "--health-retries", "2", "--health-start-period", "1h", "--health-start-interval", "300ms",
             "busybox", "sleep", "600")
    first = health(portside, "app")
    assert first["Status"] == "starting" and first["FailingStreak"] == 0
    assert ps_status(portside, "app").endswith("(health: starting)")
    # failures within the start period do not count: still starting, no streak
    failed = eventually(lambda: (h := health(portside, "app"))["Log"] and h, 30, what="a first probe")
    assert failed["Status"] == "starting" and failed["FailingStreak"] == 0
    assert failed["Log"][0]["ExitCode"] == 1 and "No such file" in failed["Log"][0]["Output"]

    portside("exec", "app", "sh", "-c", "echo fine > /tmp/ok")
    healthy = eventually(lambda: (h := health(portside, "app"))["Status"] == "healthy" and h, 30, what="healthy")
    assert healthy["FailingStreak"] == 0 and healthy["Log"][-1]["ExitCode"] == 0
    assert healthy["Log"][-1]["Output"] == "fine\n" and healthy["Log"][-1]["Start"] <= healthy["Log"][-1]["End"]
    assert ps_status(portside, "app").endswith("(healthy)")

    portside("exec", "app", "rm", "/tmp/ok")  # after a success the start period no longer shields failures
    sick = eventually(lambda: (h := health(portside, "app"))["Status"] == "unhealthy" and h, 30, what="unhealthy")
    assert sick["FailingStreak"] >= 2 and all(r["ExitCode"] == 1 for r in sick["Log"][-2:])
    assert len(sick["Log"]) <= 5
    assert ps_status(portside, "app").endswith("(unhealthy)")

    portside("restart", "-t", "0", "app")  # a new run starts over, its log kept
    again = health(portside, "app")
    assert again["Status"] == "starting" and again["FailingStreak"] == 0 and again["Log"]
    portside("rm", "-f", "app")
    assert portside.leftovers() == []


def test_the_images_healthcheck_its_timeout_and_no_healthcheck(portside, tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n"
                                         "HEALTHCHECK --interval=300ms --timeout=200ms --retries=1 CMD sleep 5\n")
    portside("build", "-t", "slowcheck", str(tmp_path))
    portside("run", "-d", "--name", "slow", "slowcheck", "sleep", "600")
    config = portside.inspect("slow")["Config"]["Healthcheck"]
    assert config == {"Test": ["CMD-SHELL", "sleep 5"], "Interval": 300_000_000, "Timeout": 200_000_000,
                      "Retries": 1}
    sick = eventually(lambda: (h := health(portside, "slow"))["Status"] == "unhealthy" and h, 30, what="unhealthy")
    assert sick["Log"][-1]["ExitCode"] == -1
    assert sick["Log"][-1]["Output"] == "Health check exceeded timeout (200ms)"
    probes = portside("exec", "slow", "sh", "-c", "ps -o args | grep -c '^sleep 5'", check=False).stdout
    assert int(probes) <= 1  # each timed-out probe was killed: they do not pile up

    portside("run", "-d", "--name", "quick", "--health-cmd", "true", "--health-interval", "200ms", "slowcheck",
             "sleep", "600")  # the flags replace the image's fields one by one
    assert portside.inspect("quick")["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "true"]
    assert portside.inspect("quick")["Config"]["Healthcheck"]["Timeout"] == 200_000_000
    eventually(lambda: health(portside, "quick")["Status"] == "healthy", 30, what="healthy")

    portside("run", "-d", "--name", "plain", "--no-healthcheck", "slowcheck", "sleep", "600")
    assert portside.inspect("plain")["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    assert "Health" not in portside.inspect("plain")["State"]
    assert "(" not in ps_status(portside, "plain")


def test_bad_healthcheck_flags_are_refused(portside) -> None:
    def error(*flags: str) -> str:
        proc = portside("run", "--rm", *flags, "busybox", "true", check=False)
        assert proc.returncode == 125, proc
        return proc.stderr

    assert error("--no-healthcheck", "--health-cmd", "true") == \
        "portside: --no-healthcheck conflicts with --health-* options\n"
    assert error("--health-cmd", "true", "--health-interval", "10") == \
        "portside: invalid --health-interval value '10': expected a duration like 30s, 1m30s or 500ms\n"
    assert error("--health-cmd", "true", "--health-timeout", "10us") == \
        "portside: invalid --health-timeout: it must be at least 1ms (or 0 for the default)\n"
    assert error("--health-interval", "1s").startswith(
        "portside: --health-* options given, but neither --health-cmd nor the image's HEALTHCHECK")
    assert error("--health-cmd", "true", "--health-retries", "-1") == \
        "portside: invalid --health-retries value '-1': must be at least 0\n"
