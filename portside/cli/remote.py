"""The client half of ``portside daemon``: hand this command to the daemon serving ROOT, if one does.

This runs before every container command, so it imports no more than the interpreter already has: the C
modules ``_socket`` and ``_signal`` rather than ``socket`` and ``signal``, whose enum wrappers cost about 4 ms to
import, a quarter of what the whole client takes (and not even ``__future__``: its annotations run as they are). The request format is described in ``daemon_wire.py``. ``call``
returns None whenever the command should simply run in this process instead: no daemon, a stale socket, or a
daemon that declines (its code is older than the files).
"""

import _signal
import _socket
import os
import sys

PROTOCOL = "portside-cli/1"  # daemon_wire.PROTOCOL, copied: importing that module costs what this one saves
RELAYED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1, _signal.SIGUSR2,
           _signal.SIGWINCH)  # the last: a terminal's new size, for ``exec -t``


def call(root: str, args: list[str]) -> int | None:
    path = os.path.join(root, "engine.sock")
    if not os.path.exists(path):
        return None
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        conn.connect(path)
        _send_with_stdio(conn, _frame(args))
    except OSError:  # stale socket, no permission, a daemon stopping: this process can do the work itself
        conn.close()
        return None
    previous = {sig: _signal.signal(sig, lambda signum, _frame: _relay(conn, signum)) for sig in RELAYED}
    code = _wait(conn)
    conn.close()
    if code is None:  # declined: the command runs here after all, with this process's usual signal handling
        for sig, handler in previous.items():
            _signal.signal(sig, handler)
    return code


def _frame(args: list[str]) -> bytes:
    from portside import __version__

    umask = os.umask(0)
    os.umask(umask)
    fields = [PROTOCOL, __version__, os.getcwd(), oct(umask)[2:], str(len(args)), *args,
              *(f"{k}={v}" for k, v in os.environ.items())]
    payload = "\0".join(fields).encode("utf-8", "surrogateescape")
    return len(payload).to_bytes(4, "big") + payload


def _send_with_stdio(conn, frame: bytes) -> None:
    """The frame, with descriptors 0, 1 and 2 attached (a closed one is sent as /dev/null)."""
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            fds.append(os.open(os.devnull, os.O_RDWR))
    rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
    sent = conn.sendmsg([frame], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
    if sent < len(frame):
        conn.sendall(frame[sent:])


def _relay(conn, signum: int) -> None:
    try:
        conn.sendall(f"signal {signum}\n".encode())
    except OSError:
        pass


def _wait(conn) -> int | None:
    """Read until ``exit N`` (the command's code) or ``stale`` (run it here instead)."""
    buffer = b""
    while not buffer.endswith(b"\n"):
        try:
            chunk = conn.recv(64)
        except OSError:
            chunk = b""
        if not chunk:
            sys.stderr.write("portside: the daemon stopped before the command finished; its outcome is unknown\n")
            return 125
        buffer += chunk
    if buffer == b"stale\n":
        return None
    return int(buffer.removeprefix(b"exit ").split(b"\n", 1)[0])
