"""The monitor's side of attaching (the wire is in ``attach.py``): clients, the container's input, its terminal.

Theory of operation. Any number of clients may be attached at once. Each gets a copy of the output from the
moment it attached; a client that does not keep up gets its copy queued, and is dropped once ``MAX_QUEUED`` bytes
wait for it, so that it never slows the container or the log. Any client may write to the container's input,
when there is one to write to (the ``sink``):

- a container created with ``open_stdin`` (docker's ``-i``, Kubernetes' ``stdin: true``) reads a pipe whose write
  end this monitor holds for each run, so its stdin stays open with nobody attached and a later client can write
  to it. With ``stdin_once`` the first client to end its input, or to go away having written some, ends it for
  good: the pipe is closed and the container reads end-of-file;
- a container with a terminal (``tty``) reads the terminal runc made for it; this monitor holds the terminal's
  leader end, which is the sink, the one output stream (a terminal has no separate stderr) and where a client's
  resize is set (the kernel turns it into SIGWINCH for the container's foreground process); the last size asked
  for is set again on the terminal of each new run. A terminal's input is never ended for ``stdin_once``: a
  client that goes away has detached, and the shell it left runs on, as with docker and the kubelet.

Input waits in ``pending`` while the container does not read; past ``MAX_QUEUED`` bytes the clients are no
longer read from (backpressure) until it drains. Everything is non-blocking and driven by the monitor's one poll
loop (``Output.pump``): the hub registers its descriptors with the loop's poller and handles their events.
"""

from __future__ import annotations

import _socket
import fcntl
import os
import select
import struct
import termios
from pathlib import Path

from portside.runtime.attach import CLOSE_STDIN, MAX_MESSAGE, RESIZE, STDIN, Address, parse_resize, seqpacket

MAX_QUEUED = 4 << 20
READ, WRITE = select.POLLIN, select.POLLOUT


class _Client:
    __slots__ = ("sock", "queue", "wrote")

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.queue: list[bytes] = []  # messages the socket had no room for yet
        self.wrote = False  # sent input: with stdin_once, its going away ends the container's input


class Hub:
    def __init__(self, stdin_once: bool = False) -> None:
        self.stdin_once = stdin_once
        self.listener: _socket.socket | None = None
        self.clients: dict[int, _Client] = {}
        self.sink, self.owns_sink, self.terminal = -1, False, -1
        self.pending = bytearray()
        self.size: tuple[int, int] | None = None
        self.input_ended = False  # stdin_once: ended for good, across restarts too
        self.poller: select.poll | None = None

    # -- set-up ----------------------------------------------------------------------------------------------

    def listen(self, path: Path) -> None:
        """Serve attachments on ``path`` (a stale socket there, from a monitor that died, is replaced)."""
        path.unlink(missing_ok=True)
        address = Address(path)
        sock = seqpacket()
        try:
            sock.bind(address.name)
            os.chmod(path, 0o600)
            sock.listen(8)
        except OSError:
            sock.close()
            raise
        finally:
            address.close()
        sock.setblocking(False)
        self.listener = sock

    def add(self, fd: int) -> None:
        """A client connected before the container started (the spawner's end of ``attach.pair``)."""
        self._admit(_socket.socket(fileno=fd))

    def start_run(self, sink: int = -1, terminal: int = -1, owns_sink: bool = False) -> None:
        """A run of the container begins: its input goes to ``sink``; ``terminal``, when it has one."""
        self.sink, self.owns_sink, self.terminal = sink, owns_sink, terminal
        if sink >= 0:
            os.set_blocking(sink, False)
        if self.input_ended:
            self._end_input()
        if terminal >= 0 and self.size is not None:
            self._set_size(*self.size)

    def end_run(self) -> None:
        """The run's loop is over: its input and poller go; the clients stay for the next run, if any."""
        if self.owns_sink and self.sink >= 0:
            os.close(self.sink)
        self.sink, self.owns_sink, self.terminal = -1, False, -1
        self.pending.clear()
        self.poller = None

    def watch(self, poller: select.poll) -> None:
        """Take part in ``poller``'s loop (one per run: the monitor polls anew for each)."""
        self.poller = poller
        if self.listener is not None:
            poller.register(self.listener.fileno(), READ)
        self._watch_clients()

    def handles(self, fd: int) -> bool:
        return fd in self.clients or fd == self.sink or (self.listener is not None and fd == self.listener.fileno())

    def close(self) -> None:
        """The container has ended for good: every client sees its connection end. The socket's file stays (a
        connection to it is refused) until the next start replaces it or the container's removal takes it: an
        unlink here would race with ``rm -f`` emptying the directory."""
        for fd in list(self.clients):
            self._drop(fd)
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    # -- events ----------------------------------------------------------------------------------------------

    def handle(self, fd: int, events: int) -> None:
        if self.listener is not None and fd == self.listener.fileno():
            self._accept()
        elif fd in self.clients:
            if events & WRITE:
                self._flush_client(fd)
            if fd in self.clients and events & (READ | select.POLLHUP | select.POLLERR):
                self._receive(fd)
        elif fd == self.sink and events & WRITE:  # a terminal's other events are its output: Output's
            self._flush_input()

    def admit_queued(self) -> None:
        """Accept every connection already queued. Called before each piece of output is logged: a client that
        connected before it was logged then gets it live, and one that connected after finds it in the log, so
        that an attach which replays the log first (docker's ``logs=1``) loses nothing in between."""
        while self.listener is not None and self._accept():
            pass

    def broadcast(self, kind: int, data: bytes) -> None:
        """Output of the container, to every client."""
        for i in range(0, len(data), MAX_MESSAGE):
            message = bytes([kind]) + data[i:i + MAX_MESSAGE]
            for fd in list(self.clients):
                self._send(fd, message)

    def _accept(self) -> bool:
        try:
            fd, _ = self.listener._accept()  # the C method behind socket.accept
        except (BlockingIOError, InterruptedError):
            return False
        except ConnectionAbortedError:
            return True  # that one went; others may wait behind it
        self._admit(_socket.socket(fileno=fd))
        return True

    def _admit(self, sock: _socket.socket) -> None:
        sock.setblocking(False)
        self.clients[sock.fileno()] = _Client(sock)
        if self.poller is not None:
            self.poller.register(sock.fileno(), self._interest(sock.fileno()))

    def _receive(self, fd: int) -> None:
        client = self.clients[fd]
        try:
            message = client.sock.recv(MAX_MESSAGE + 1)
        except BlockingIOError:
            return
        except OSError:
            message = b""
        if not message:
            self._drop(fd)
            return
        kind, payload = message[0], message[1:]
        if kind == STDIN and payload:
            client.wrote = True
            self._write_input(payload)
        elif kind == RESIZE:
            size = parse_resize(payload)
            if size is not None:
                self.size = size
                self._set_size(*size)
        elif kind == CLOSE_STDIN and self.stdin_once:
            self._end_input()

    def _drop(self, fd: int) -> None:
        client = self.clients.pop(fd)
        if self.poller is not None:
            self._unwatch(fd)
        client.sock.close()
        if client.wrote and self.stdin_once:
            self._end_input()

    # -- output to clients -----------------------------------------------------------------------------------

    def _send(self, fd: int, message: bytes) -> None:
        client = self.clients[fd]
        if not client.queue:
            try:
                client.sock.send(message)
                return
            except BlockingIOError:
                pass
            except OSError:
                self._drop(fd)
                return
        client.queue.append(message)
        if sum(map(len, client.queue)) > MAX_QUEUED:
            self._drop(fd)  # it stopped reading: it must not hold the container's output back
        elif self.poller is not None:
            self.poller.register(fd, self._interest(fd))  # registers, or modifies

    def _flush_client(self, fd: int) -> None:
        client = self.clients[fd]
        while client.queue:
            try:
                client.sock.send(client.queue[0])
            except BlockingIOError:
                return
            except OSError:
                self._drop(fd)
                return
            client.queue.pop(0)
        if self.poller is not None:
            self.poller.register(fd, self._interest(fd))  # registers, or modifies

    # -- input to the container ------------------------------------------------------------------------------

    def _write_input(self, data: bytes) -> None:
        if self.sink < 0 or self.input_ended:
            return  # nothing reads input (the container has none, or it was ended): dropped, as docker does
        self.pending += data
        self._flush_input()

    def _flush_input(self) -> None:
        while self.pending and self.sink >= 0:
            try:
                written = os.write(self.sink, self.pending)
            except BlockingIOError:
                break
            except OSError:  # the container closed its end
                self.pending.clear()
                break
            del self.pending[:written]
        if self.poller is not None:
            self._watch_sink()
            self._watch_clients()

    def _end_input(self) -> None:
        if self.terminal >= 0:
            return
        self.input_ended = True
        self.pending.clear()
        if self.owns_sink and self.sink >= 0:
            if self.poller is not None:
                self._unwatch(self.sink)
            os.close(self.sink)
            self.sink, self.owns_sink = -1, False

    def _set_size(self, rows: int, cols: int) -> None:
        if self.terminal >= 0:
            try:
                fcntl.ioctl(self.terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            except OSError:
                pass

    # -- poll interest ---------------------------------------------------------------------------------------

    def _interest(self, fd: int) -> int:
        reading = READ if len(self.pending) < MAX_QUEUED else 0
        return reading | (WRITE if self.clients[fd].queue else 0)

    def _watch_clients(self) -> None:
        for fd in self.clients:
            self.poller.register(fd, self._interest(fd))  # registers, or modifies

    def _watch_sink(self) -> None:
        """The sink is polled for room only while input waits. A terminal's leader is read for output all along
        (``Output`` registered it, and unregisters it at its end): only the room is added or taken away."""
        if self.sink < 0:
            return
        if self.sink == self.terminal:
            try:
                self.poller.modify(self.sink, READ | (WRITE if self.pending else 0))
            except (OSError, KeyError):
                pass  # its output has ended: nothing reads input any more
        elif self.pending:
            self.poller.register(self.sink, WRITE)  # register again: modifies
        else:
            self._unwatch(self.sink)

    def _unwatch(self, fd: int) -> None:
        try:
            self.poller.unregister(fd)
        except KeyError:
            pass
