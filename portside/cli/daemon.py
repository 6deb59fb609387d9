"""``portside daemon``: a warm engine that runs the container and image commands on behalf of the CLI.

Why it exists: ``portside run --rm IMG true`` spends about 20 ms importing the engine before it reaches runc,
a third of the whole command. This process imports those modules once and then serves each command by forking
itself (a fork of a warm interpreter costs about a millisecond), so the command line pays only for the
interpreter and a socket.

The client (``remote.py``) connects to ``ROOT/engine.sock`` and sends its arguments, working directory, umask and
environment, with its stdin, stdout and stderr attached as file descriptors (SCM_RIGHTS). The forked child takes
those over and runs the very same command function the client would have run, so the output goes straight to
the user's terminal and every command behaves as it does without a daemon: the daemon adds no second
implementation. The child's exit code goes back on the socket; signals the client receives are relayed to the
child; a client that dies takes its child with it, just as killing a command kills only that command.

Protocol (one connection per command):
  client -> daemon  one frame: 4-byte big-endian length, then NUL-separated fields
                    PROTOCOL, version, cwd, umask (octal), argc, argv..., then the environment as KEY=VALUE
                    with the three descriptors attached; later lines ``signal N``.
  daemon -> client  ``exit N`` when the command has ended, or ``stale`` when this daemon will not serve (the
                    code on disk changed under it): the client then runs the command itself.

Only the user the daemon runs as may connect: the socket is 0600 and the peer's uid is checked again.
"""

from __future__ import annotations

import fcntl
import gc
import importlib
import io
import logging
import os
import selectors
import signal
import socket
import struct
import sys
import time

from portside import __version__
from portside.cli.flags import HelpRequested, Parser, flag

log = logging.getLogger("portside.daemon")
SOCKET, LOCK = "engine.sock", "engine.sock.lock"
PROTOCOL = "portside-cli/1"
MAX_FRAME = 1 << 20
REQUEST_TIMEOUT_S = 5.0
SHUTDOWN_GRACE_S = 5.0

# What the served commands import: loaded once here, so a forked child starts with them in memory.
PRELOAD = (
    "portside.cli.containers", "portside.cli.container_info", "portside.cli.images", "portside.cli.attach",
    "portside.cli.runopts", "portside.engine.engine", "portside.engine.lifecycle", "portside.engine.create",
    "portside.engine.bundle", "portside.engine.records", "portside.engine.inspect", "portside.runtime.monitor",
    "portside.runtime.net", "portside.image",
)


class DaemonError(Exception):
    pass


class Request:
    """One decoded command request."""

    def __init__(self, version: str, cwd: str, umask: int, argv: list[str], env: dict[str, str]) -> None:
        self.version, self.cwd, self.umask, self.argv, self.env = version, cwd, umask, argv, env

    @classmethod
    def decode(cls, payload: bytes) -> "Request":
        fields = payload.decode("utf-8", "surrogateescape").split("\0")
        if len(fields) < 5 or fields[0] != PROTOCOL:
            raise DaemonError(f"not a {PROTOCOL} request")
        version, cwd, umask, argc = fields[1], fields[2], int(fields[3], 8), int(fields[4])
        argv, env_items = fields[5:5 + argc], fields[5 + argc:]
        if len(argv) != argc:
            raise DaemonError("request truncated")
        env = dict(item.split("=", 1) for item in env_items if "=" in item)
        return cls(version, cwd, umask, argv, env)


def code_fingerprint() -> tuple[float, ...]:
    """The modification times of every portside module this process has loaded: if one changes on disk, a
    child forked from here would run old code, so the daemon stops serving instead."""
    stamps = []
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name.startswith("portside") and path:
            try:
                stamps.append(os.stat(path).st_mtime)
            except OSError:
                stamps.append(-1.0)
    return tuple(stamps)


class Daemon:
    """The accept loop: one thread, a selector over the listener, each client's socket and each child's pidfd.

    Single-threaded on purpose: it forks, and a fork of a process with other threads can inherit a lock some
    thread held.
    """

    def __init__(self, root: str, serve) -> None:
        self.root = root
        self.serve = serve  # (argv, root) -> exit code: the CLI's own dispatcher
        self.path = os.path.join(root, SOCKET)
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, tuple[socket.socket, int]] = {}  # pid -> (client socket, pidfd)
        self.stopping = False
        self.listener: socket.socket | None = None
        self.lock_fd = -1
        self.fingerprint: tuple[float, ...] = ()

    # -- lifecycle -------------------------------------------------------------------------------------------

    def open(self) -> None:
        os.makedirs(self.root, exist_ok=True)
        self.lock_fd = os.open(os.path.join(self.root, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.lock_fd)
            self.lock_fd = -1
            raise DaemonError(f"a daemon already serves {self.root} (it holds {os.path.join(self.root, LOCK)})")
        try:
            os.unlink(self.path)  # a socket left by a daemon that was killed: we hold the lock, it is ours now
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old)
        listener.listen(64)
        listener.setblocking(False)
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, self._accept)
        for name in PRELOAD:
            importlib.import_module(name)
        self.fingerprint = code_fingerprint()
        gc.collect()
        gc.freeze()  # children never touch (and so never copy) the pages of what is loaded now

    def close(self) -> None:
        if self.listener is not None:
            self.selector.unregister(self.listener)
            self.listener.close()
            self.listener = None
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        if self.lock_fd >= 0:
            os.close(self.lock_fd)
            self.lock_fd = -1

    def stop(self) -> None:
        """Stop accepting; the commands already running finish (up to a grace period) before ``run`` returns."""
        if not self.stopping:
            self.stopping = True
            self.close()

    def run(self) -> None:
        deadline = None
        while not self.stopping or self.children:
            if self.stopping and deadline is None:
                deadline = time.monotonic() + SHUTDOWN_GRACE_S
            if deadline is not None and time.monotonic() > deadline:
                for pid in list(self.children):
                    log.warning("command %d still running at shutdown: killed", pid)
                    _kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + SHUTDOWN_GRACE_S
            for key, _ in self.selector.select(timeout=1.0):
                key.data(key.fileobj)

    # -- serving ---------------------------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        try:
            self._handle(conn)
        except (DaemonError, OSError, ValueError) as exc:
            log.warning("refused a request: %s", exc)
            conn.close()

    def _handle(self, conn: socket.socket) -> None:
        conn.setblocking(True)
        conn.settimeout(REQUEST_TIMEOUT_S)
        uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        if uid != os.getuid():
            raise DaemonError(f"peer uid {uid} is not {os.getuid()}")
        payload, fds = _receive(conn)
        try:
            request = Request.decode(payload)
            if request.version != __version__ or code_fingerprint() != self.fingerprint:
                log.warning("portside's code changed on disk since this daemon started: stopping; restart it")
                conn.sendall(b"stale\n")
                conn.close()
                self.stop()
                return
            pid = self._fork(request, fds, conn)
        finally:
            for fd in fds:
                os.close(fd)
        conn.settimeout(None)
        conn.setblocking(False)
        pidfd = os.pidfd_open(pid)
        self.children[pid] = (conn, pidfd)
        self.selector.register(pidfd, selectors.EVENT_READ, lambda _fd, pid=pid: self._reap(pid))
        self.selector.register(conn, selectors.EVENT_READ, lambda c, pid=pid: self._from_client(pid, c))
        log.info("serving %s as pid %d", " ".join(request.argv[:2]), pid)

    def _fork(self, request: Request, fds: list[int], conn: socket.socket) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = self._child(request, fds, conn)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except Exception:
                        pass
                _tell_exit(conn, code)
                os._exit(code)
        return pid

    def _child(self, request: Request, fds: list[int], conn: socket.socket) -> int:
        """In the forked child: become the client's command, then run it. The child tells the client its exit
        code itself, just before it ends: waiting for the daemon to reap it would add its teardown to the
        command's time."""
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.selector.close()
        for conn, pidfd in self.children.values():
            conn.close()
            os.close(pidfd)
        if self.listener is not None:
            self.listener.close()
        os.close(self.lock_fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        _reopen_stdio()
        os.chdir(request.cwd)
        os.umask(request.umask)
        os.environ.clear()
        os.environ.update(request.env)
        sys.argv = ["portside", *request.argv]
        from portside.cli import main
        main.report_exit = lambda code: _tell_exit(conn, code)
        gc.enable()  # what the daemon loaded stays frozen: never scanned, so never copied into this child
        return self.serve(request.argv, self.root)

    def _from_client(self, pid: int, conn: socket.socket) -> None:
        try:
            data = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client died: so does its command, as a killed command would
            self.selector.unregister(conn)
            _kill(pid, signal.SIGKILL)
            return
        for line in data.decode("ascii", "replace").splitlines():
            word, _, number = line.partition(" ")
            if word == "signal" and number.isdigit():
                _kill(pid, int(number))

    def _reap(self, pid: int) -> None:
        conn, pidfd = self.children.pop(pid)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code  # killed by signal N: the shell's 128+N
        try:
            self.selector.unregister(conn)
        except KeyError:
            pass
        _tell_exit(conn, code)  # when the child was killed before it could; else the client has gone
        conn.close()


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


def _reopen_stdio() -> None:
    """New text streams over the client's descriptors, buffered as Python would buffer them for that client
    (line by line on a terminal), instead of the daemon's own."""
    sys.stdin = io.TextIOWrapper(io.open(0, "rb", closefd=False), errors="surrogateescape")
    sys.stdout = io.TextIOWrapper(io.open(1, "wb", closefd=False), errors="surrogateescape",
                                  line_buffering=os.isatty(1), write_through=False)
    sys.stderr = io.TextIOWrapper(io.open(2, "wb", buffering=0, closefd=False), errors="backslashreplace",
                                  line_buffering=True)


def _tell_exit(conn: socket.socket, code: int) -> None:
    try:
        conn.setblocking(True)
        conn.sendall(f"exit {code}\n".encode())
    except OSError:
        pass


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def cmd_daemon(argv: list[str], root: str) -> int:
    from portside.cli.main import fail, serve

    parser = Parser("daemon", "", [flag("--log-level", "log_level", "value", "debug, info (default) or warning")])
    try:
        opts, args = parser.parse(argv)
    except HelpRequested:
        return 0
    if args:
        return fail(f"daemon: takes no arguments, got {args[0]!r}", 2)
    level = (opts["log_level"] or "info").upper()
    if level not in ("DEBUG", "INFO", "WARNING"):
        return fail(f"daemon --log-level: expected debug, info or warning, got {opts['log_level']!r}", 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    daemon = Daemon(root, serve)
    try:
        daemon.open()
    except DaemonError as exc:
        daemon.close()
        return fail(str(exc))
    signal.signal(signal.SIGTERM, lambda *_: daemon.stop())
    signal.signal(signal.SIGINT, lambda *_: daemon.stop())
    sys.stderr.write(f"portside daemon: serving {daemon.path}\n")
    sys.stderr.flush()
    try:
        daemon.run()
    finally:
        daemon.close()
    return 0
