"""Restart policies (docker's ``--restart``) and the record of one exit that they decide on.

The monitor applies the policy after each exit; ``stop``, ``kill`` and ``rm`` leave a stop marker first, so a
container a user stopped is never brought back (docker's rule for every policy, ``always`` included).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    name: str = "no"  # no | always | unless-stopped | on-failure
    max_retries: int = 0

    def should_restart(self, code: int, restarts: int, stopped: bool) -> bool:
        if stopped or self.name == "no":
            return False
        if self.name == "on-failure":
            return code != 0 and (self.max_retries == 0 or restarts < self.max_retries)
        return True

    def backoff(self, restarts: int) -> float:
        """Docker's shape: 100 ms doubling, capped (here at 2 s, short enough for a test to watch)."""
        return min(0.1 * 2 ** restarts, 2.0)


@dataclass(frozen=True)
class ExitInfo:
    code: int
    oom_killed: bool
    finished_at: str
    restarts: int
    error: str = ""
