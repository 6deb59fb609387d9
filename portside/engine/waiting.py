"""docker wait: its three conditions, over the states the containers' monitors write.

A wait is registered first (``Waiting``: the container looked up, its exit note held open, its directory
watched), then answered (``result``): dockerd's handler likewise looks the container up and registers its waiter
before the 200 goes out, so a container that is gone is a 404, and one that ends at any moment after is seen.

What ends a run, for a waiter: the container no longer runs, or its restart policy started it again. dockerd
answers ``not-running`` and ``next-exit`` waiters at a restart too (the container restarts; the waiter has its
exit), so a wait on a ``restart: always`` container returns at its first exit. A restart shows as a new restart
count; a new start by hand, as a new start time. The exit code of that run is in the state while it is
"restarting", and in the container's exit note (``Paths.exit_note``, written at every exit) once the next run
began: the back-off between two runs is short, a waiter may look only after it. A ``--rm`` container's record
is gone before its exit is reported: the note, held open since the registration, still tells it.
"""

from __future__ import annotations

import os
import select
from collections.abc import Callable

from portside.engine.lifecycle import Lifecycle, monitor_alive, read_note
from portside.engine.model import ContainerState
from portside.runtime.errors import ContainerNotFound, InvalidArgument, PortsideError

WAIT_CONDITIONS = ("not-running", "next-exit", "removed")
ABANDON_CHECK_S = 2.0  # how often a wait with a ``gone`` check looks whether its waiter is still there
RECHECK_S = 5.0  # a safety net: a state change or the monitor's end wakes a waiter at once


class WaitAbandoned(PortsideError):
    """The waiter left (``result``'s ``gone``) before the condition held."""


def check_condition(condition: str) -> None:
    if condition not in WAIT_CONDITIONS:
        raise InvalidArgument(f"invalid wait condition {condition!r}: expected not-running, next-exit or removed")


class Waiting:
    """One registered wait; ``result`` blocks until its condition holds, ``close`` must follow."""

    def __init__(self, lifecycle: Lifecycle, cid: str, condition: str) -> None:
        check_condition(condition)
        self.lifecycle, self.cid, self.condition = lifecycle, cid, condition
        self.paths = lifecycle.records.paths(cid)
        self.watch = _watch(self.paths.dir)  # before the first look: no change after it is missed
        self.note = _open_note(self.paths.exit_note)
        self.removed = False
        self.gone: Callable[[], bool] | None = None
        try:
            self.first = lifecycle.state(cid)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
            self.watch = None
        if self.note is not None:
            os.close(self.note)
            self.note = None

    def result(self, gone: Callable[[], bool] | None = None) -> int:
        """The exit code once the condition holds. ``gone``: true once nobody waits any more (a client of the
        Docker API hung up); checked every few seconds, it ends the wait with WaitAbandoned. ContainerNotFound:
        the container was removed meanwhile and its exit code is unknown (it never ran)."""
        self.gone = gone
        if self.condition == "not-running":
            return self._run_end(self.first) if self.first.live else self.first.exit_code
        if self.condition == "next-exit":
            return self._next_exit()
        return self._removal()

    def _run_end(self, state: ContainerState) -> int:
        """The end of the run under way; for a container between two runs of its restart policy, of the next
        one (dockerd counts it as running)."""
        runs, started = state.restart_count, state.started_at
        between = state.status == "restarting"
        while state.live and state.restart_count == runs:
            if state.started_at != started:
                if not between:
                    break  # another run began (a start by hand, after an exit between two looks)
                between, started = False, state.started_at  # the run to wait for began
            self._pause(state)
            state = self._look()
        if not state.live or state.status == "restarting":
            return state.exit_code
        code = read_note(self.note)  # the next run has begun: its exit code was noted
        return state.exit_code if code is None else code

    def _next_exit(self) -> int:
        """The end of the run under way, or of the next one. A run that starts and ends between two looks
        (``docker run`` asks to wait before it starts the container) is told by its new start time."""
        state = self.first
        while not state.live:
            if state.started_at != self.first.started_at or self.removed:
                return state.exit_code
            self._pause(state)
            state = self._look()
        return self._run_end(state)

    def _removal(self) -> int:
        """Until the container is gone; the exit code of its last run (runs may start and end meanwhile: ``docker
        run --rm`` waits for the removal before it starts the container)."""
        state, code = self.first, self.first.exit_code if not self.first.live else 0
        while True:
            try:
                if state.live:
                    code = self._run_end(state)
                else:
                    code = state.exit_code
                    if self.removed or not self.paths.record.exists():
                        return code
                    self._pause(state)
                state = self._look()
            except ContainerNotFound:
                return code

    def _look(self) -> ContainerState:
        """The state now; once the container is gone, an exited state with the noted exit code (ContainerNotFound
        without one)."""
        try:
            return self.lifecycle.state(self.cid)
        except ContainerNotFound:
            code = read_note(self.note)
            if code is None:
                raise
            self.removed = True
            return ContainerState("exited", exit_code=code)

    def _pause(self, state: ContainerState) -> None:
        """Until the state may have changed: a state written or a file deleted in the container's directory, its
        monitor's end (or its process's, when no monitor holds it: the next look adopts it), or a while."""
        fds = [self.watch] if self.watch is not None else []
        pid = state.monitor_pid if monitor_alive(state) else state.pid if state.live else 0
        try:
            pidfd = os.pidfd_open(pid) if pid > 0 else -1
        except ProcessLookupError:
            return
        try:
            timeout = ABANDON_CHECK_S if self.gone is not None else RECHECK_S
            select.select(fds + ([pidfd] if pidfd >= 0 else []), [], [], timeout if fds or pidfd >= 0 else 0.2)
        finally:
            if pidfd >= 0:
                os.close(pidfd)
        if self.watch is not None:
            self.watch.drain()
        if self.gone is not None and self.gone():
            raise WaitAbandoned("nobody waits any more")


def _open_note(path) -> int | None:
    """The exit note, opened (made, if need be) for the whole wait; None when the container's files are gone."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None


def _watch(path):
    """Names changing in the container's directory (its state replaced, its files deleted), not its log's
    appends; None when it cannot be watched: then the waiter looks now and then."""
    from portside.runtime.inotify import FileWatch

    try:
        return FileWatch(path, deletion=True, writes=False)
    except OSError:
        return None
