"""Foreground ``run``: wait for the container's exit code and forward signals to the container.

The monitor writes the container's output to this process's stdout and stderr itself; when this process dies the
monitor notices (its status pipe has no reader any more) and merely stops writing, so killing a foreground ``run``
never kills its container (docker's detach-by-kill behaves the same).
"""

from __future__ import annotations

import signal
import sys

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def wait(handle) -> int:
    info = handle.finished()
    handle.close()
    if info is None:
        sys.stderr.write("portside: the container's monitor exited without reporting the exit code\n")
        return 125
    return info.code


class SignalProxy:
    """docker's --sig-proxy: what this process receives, the container receives. Installed before the container
    starts, since its output (a ``ready`` line, say) may reach whoever signals us before we learn it started; a
    signal that comes before then is delivered once it runs."""

    def __init__(self, engine, cid: str) -> None:
        self.engine, self.cid = engine, cid
        self.pending: list[int] | None = []
        for sig in FORWARDED:
            signal.signal(sig, self._received)

    def started(self) -> None:
        pending, self.pending = self.pending or [], None
        for signum in pending:
            self._forward(signum)

    def _received(self, signum: int, _frame) -> None:
        if self.pending is not None:
            self.pending.append(signum)
        else:
            self._forward(signum)

    def _forward(self, signum: int) -> None:
        try:
            self.engine.signal(self.cid, signal.Signals(signum).name)
        except Exception:
            pass  # already gone: its exit is on the way
