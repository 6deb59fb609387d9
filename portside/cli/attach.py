"""Foreground ``run``: copy the container's output to this terminal and forward signals to the container.

The monitor writes into two pipes this process holds; when this process dies the monitor merely stops copying,
so killing a foreground ``run`` never kills its container (docker's detach-by-kill behaves the same).
"""

from __future__ import annotations

import os
import select
import signal
import sys

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def stream(engine, cid: str, handle, out_r: int, err_r: int) -> int:
    _forward_signals(engine, cid)
    sinks = {out_r: 1, err_r: 2}
    while sinks:
        ready, _, _ = select.select(list(sinks), [], [])
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                _write_all(sinks[fd], data)
            else:
                os.close(fd)
                del sinks[fd]
    info = handle.finished()
    handle.close()
    if info is None:
        sys.stderr.write("portside: the container's monitor exited without reporting the exit code\n")
        return 125
    return info.code


def _forward_signals(engine, cid: str) -> None:
    """docker's --sig-proxy: what this process receives, the container receives."""
    def forward(signum: int, _frame) -> None:
        try:
            engine.signal(cid, signal.Signals(signum).name)
        except Exception:
            pass  # already gone: its exit is on the way

    for sig in FORWARDED:
        signal.signal(sig, forward)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BrokenPipeError:
            return
