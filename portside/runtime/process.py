"""Process plumbing: for the monitor, shedding what it inherited, reaping as a subreaper, leaving a crash note;
for anyone, waiting for a process to end.

The monitor's run in the forked monitor, which has no terminal and must hold nothing of the command that spawned it
(a test's capture pipe, a lock): hence ``isolate`` closes every descriptor it was not told to keep.
"""

from __future__ import annotations

import os
import select
import signal
from pathlib import Path

from portside.runtime import libc


def keep_traceback(path: Path) -> None:
    """The monitor has no terminal: a crash is written next to the bundle, where ``inspect`` users look."""
    import traceback

    try:
        path.write_text(traceback.format_exc())
    except OSError:
        pass


def default_signals() -> None:
    """Every signal back to its default action and none blocked, at the C level.

    A fork keeps the parent's handlers, and not only Python's: an asyncio loop on uvloop (``portside up``) has
    libuv's SIGCHLD handler installed, which in the child writes to a pipe the child no longer has and aborts
    inside malloc, so the monitor hangs at its container's first exit. Python's ``signal.signal`` replaces the
    handler with sigaction whoever installed it. Only the signals the kernel lists as caught or ignored are reset:
    the other sixty-odd already have their default action, and resetting each costs a monitor's start 0.3 ms.
    """
    for sig in _handled_signals():
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                signal.signal(sig, signal.SIG_DFL)
            except (OSError, ValueError):
                pass  # the real-time signals glibc keeps for itself
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def _handled_signals() -> list[int]:
    """The signals with a handler or ignored, whoever set them (``SigCgt`` and ``SigIgn`` in /proc/self/status)."""
    try:
        with open("/proc/self/status", "rb") as f:
            fields = dict(line.split(b":", 1) for line in f.read().splitlines() if line.startswith(b"Sig"))
        mask = int(fields[b"SigCgt"], 16) | int(fields[b"SigIgn"], 16)
    except (OSError, KeyError, ValueError):
        return list(signal.valid_signals())
    return [n for n in range(1, mask.bit_length() + 1) if mask >> (n - 1) & 1]


def isolate(status: int, keep_fds: set[int], among: set[int] | None = None) -> None:
    """Drop the spawner's terminal, pipes and locks: keep only what the monitor itself uses. ``among``: the
    descriptors that were the spawner's (``open_descriptors`` before the monitor opened its own); else all."""
    libc.set_child_subreaper()
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)
    keep = {0, 1, 2, status, *keep_fds}
    for fd in open_descriptors() if among is None else among:
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def open_descriptors() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


def reap(pid: int) -> int:
    """The exit code as docker reports it: the status, or 128 + N for death by signal N."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return 255
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def reap_orphans() -> None:
    """A dying init's descendants are re-parented to us, the subreaper: collect them."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def reap_others(keep: int) -> None:
    """Collect finished children other than ``keep`` (the container's init, which the monitor reaps itself).

    A probe's ``runc exec`` leaves children that end up ours, the subreaper: its short-lived helpers, and the
    probe's own process when runc was killed before it (a probe that timed out while starting). Such a process is
    in the container's PID namespace, and a zombie of it there keeps the container's init from finishing its
    exit, which the monitor waits for: so they are collected as the container runs, not at its end."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == keep:
            return
        try:
            os.waitpid(info.si_pid, 0)
        except ChildProcessError:
            pass


def wait_pid(pid: int, timeout: float | None) -> bool:
    """True once ``pid`` has exited (a pidfd: no polling), False on timeout."""
    if pid <= 0:
        return True
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)
