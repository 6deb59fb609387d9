"""A container's stdout and stderr, from its FIFOs into the json-file log and, while attached, a foreground CLI.

The FIFOs are opened read-write on the container's side: the container is then itself a reader, so if the monitor
is SIGKILLed a write never raises SIGPIPE in the container; at worst it blocks once 64 KiB are unread. The monitor's
end is non-blocking and polled together with a pidfd of the container's init: when the init has exited, whatever is
still buffered is drained (for at most ``DRAIN_SECONDS``, in case some writer leaked) and the pump returns.

A container with a terminal has one stream instead of two: the terminal's leader end (``open_terminal``), logged as
stdout; a read there fails with EIO once the container's side is closed, which is its end of output. The same poll
loop serves the attached clients of ``hub.py``, which gets a copy of every byte.

A foreground ``run`` hands its own stdout and stderr: the bytes go straight to its terminal or pipe, with no copy
through the CLI (one process less to wake per chunk, and none at the end). That attachment lasts while the CLI
lives: the monitor polls its end of the CLI's status pipe, which reports an error once nobody reads it, and then
stops writing to the CLI's descriptors (as when they fail: a pipe whose reader left).
"""

from __future__ import annotations

import errno
import os
import select
import time
from pathlib import Path

from portside.runtime import logfile
from portside.runtime.attach import STDERR, STDOUT

DRAIN_SECONDS = 2.0


class Output:
    def __init__(self, run_dir: Path, log: logfile.Sink, attach: tuple[int, int] | None, hub=None,
                 attached_by: int = -1, caller=None) -> None:
        """``log``: where entries go (rotating as configured); ``attach``: a foreground CLI's own (stdout, stderr);
        ``hub``: the attached clients (a ``Hub``); ``attached_by``: the write end of that CLI's status pipe; or
        ``caller``, when that CLI's process became the monitor: its client's connection, which takes part in the
        loop as the hub does (``watch``, ``handles``, ``handle``)."""
        self.run_dir = run_dir
        self.log = log
        self.attach = attach
        self.hub = hub
        self.attached_by = attached_by
        self.caller = caller
        self.readers: dict[int, logfile.Writer] = {}
        self.terminal = -1

    def open(self) -> list[int]:
        """Fresh FIFOs; returns the container's ends (stdout, stderr), which the caller closes once runc has them."""
        writers = []
        for stream in ("stdout", "stderr"):
            fifo = self.run_dir / f"{stream}.fifo"
            fifo.unlink(missing_ok=True)
            os.mkfifo(fifo, 0o600)
            self.readers[os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)] = logfile.Writer(self.log, stream)
            writers.append(os.open(fifo, os.O_RDWR))
        return writers

    def open_terminal(self, leader: int) -> None:
        """The container's terminal is its one output stream; closed only at the pump's end (``close``), since
        the hub writes input to it until then."""
        os.set_blocking(leader, False)
        self.terminal = leader
        self.readers[leader] = logfile.Writer(self.log, "stdout")

    def reopen(self) -> None:
        """The FIFOs of a container started by an earlier monitor; whatever it wrote since is still buffered."""
        for stream in ("stdout", "stderr"):
            try:
                fd = os.open(self.run_dir / f"{stream}.fifo", os.O_RDONLY | os.O_NONBLOCK)
            except FileNotFoundError:
                continue
            self.readers[fd] = logfile.Writer(self.log, stream)

    def pump(self, pid: int) -> None:
        """Copy output until the process ``pid`` has exited and its output is drained; close it."""
        poller = select.poll()
        for fd in self.readers:
            poller.register(fd, select.POLLIN)
        pidfd = os.pidfd_open(pid)
        poller.register(pidfd, select.POLLIN)
        if self.hub is not None:
            self.hub.watch(poller)
        if self.caller is not None:
            self.caller.watch(poller)
        watching = self.attach is not None and self.attached_by >= 0
        if watching:
            poller.register(self.attached_by, 0)  # POLLERR alone: the CLI's end is closed, it went away
        deadline = None
        while self.readers or deadline is None:  # a process that closed its output may still read its input
            timeout = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            events = poller.poll(timeout)
            if not events and deadline is not None:
                break
            for fd, event in events:
                if fd == pidfd:
                    poller.unregister(pidfd)
                    deadline = time.monotonic() + DRAIN_SECONDS
                    continue
                if watching and fd == self.attached_by:
                    poller.unregister(fd)
                    watching = False
                    self.detach()
                    continue
                if self.caller is not None and self.caller.handles(fd):
                    self.caller.handle(fd, event)
                    continue
                if self.hub is not None and self.hub.handles(fd):
                    self.hub.handle(fd, event)
                if fd in self.readers and event & ~select.POLLOUT:
                    self._copy(fd, poller)
        os.close(pidfd)
        if self.hub is not None:
            self.hub.end_run()
        self.close()

    def catch_up(self) -> None:
        """Take in what the container wrote while it started, before anyone is told it runs: a client that asks
        for its log right after the start (docker's attach with logs=1 and stream=0 after ``echo hello``) finds
        that there, as dockerd's does. An end of output is left for ``pump`` to see."""
        for fd, writer in list(self.readers.items()):
            while True:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # nothing more for now (EAGAIN), or a terminal's end (EIO)
                    break
                if not data:
                    break
                self._deliver(writer, data)

    def close(self) -> None:
        for fd, writer in self.readers.items():
            writer.flush()
            if fd != self.terminal:
                os.close(fd)
        self.readers.clear()
        if self.terminal >= 0:
            os.close(self.terminal)
            self.terminal = -1

    def detach(self) -> None:
        for fd in self.attach or ():
            os.close(fd)
        self.attach = None

    def _copy(self, fd: int, poller: select.poll) -> None:
        writer = self.readers[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: the terminal's other side is closed, its end of output
            if exc.errno != errno.EIO:
                raise
            data = b""
        if not data:
            writer.flush()
            poller.unregister(fd)
            if fd != self.terminal:
                os.close(fd)
            del self.readers[fd]
            return
        self._deliver(writer, data)

    def _deliver(self, writer: logfile.Writer, data: bytes) -> None:
        if self.hub is not None:
            self.hub.admit_queued()
        writer.feed(data)
        if self.hub is not None:
            self.hub.broadcast(STDOUT if writer.stream == "stdout" else STDERR, data)
        if self.attach is not None:
            try:
                _write_all(self.attach[0 if writer.stream == "stdout" else 1], data)
            except OSError:  # the attached CLI's output went away (a pipe whose reader left): the container carries on
                self.detach()


def _write_all(fd: int, data: bytes) -> None:
    """All of ``data``, also to a descriptor someone else made non-blocking (it is the user's terminal or pipe)."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            select.select([], [fd], [])
