"""Docker's HEALTHCHECK: a command run in the container now and then, whose exit code says whether it is well.

Theory of operation. A container whose config has a healthcheck (``HealthConfig``: from the image's HEALTHCHECK
or ``run --health-*``) is ``starting`` when it starts. Its monitor runs a ``Prober`` thread beside the output
loop: every interval (the time from one probe's end to the next one's start, and before the first) it execs the
test in the container, as ``exec`` does, with the probe's timeout; exit 0 is a success, anything else (a
timeout, a command that cannot start) a failure. ``record`` is docker's rule for the result: a success makes the
container ``healthy`` and ends any failing streak; a failure adds to the streak, except while the container is
still ``starting`` within its start period, and ``retries`` failures in a row make it ``unhealthy``. The last
five results are kept, each with its first 4096 bytes of output. During the start period, while it is still
``starting``, probes come every ``start_interval`` instead (``next_interval``, also docker's).

Each new health is handed to the monitor's callback, which writes it into the container's state file: reading
it (``inspect``, ``ps``, a compose ``service_healthy`` poll) is one file read, with nothing to ask of a daemon.
The thread ends with the container's run (the monitor stops it before reaping): a restart starts a new one, the
log kept and the status back to ``starting``.

``record`` and ``next_interval`` are pure; the thread is the only I/O.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from portside.runtime.plain import Plain

MAX_OUTPUT = 4096
MAX_LOG = 5
DEFAULT_INTERVAL = 30 * 10**9  # docker's defaults, in nanoseconds as docker stores them
DEFAULT_TIMEOUT = 30 * 10**9
DEFAULT_START_INTERVAL = 5 * 10**9
DEFAULT_RETRIES = 3
STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"
TIDY_S = 0.5


class HealthConfig(Plain):
    """docker's ``Config.Healthcheck``: ``test`` is ``["CMD", arg...]``, ``["CMD-SHELL", "command"]`` or
    ``["NONE"]``; durations in nanoseconds, 0 for docker's default."""

    __slots__ = ("test", "interval", "timeout", "start_period", "start_interval", "retries")

    def __init__(self, test: tuple[str, ...], interval: int = 0, timeout: int = 0, start_period: int = 0,
                 start_interval: int = 0, retries: int = 0) -> None:
        self.test, self.interval, self.timeout = tuple(test), interval, timeout
        self.start_period, self.start_interval, self.retries = start_period, start_interval, retries

    @property
    def argv(self) -> list[str]:
        """The command to exec, or [] when there is no probe (``NONE``, or no test at all)."""
        kind, args = (self.test[0], list(self.test[1:])) if self.test else ("NONE", [])
        if kind == "CMD-SHELL" and args:
            return ["/bin/sh", "-c", " ".join(args)]
        return args if kind == "CMD" else []

    @classmethod
    def from_json(cls, d: dict) -> HealthConfig:
        return cls(tuple(d.get("Test") or ()), d.get("Interval", 0), d.get("Timeout", 0), d.get("StartPeriod", 0),
                   d.get("StartInterval", 0), d.get("Retries", 0))

    def to_json(self) -> dict:
        out = {"Test": list(self.test)}
        for key, value in (("Interval", self.interval), ("Timeout", self.timeout),
                           ("StartPeriod", self.start_period), ("StartInterval", self.start_interval),
                           ("Retries", self.retries)):
            if value:
                out[key] = value
        return out


class ProbeResult(Plain):
    __slots__ = ("start", "end", "exit_code", "output")

    def __init__(self, start: str, end: str, exit_code: int, output: str) -> None:
        self.start, self.end, self.exit_code, self.output = start, end, exit_code, output

    @classmethod
    def from_json(cls, d: dict) -> ProbeResult:
        return cls(d.get("Start", ""), d.get("End", ""), d.get("ExitCode", 0), d.get("Output", ""))

    def to_json(self) -> dict:
        return {"Start": self.start, "End": self.end, "ExitCode": self.exit_code, "Output": self.output}


class Health(Plain):
    """docker's ``State.Health``."""

    __slots__ = ("status", "failing_streak", "log")

    def __init__(self, status: str = STARTING, failing_streak: int = 0, log: tuple[ProbeResult, ...] = ()) -> None:
        self.status, self.failing_streak, self.log = status, failing_streak, tuple(log)

    def restarted(self) -> Health:
        """A new run: starting again, the log kept (as docker does)."""
        return Health(STARTING, 0, self.log)

    @classmethod
    def from_json(cls, d: dict) -> Health:
        return cls(d.get("Status", STARTING), d.get("FailingStreak", 0),
                   tuple(ProbeResult.from_json(r) for r in d.get("Log") or ()))

    def to_json(self) -> dict:
        return {"Status": self.status, "FailingStreak": self.failing_streak, "Log": [r.to_json() for r in self.log]}


def record(health: Health, result: ProbeResult, config: HealthConfig, in_start_period: bool) -> Health:
    """The health after ``result`` (docker's rule, see the module docstring)."""
    log = (health.log + (result,))[-MAX_LOG:]
    if result.exit_code == 0:
        return Health(HEALTHY, 0, log)
    if health.status == STARTING and in_start_period:
        return Health(health.status, health.failing_streak, log)
    streak = health.failing_streak + 1
    status = UNHEALTHY if streak >= (config.retries or DEFAULT_RETRIES) else health.status
    return Health(status, streak, log)


def next_interval(config: HealthConfig, elapsed_ns: int, status: str) -> int:
    """How long to wait before the next probe, ``elapsed_ns`` after the start (docker's rule: during the start
    period and while ``starting``, the start interval; never past the start period's end)."""
    interval = config.interval or DEFAULT_INTERVAL
    if elapsed_ns >= config.start_period:
        return interval
    remaining = config.start_period - elapsed_ns
    if remaining < interval:
        return remaining
    return (config.start_interval or DEFAULT_START_INTERVAL) if status == STARTING else interval


class Checks(Plain):
    """What a monitor needs to check a container's health: its config, ``current()`` (the health its start
    recorded, which the first result builds on) and ``publish(health)``, which records a new one."""

    __slots__ = ("config", "current", "publish")

    def __init__(self, config: HealthConfig, current: Callable[[], Health], publish: Callable[[Health], None]) -> None:
        self.config, self.current, self.publish = config, current, publish


class Prober:
    """The thread that probes one run of a container. ``execute(argv, stdout_fd, timeout_s)`` runs the test in
    the container and returns its exit code (raising TimeoutError, or a PortsideError when it cannot start);
    ``publish`` gets every new health."""

    def __init__(self, config: HealthConfig, health: Health, execute: Callable[[list[str], int, float], int],
                 publish: Callable[[Health], None], scratch: Path, tidy: Callable[[], None] = lambda: None) -> None:
        """``tidy``: called after each probe and every ``TIDY_S`` between them (the monitor collects what probes
        left to it, see ``process.reap_others``)."""
        import threading  # here: the types above are on every container's start path, the thread is not

        self.config, self.health = config, health
        self.execute, self.publish, self.scratch, self.tidy = execute, publish, scratch, tidy

        self.started = time.monotonic_ns()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="portside-health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ends the thread: at once when idle; a probe under way ends with the container's processes."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while self._idle(next_interval(self.config, self._elapsed(), self.health.status)):
            began = self._elapsed()
            result = self.probe()
            self.tidy()
            if self._stop.is_set():
                return  # the container ended meanwhile: the result says nothing about its health
            self.health = record(self.health, result, self.config, began < self.config.start_period)
            try:
                self.publish(self.health)
            except Exception:  # noqa: BLE001 - a state file that cannot be written now may be written next time
                pass

    def _idle(self, interval_ns: int) -> bool:
        """Wait ``interval_ns``, tidying now and then; False once stopped."""
        deadline = time.monotonic_ns() + interval_ns
        while (left := deadline - time.monotonic_ns()) > 0:
            if self._stop.wait(min(left / 1e9, TIDY_S)):
                return False
            self.tidy()
        return not self._stop.is_set()

    def _elapsed(self) -> int:
        return time.monotonic_ns() - self.started

    def probe(self) -> ProbeResult:
        from portside.runtime.errors import PortsideError
        from portside.runtime.logfile import rfc3339

        start = rfc3339()
        timeout = self.config.timeout or DEFAULT_TIMEOUT
        fd = os.open(self.scratch, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            try:
                code = self.execute(self.config.argv, fd, timeout / 1e9)
                output = _output(fd)
            except TimeoutError:
                code, output = -1, _timed_out(timeout, _output(fd))
            except PortsideError as err:
                code, output = -1, str(err)
        finally:
            os.close(fd)
        return ProbeResult(start, rfc3339(), code, output)


def _output(fd: int) -> str:
    data = os.pread(fd, MAX_OUTPUT + 1, 0)
    text = data[:MAX_OUTPUT].decode(errors="replace")
    return text + "..." if len(data) > MAX_OUTPUT else text


def _timed_out(timeout: int, output: str) -> str:
    from portside.runtime import durations

    message = f"Health check exceeded timeout ({durations.format(timeout)})"
    return f"{message}: {output}" if output else message
