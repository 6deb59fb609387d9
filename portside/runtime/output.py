"""A container's stdout and stderr, from its FIFOs into the json-file log and, while attached, a foreground CLI.

The FIFOs are opened read-write on the container's side: the container is then itself a reader, so if the monitor
is SIGKILLed a write never raises SIGPIPE in the container; at worst it blocks once 64 KiB are unread. The monitor's
end is non-blocking and polled together with a pidfd of the container's init: when the init has exited, whatever is
still buffered is drained (for at most ``DRAIN_SECONDS``, in case some writer leaked) and the pump returns.

An attached CLI hands its own stdout and stderr: the bytes go straight to its terminal or pipe, with no copy
through the CLI (one process less to wake per chunk, and none at the end). The attachment lasts while the CLI
lives: the monitor polls its end of the CLI's status pipe, which reports an error once nobody reads it, and then
stops writing to the CLI's descriptors (as when they fail: a pipe whose reader left).
"""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

from portside.runtime import logfile

DRAIN_SECONDS = 2.0


class Output:
    def __init__(self, run_dir: Path, log_fd: int, attach: tuple[int, int] | None, attached_by: int = -1) -> None:
        """``attach``: the attached CLI's stdout and stderr; ``attached_by``: the write end of its status pipe."""
        self.run_dir = run_dir
        self.log_fd = log_fd
        self.attach = attach
        self.attached_by = attached_by
        self.readers: dict[int, logfile.Writer] = {}

    def open(self) -> list[int]:
        """Fresh FIFOs; returns the container's ends (stdout, stderr), which the caller closes once runc has them."""
        writers = []
        for stream in ("stdout", "stderr"):
            fifo = self.run_dir / f"{stream}.fifo"
            fifo.unlink(missing_ok=True)
            os.mkfifo(fifo, 0o600)
            self.readers[os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)] = logfile.Writer(self.log_fd, stream)
            writers.append(os.open(fifo, os.O_RDWR))
        return writers

    def reopen(self) -> None:
        """The FIFOs of a container started by an earlier monitor; whatever it wrote since is still buffered."""
        for stream in ("stdout", "stderr"):
            try:
                fd = os.open(self.run_dir / f"{stream}.fifo", os.O_RDONLY | os.O_NONBLOCK)
            except FileNotFoundError:
                continue
            self.readers[fd] = logfile.Writer(self.log_fd, stream)

    def pump(self, pid: int) -> None:
        """Copy output until the process ``pid`` has exited and the FIFOs are drained; close them."""
        poller = select.poll()
        for fd in self.readers:
            poller.register(fd, select.POLLIN)
        pidfd = os.pidfd_open(pid)
        poller.register(pidfd, select.POLLIN)
        watching = self.attach is not None and self.attached_by >= 0
        if watching:
            poller.register(self.attached_by, 0)  # POLLERR alone: the CLI's end is closed, it went away
        deadline = None
        while self.readers:
            timeout = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            events = poller.poll(timeout)
            if not events and deadline is not None:
                break
            for fd, _ in events:
                if fd == pidfd:
                    poller.unregister(pidfd)
                    deadline = time.monotonic() + DRAIN_SECONDS
                elif watching and fd == self.attached_by:
                    poller.unregister(fd)
                    watching = False
                    self.detach()
                else:
                    self._copy(fd, poller)
        os.close(pidfd)
        self.close()

    def close(self) -> None:
        for fd, writer in self.readers.items():
            writer.flush()
            os.close(fd)
        self.readers.clear()

    def detach(self) -> None:
        for fd in self.attach or ():
            os.close(fd)
        self.attach = None

    def _copy(self, fd: int, poller: select.poll) -> None:
        writer = self.readers[fd]
        data = os.read(fd, 65536)
        if not data:
            writer.flush()
            poller.unregister(fd)
            os.close(fd)
            del self.readers[fd]
            return
        writer.feed(data)
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
