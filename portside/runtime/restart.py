"""Restart policies (docker's ``--restart``) and the record of one exit that they decide on.

The monitor applies the policy after each exit; ``stop``, ``kill`` and ``rm`` leave a stop marker first, so a
container a user stopped is never brought back (docker's rule for every policy, ``always`` included).
"""

from __future__ import annotations

from portside.runtime.plain import Plain


class RestartPolicy(Plain):
    __slots__ = ("name", "max_retries")

    def __init__(self, name: str = "no", max_retries: int = 0) -> None:
        self.name = name  # no | always | unless-stopped | on-failure
        self.max_retries = max_retries

    def should_restart(self, code: int, restarts: int, stopped: bool) -> bool:
        if stopped or self.name == "no":
            return False
        if self.name == "on-failure":
            return code != 0 and (self.max_retries == 0 or restarts < self.max_retries)
        return True

    def backoff(self, restarts: int) -> float:
        """Docker's shape: 100 ms doubling, capped (here at 2 s, short enough for a test to watch)."""
        return min(0.1 * 2 ** restarts, 2.0)


class ExitInfo(Plain):
    __slots__ = ("code", "oom_killed", "finished_at", "restarts", "error")

    def __init__(self, code: int, oom_killed: bool, finished_at: str, restarts: int, error: str = "") -> None:
        self.code, self.oom_killed, self.finished_at, self.restarts, self.error = (
            code, oom_killed, finished_at, restarts, error)
