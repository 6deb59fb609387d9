"""Attaching to a running container: the wire its monitor speaks on ``attach.sock``, and the client's end.

The socket is SOCK_SEQPACKET, so every message arrives whole and needs no length field. A message's first byte
says what it carries, numbered as the channels of Kubernetes' stream protocols, so that the node agent relays a
``kubectl attach`` frame by changing its envelope and nothing else:

- to the monitor: ``STDIN`` bytes for the container's input; ``RESIZE`` a terminal size (rows, then columns, two
  big-endian 16-bit numbers); ``CLOSE_STDIN`` the end of this client's input;
- from the monitor: ``STDOUT`` and ``STDERR`` bytes, as the container writes them from the moment the client
  attached (what came before is in the log). The monitor closes the connection when the container has ended for
  good; the exit code is then recorded, and a client asks the engine for it.

A client may also attach before the container runs, to see its output from the first byte (docker's ``run``
attaches, then starts): it listens on a ``attach-next-*.sock`` of its own in the container's directory (a
``Waiting``), and the next start connects to every such listener and hands the connections to the new monitor as
clients attached from the start (``connect_waiting``).

The sockets live in the container's directory, whose path may exceed the 107 bytes a socket address holds: it is
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
WAITING_PREFIX = "attach-next-"


DEFAULT_DETACH_KEYS = b"\x10\x11"  # Ctrl-P Ctrl-Q, docker's


def resize_message(rows: int, cols: int) -> bytes:
    return bytes([RESIZE]) + struct.pack(">HH", max(0, min(rows, 0xFFFF)), max(0, min(cols, 0xFFFF)))


def parse_resize(payload: bytes) -> tuple[int, int] | None:
    """(rows, columns), or None for a malformed payload (which the monitor ignores)."""
    return struct.unpack(">HH", payload) if len(payload) == 4 else None


def parse_keys(text: str) -> bytes:
    """docker's ``--detach-keys``: comma-separated ``ctrl-X`` or single characters, e.g. ``ctrl-p,ctrl-q``."""
    from portside.runtime.errors import InvalidArgument

    keys = bytearray()
    for part in text.split(","):
        if len(part) == 1:
            keys.append(ord(part))
        elif len(part) == 6 and part.lower().startswith("ctrl-") and 64 <= ord(part[5].upper()) <= 95:
            keys.append(ord(part[5].upper()) - 64)
        else:
            raise InvalidArgument(f"invalid --detach-keys {text!r}: expected keys like ctrl-p,ctrl-q "
                                  f"(ctrl-A..ctrl-Z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_ or one "
                                  f"character each)")
    return bytes(keys)


def split_detach(data: bytes, keys: bytes) -> tuple[bytes, bytes, bool]:
    """(what to send, what to hold back, whether the keys were typed): keys split across two reads still count."""
    if not keys:
        return data, b"", False
    at = data.find(keys)
    if at >= 0:
        return data[:at], b"", True
    for n in range(len(keys) - 1, 0, -1):
        if data.endswith(keys[:n]):
            return data[:-n], data[-n:], False
    return data, b"", False


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

    def finish(self, timeout: float = 10.0) -> None:
        """End this client's messages and wait until the monitor has handled them all: it reads them in order and
        closes the connection at their end (the output sent meanwhile is dropped)."""
        self.sock.shutdown(_socket.SHUT_WR)
        self.sock.settimeout(timeout)
        try:
            while self.receive() is not None:
                pass
        except OSError:
            pass  # the monitor is slow or gone: its own end will tell

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


class Waiting:
    """An attachment to the container's next start: readable (``fileno``) once a start has connected, then
    ``accept`` gives the ``Attachment``. ``close`` removes the listener, whether or not a start came."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"{WAITING_PREFIX}{os.urandom(8).hex()}.sock"
        address = Address(self.path)
        self.sock = seqpacket()
        try:
            self.sock.bind(address.name)
            os.chmod(self.path, 0o600)
            self.sock.listen(1)
        except OSError:
            self.sock.close()
            raise
        finally:
            address.close()
        self.sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def gone(self) -> bool:
        """The container was removed (and its directory with it) while this waited."""
        return not self.path.parent.exists()

    def accept(self) -> Attachment | None:
        """The attachment once a start connected; None before."""
        try:
            fd, _ = self.sock._accept()  # the C method behind socket.accept
        except (BlockingIOError, InterruptedError):
            return None
        return Attachment(_socket.socket(fileno=fd))

    def close(self) -> None:
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def connect_waiting(directory: Path) -> list[_socket.socket]:
    """Connections to the clients waiting for this start (``Waiting``), for the monitor to serve; a listener whose
    client has gone (its process died) is removed."""
    out = []
    try:
        names = [n for n in os.listdir(directory) if n.startswith(WAITING_PREFIX) and n.endswith(".sock")]
    except FileNotFoundError:
        return out
    for name in names:
        address = Address(directory / name)
        sock = seqpacket()
        try:
            sock.connect(address.name)
            out.append(sock)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            try:
                os.unlink(directory / name)
            except FileNotFoundError:
                pass
        finally:
            address.close()
    return out
