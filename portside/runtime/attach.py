"""Attaching to a running container: the wire its monitor speaks on ``attach.sock``, and the client's end.

The socket is SOCK_SEQPACKET, so every message arrives whole and needs no length field. A message's first byte
says what it carries, numbered as the channels of Kubernetes' stream protocols, so that the node agent relays a
``kubectl attach`` frame by changing its envelope and nothing else:

- to the monitor: ``STDIN`` bytes for the container's input; ``RESIZE`` a terminal size (rows, then columns, two
  big-endian 16-bit numbers); ``CLOSE_STDIN`` the end of this client's input;
- from the monitor: ``STDOUT`` and ``STDERR`` bytes, as the container writes them from the moment the client
  attached (what came before is in the log). The monitor closes the connection when the container has ended for
  good; the exit code is then recorded, and a client asks the engine for it.

The socket lives in the container's directory, whose path may exceed the 107 bytes a socket address holds: it is
then reached through a descriptor of the directory (``/proc/self/fd/N/attach.sock``), which the kernel resolves
like any path. Sockets are made with ``_socket``, not ``socket``: its enum wrappers would cost every container's
monitor milliseconds to import.
"""

from __future__ import annotations

import _socket
import os
import struct
from pathlib import Path

from portside.runtime.errors import Conflict

STDIN, STDOUT, STDERR, RESIZE, CLOSE_STDIN = 0, 1, 2, 4, 255
MAX_MESSAGE = 64 * 1024  # bytes of payload per message: well inside a unix socket's send buffer
MAX_ADDRESS = 107


def resize_message(rows: int, cols: int) -> bytes:
    return bytes([RESIZE]) + struct.pack(">HH", max(0, min(rows, 0xFFFF)), max(0, min(cols, 0xFFFF)))


def parse_resize(payload: bytes) -> tuple[int, int] | None:
    """(rows, columns), or None for a malformed payload (which the monitor ignores)."""
    return struct.unpack(">HH", payload) if len(payload) == 4 else None


class Address:
    """A name ``bind`` and ``connect`` accept for ``path``: the path itself when short enough, else the same file
    through a descriptor of its directory, held until ``close``."""

    def __init__(self, path: Path) -> None:
        self.dir_fd = -1
        if len(os.fsencode(path)) <= MAX_ADDRESS:
            self.name = str(path)
        else:
            self.dir_fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            self.name = f"/proc/self/fd/{self.dir_fd}/{path.name}"

    def close(self) -> None:
        if self.dir_fd >= 0:
            os.close(self.dir_fd)
            self.dir_fd = -1


def seqpacket() -> _socket.socket:
    return _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)


def pair() -> tuple[_socket.socket, _socket.socket]:
    """A connected pair: one end for a client, one handed to a monitor as a client attached from the start (a
    foreground ``run -it`` sees the container's first output, which a later connection would miss)."""
    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
    return a, b


class Attachment:
    """The client's end of one attachment. Blocking unless ``setblocking(False)`` is called on ``sock``, as an
    event loop does."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno()

    def send_stdin(self, data: bytes) -> None:
        for i in range(0, len(data), MAX_MESSAGE):
            self.sock.send(bytes([STDIN]) + data[i:i + MAX_MESSAGE])

    def resize(self, rows: int, cols: int) -> None:
        self.sock.send(resize_message(rows, cols))

    def close_stdin(self) -> None:
        self.sock.send(bytes([CLOSE_STDIN]))

    def receive(self) -> tuple[int, bytes] | None:
        """The next (STDOUT or STDERR, bytes); None once the monitor has closed (the container ended)."""
        while True:
            try:
                message = self.sock.recv(MAX_MESSAGE + 1)
            except ConnectionResetError:
                return None
            if not message:
                return None
            if message[0] in (STDOUT, STDERR):
                return message[0], message[1:]

    def close(self) -> None:
        self.sock.close()


def connect(path: Path, cid: str) -> Attachment:
    """An attachment to the running container whose monitor listens on ``path``; Conflict when none listens there
    (it ended meanwhile, or it was started by an engine that did not serve attachments yet)."""
    address = Address(path)
    sock = seqpacket()
    try:
        sock.connect(address.name)
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise Conflict(f"container {cid[:12]} takes no attachments: it has just ended, or it was started before "
                       f"this engine served them (restart it)") from None
    finally:
        address.close()
    return Attachment(sock)
