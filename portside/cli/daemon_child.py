"""A child of ``portside daemon``: first a spare waiting in accept(), then the command its client asked for.

The daemon forks it and has already closed, in it, everything of the daemon's own (its selector, the other
children's sockets, its lock). What is left to do here: end with the daemon while idle, prefault while waiting,
take one client, tell the daemon about it, and become the command in the client's place.
"""

from __future__ import annotations

import gc
import io
import logging
import os
import select
import signal
import socket
import sys
from collections.abc import Callable

from portside.cli.daemon_wire import DaemonError, ExitTeller, Request, read_request, tell_exit
from portside.runtime import libc

log = logging.getLogger("portside.daemon")
Serve = Callable[[list[str], str], int]  # (argv, root) -> exit code: the CLI's own dispatcher
PREFAULT_CHUNK = 4096  # objects touched between two looks for a waiting client (a fraction of a millisecond)


def run_child(body: Callable[[], int]) -> None:
    """A child's whole life: ``body`` returns its exit code; nothing of the daemon's own teardown runs."""
    code = 1
    try:
        code = body()
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        flush_stdio()
        os._exit(code)


def spare(listener: socket.socket, report: socket.socket, daemon_pid: int, current: Callable[[Request], bool],
          serve: Serve, root: str) -> int:
    """Wait for a client; check it and its request; then become the command it asks for.

    ``report`` carries ``took``, then ``serve ARGV`` with the client's socket, ``refused`` or ``stale``, to the
    daemon, and later perhaps ``monitor`` (``ExitTeller.hand_over``). ``current`` says whether this daemon's code
    still is what the request's client runs.
    """
    _default_signals()
    _die_with(daemon_pid)
    _prefault(listener)
    conn, _ = listener.accept()
    listener.close()
    report.sendall(b"took")  # the daemon readies the next spare while this one reads the request
    try:
        request, fds = read_request(conn)
    except (DaemonError, OSError, ValueError) as exc:
        log.warning("refused a request: %s", exc)
        report.sendall(b"refused")
        return 1
    if not current(request):
        conn.sendall(b"stale\n")
        report.sendall(b"stale")
        return 0
    summary = " ".join(request.argv[:2]).encode(errors="replace")
    try:
        socket.send_fds(report, [b"serve " + summary], [conn.fileno()])
    except OSError:  # the daemon died after this accept(): the client runs its command itself
        conn.sendall(b"stale\n")
        return 0
    libc.set_parent_death_signal(0)  # a command runs to its end even if the daemon dies meanwhile
    return _become(request, fds, conn, report, serve, root)


def _become(request: Request, fds: list[int], conn: socket.socket, report: socket.socket, serve: Serve,
            root: str) -> int:
    """Take over the client's descriptors, directory, umask and environment, and run its command. The child
    tells the client its exit code itself, just before it ends: waiting for the daemon to reap it would add its
    teardown to the command's time."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    _reopen_stdio()
    os.chdir(request.cwd)
    os.umask(request.umask)
    _take_environment(request.env)
    sys.argv = ["portside", *request.argv]
    from portside.cli import main
    main.report_exit = ExitTeller(conn, report)
    gc.enable()
    try:
        code = serve(request.argv, root)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    flush_stdio()
    tell_exit(conn, code)
    return code


def _take_environment(env: dict[str, str]) -> None:
    """The client's environment in place of ours. Only what differs is changed: each change is a libc call, and a
    client usually runs in the environment the daemon itself was started in."""
    for key in [k for k in os.environ if k not in env]:
        del os.environ[key]
    for key, value in env.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def _default_signals() -> None:
    """A command's own signal handling, not the daemon's (which only records a stop request)."""
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.set_wakeup_fd(-1)


def _die_with(daemon_pid: int) -> None:
    """An idle spare ends with its daemon: otherwise it would go on accepting clients nobody serves."""
    libc.set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != daemon_pid:  # the daemon died before the line above
        os._exit(0)


def _prefault(listener: socket.socket) -> None:
    """Touch what the commands use, so that the copy-on-write faults come now, while waiting, rather than on a
    command's clock. Listing an object's referents takes a reference to each, which writes to its page: for
    every object the collector tracks, that reaches the code, names and constants too (about 9 ms here; the
    objects alone are not enough to make a difference).

    Only while nobody waits: a client that connects meanwhile (the next of commands run back to back) is served
    at once, and its command takes the faults of the pages it touches, fewer than all of them."""
    gc.unfreeze()
    objects = gc.get_objects()
    waiting = select.poll()
    waiting.register(listener, select.POLLIN)
    for start in range(0, len(objects), PREFAULT_CHUNK):
        if waiting.poll(0):
            break
        for obj in objects[start:start + PREFAULT_CHUNK]:
            gc.get_referents(obj)
    del objects
    gc.freeze()


def _reopen_stdio() -> None:
    """New text streams over the client's descriptors, buffered as Python would buffer them for that client
    (line by line on a terminal), instead of the daemon's own."""
    sys.stdin = io.TextIOWrapper(open(0, "rb", closefd=False), errors="surrogateescape")
    sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), errors="surrogateescape",
                                  line_buffering=os.isatty(1), write_through=False)
    sys.stderr = io.TextIOWrapper(open(2, "wb", buffering=0, closefd=False), errors="backslashreplace",
                                  line_buffering=True)


def flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
