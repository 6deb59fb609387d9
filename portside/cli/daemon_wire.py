"""The request a ``portside`` command hands to the daemon, as both sides read it.

One connection per command. The client sends one frame: a 4-byte big-endian length, then NUL-separated fields
PROTOCOL, version, cwd, umask (octal), argc, argv..., then the environment as KEY=VALUE; the client's stdin,
stdout and stderr ride with its first bytes (SCM_RIGHTS). Later the client may send lines ``signal N``, which the
daemon relays. The answer is one line: ``exit N`` once the command's outcome is known (a foreground ``run``'s
container monitor sends it as soon as the container is gone from view, before the command's own process ends),
or ``stale`` when this daemon will not serve (its code is older than the files on disk), and the client then runs
the command itself.

``remote.py``, the client, writes this format without importing this module (it runs before every command and
imports as little as it can); a test holds the two to the same PROTOCOL.
"""

from __future__ import annotations

import os
import socket
import struct

PROTOCOL = "portside-cli/1"
MAX_FRAME = 1 << 20
REQUEST_TIMEOUT_S = 5.0
HANDED_OVER = b"monitor"  # what a child tells the daemon when it became a container's monitor


class DaemonError(Exception):
    pass


class Request:
    """One decoded command request."""

    def __init__(self, version: str, cwd: str, umask: int, argv: list[str], env: dict[str, str]) -> None:
        self.version, self.cwd, self.umask, self.argv, self.env = version, cwd, umask, argv, env

    @classmethod
    def decode(cls, payload: bytes) -> Request:
        fields = payload.decode("utf-8", "surrogateescape").split("\0")
        if len(fields) < 5 or fields[0] != PROTOCOL:
            raise DaemonError(f"not a {PROTOCOL} request")
        version, cwd, umask, argc = fields[1], fields[2], int(fields[3], 8), int(fields[4])
        argv, env_items = fields[5:5 + argc], fields[5 + argc:]
        if len(argv) != argc:
            raise DaemonError("request truncated")
        env = dict(item.split("=", 1) for item in env_items if "=" in item)
        return cls(version, cwd, umask, argv, env)


def read_request(conn: socket.socket) -> tuple[Request, list[int]]:
    """The request of a client of the daemon's own user, and its three descriptors (the caller closes them)."""
    conn.settimeout(REQUEST_TIMEOUT_S)
    uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
    if uid != os.getuid():
        raise DaemonError(f"peer uid {uid} is not {os.getuid()}")
    payload, fds = _receive(conn)
    try:
        request = Request.decode(payload)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    conn.settimeout(None)
    return request, fds


def _receive(conn: socket.socket) -> tuple[bytes, list[int]]:
    """The request frame and the three descriptors that came with its first bytes."""
    data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise DaemonError(f"expected stdin, stdout and stderr with the request, got {len(fds)} descriptors")
    try:
        while len(data) < 4:
            data += _more(conn)
        size = int.from_bytes(data[:4], "big")
        if size > MAX_FRAME:
            raise DaemonError(f"request of {size} bytes is over the {MAX_FRAME} limit")
        while len(data) < 4 + size:
            data += _more(conn)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return data[4:4 + size], fds


def _more(conn: socket.socket) -> bytes:
    chunk = conn.recv(65536)
    if not chunk:
        raise DaemonError("client closed the connection mid-request")
    return chunk


class ExitTeller:
    """Tells the client its command's exit code, from whichever process learns it first: the child serving the
    command, or (handed over as a descriptor and this function) the monitor of the container a foreground ``run``
    started, so that the client need not wait for the child to wake up and pass it on. A second ``exit`` line
    finds the client gone, and nothing happens.

    ``report`` is the child's socket to the daemon, for ``hand_over``."""

    def __init__(self, conn: socket.socket, report: socket.socket | None = None) -> None:
        self.conn, self.report = conn, report

    def fileno(self) -> int:
        return self.conn.fileno()

    def __call__(self, code: int) -> None:
        tell_exit(self.conn, code)

    def hand_over(self) -> None:
        """This child goes on as its container's monitor (``monitor.InPlace``), which reads the client's ``signal
        N`` lines from the connection itself and outlives the client: the daemon lets go of the connection, no
        longer ends the child when the client goes, and does not wait for it when it stops."""
        if self.report is not None:
            try:
                self.report.sendall(HANDED_OVER)
            except OSError:
                pass  # the daemon is gone: nobody relays or waits anyway
            self.report.close()
            self.report = None


def tell_exit(conn: socket.socket, code: int) -> None:
    try:
        conn.setblocking(True)
        conn.sendall(f"exit {code}\n".encode())
    except OSError:
        pass
