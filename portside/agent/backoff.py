"""CrashLoopBackOff: how long a container that ended waits before it runs again.

Kubernetes' rule: the first restart after an exit is immediate; each further one waits a delay that starts at
10 s and doubles up to 5 minutes; a container that ran 10 minutes before it ended starts the count afresh. The
base is a parameter so tests can use a short one. Pure data: the pod worker keeps one ``Entry`` per container
and asks ``restart_at`` when it may start it next.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    base: float = 10.0
    cap: float = 300.0
    reset_after: float = 600.0


@dataclass(frozen=True)
class Entry:
    """The delay the next restart waits (0 before the first restart)."""

    delay: float = 0.0


def restart_at(entry: Entry, finished_at: float) -> float:
    """The earliest time (same clock as ``finished_at``) the container may start again."""
    return finished_at + entry.delay


def after_restart(entry: Entry, policy: Policy, ran_for: float) -> Entry:
    """The entry once a restart happened; ``ran_for`` is how long the run that ended had lasted."""
    if ran_for >= policy.reset_after:
        return Entry(policy.base)
    if entry.delay == 0:
        return Entry(policy.base)
    return Entry(min(entry.delay * 2, policy.cap))


def effective(entry: Entry, ran_for: float, policy: Policy) -> Entry:
    """A run that lasted ``reset_after`` clears the back-off: its end restarts at once."""
    return Entry() if ran_for >= policy.reset_after else entry
