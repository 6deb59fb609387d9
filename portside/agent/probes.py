"""Probe accounting with Kubernetes' semantics, pure: a ``Tally`` per probe, fed one result at a time.

A readiness probe starts out failing (a pod is not Ready before its first success), a liveness probe starts out
passing, a startup probe starts out not yet passed. The verdict flips only after ``successThreshold``
consecutive successes or ``failureThreshold`` consecutive failures; a single result in between changes nothing.
Liveness and readiness run only once the startup probe (if any) has passed; a startup or liveness probe that
fails restarts the container.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from portside.api.models import Probe


class Kind(enum.Enum):
    STARTUP = "startup"
    LIVENESS = "liveness"
    READINESS = "readiness"


INITIAL = {Kind.STARTUP: False, Kind.LIVENESS: True, Kind.READINESS: False}


@dataclass(frozen=True)
class Timing:
    initial_delay: float = 0
    period: float = 10
    timeout: float = 1
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def of(cls, probe: Probe) -> Timing:
        """Kubernetes' defaults for every field left out."""
        return cls(probe.initial_delay_seconds or 0, probe.period_seconds or 10, probe.timeout_seconds or 1,
                   probe.success_threshold or 1, probe.failure_threshold or 3)


@dataclass(frozen=True)
class Tally:
    verdict: bool
    successes: int = 0
    failures: int = 0


def start(kind: Kind) -> Tally:
    return Tally(INITIAL[kind])


def record(tally: Tally, ok: bool, timing: Timing) -> Tally:
    """The tally after one more result."""
    if ok:
        successes = tally.successes + 1
        verdict = True if successes >= timing.success_threshold else tally.verdict
        return replace(tally, verdict=verdict, successes=successes, failures=0)
    failures = tally.failures + 1
    verdict = False if failures >= timing.failure_threshold else tally.verdict
    return replace(tally, verdict=verdict, successes=0, failures=failures)


def restarts_container(kind: Kind, tally: Tally, timing: Timing) -> bool:
    """A startup or liveness probe that failed ``failureThreshold`` times in a row ends the run."""
    return kind in (Kind.STARTUP, Kind.LIVENESS) and tally.failures >= timing.failure_threshold
