"""``portside daemon``: a warm engine that runs the container and image commands on behalf of the CLI.

Why it exists: ``portside run --rm IMG true`` spends about 20 ms importing the engine before it reaches runc,
a third of the whole command. This process imports those modules once and serves each command from a fork of
itself, so the command line pays only for the interpreter and a socket.

The client (``remote.py``) connects to ``ROOT/engine.sock`` and sends its arguments, working directory, umask and
environment, with its stdin, stdout and stderr attached as file descriptors (SCM_RIGHTS). A forked child takes
those over and runs the very same command function the client would have run, so the output goes straight to
the user's terminal and every command behaves as it does without a daemon: the daemon adds no second
implementation. The child tells the client its exit code; signals the client receives are relayed to the
child; a client that dies takes its child with it, just as killing a command kills only that command.

Serving is preforked, as in unicorn or Apache's prefork: one *spare* child, forked ahead of time, waits in
accept(). The client that connects gets that spare, which hands the client's socket to the daemon (to relay
signals and notice the client's death) and becomes the command. The daemon forks the next spare when that
command ends, when another client is waiting, or 100 ms on, whichever comes first. So the fork, and the page
faults a fresh fork takes as it first writes to the memory it shares with the daemon, are paid between commands
rather than on one's clock.

Protocol (one connection per command):
  client -> spare   one frame: 4-byte big-endian length, then NUL-separated fields
                    PROTOCOL, version, cwd, umask (octal), argc, argv..., then the environment as KEY=VALUE
                    with the three descriptors attached; later lines ``signal N`` (read by the daemon).
  spare -> client   ``exit N`` when the command has ended, or ``stale`` when this daemon will not serve (the
                    code on disk changed under it): the client then runs the command itself.
  spare -> daemon   on a socketpair of its own: ``took`` at accept(), then ``serve ARGV`` with the client's
                    socket attached, ``refused`` or ``stale``.

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
from portside.runtime import libc

log = logging.getLogger("portside.daemon")
SOCKET, LOCK = "engine.sock", "engine.sock.lock"
PROTOCOL = "portside-cli/1"
MAX_FRAME = 1 << 20
REQUEST_TIMEOUT_S = 5.0
SHUTDOWN_GRACE_S = 5.0
SPARE_DELAY_S = 0.1

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


class Child:
    """A forked child: first the spare, then the command it became once a client came."""

    def __init__(self, pid: int, pidfd: int, report: socket.socket) -> None:
        self.pid, self.pidfd, self.report = pid, pidfd, report
        self.conn: socket.socket | None = None  # the client's socket, once the child serves one


class Daemon:
    """The event loop: one thread, a selector over the spare's report socket, each child's pidfd and each
    served client's socket.

    Single-threaded on purpose: it forks, and a fork of a process with other threads can inherit a lock some
    thread held.
    """

    def __init__(self, root: str, serve) -> None:
        self.root = root
        self.serve = serve  # (argv, root) -> exit code: the CLI's own dispatcher
        self.path = os.path.join(root, SOCKET)
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, Child] = {}
        self.spare: Child | None = None
        self.spare_due: float | None = None  # when to fork the next spare, if no event asks for one sooner
        self.listening = False  # the listener is in the selector: a client waits and no spare is there yet
        self.stopping = False
        self.stop_requested = False
        self.wake_fds: tuple[int, ...] = ()
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
        for name in PRELOAD:
            importlib.import_module(name)
        self.fingerprint = code_fingerprint()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old)
        listener.listen(64)
        self.listener = listener  # blocking: only spares accept, each in its own process
        gc.collect()
        gc.freeze()  # collections here never scan what every child shares
        self._fork_spare()

    def close(self) -> None:
        if self.listening:
            self.selector.unregister(self.listener)
            self.listening = False
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        if self.lock_fd >= 0:
            os.close(self.lock_fd)
            self.lock_fd = -1

    def stop_on_signals(self, *signals: int) -> None:
        """Stop at these signals, between two events: a handler running in the middle of one (a fork, say)
        would see the daemon half-changed. The handler only records the request; the wake-up descriptor makes
        ``select`` return so that the loop acts on it."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        self.wake_fds = (wake_r, wake_w)
        signal.set_wakeup_fd(wake_w)
        self.selector.register(wake_r, selectors.EVENT_READ, self._woken)
        for sig in signals:
            signal.signal(sig, self._stop_requested)

    def _stop_requested(self, _signum: int, _frame) -> None:
        self.stop_requested = True

    def _woken(self, wake_r: int) -> None:
        while True:
            try:
                if not os.read(wake_r, 64):
                    break
            except BlockingIOError:
                break
        if self.stop_requested:
            self.stop()

    def stop(self) -> None:
        """Stop accepting; the commands already running finish (up to a grace period) before ``run`` returns."""
        if not self.stopping:
            self.stopping = True
            self.close()
            if self.spare is not None:
                _kill(self.spare.pid, signal.SIGKILL)  # idle in accept(): nothing of it is lost

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
            if self.spare_due is not None and time.monotonic() >= self.spare_due:
                self._ensure_spare()
            wait = 1.0 if self.spare_due is None else max(0.0, self.spare_due - time.monotonic())
            for key, _ in self.selector.select(timeout=wait):
                try:
                    key.data(key.fileobj)
                except Exception:  # one command's trouble must not take the daemon down for the others
                    log.exception("while serving")

    # -- the daemon's side -----------------------------------------------------------------------------------

    def _ensure_spare(self) -> None:
        """A spare, now: when the last command ends, when a client waits, or soon after a command started.

        Not at once when a command starts, because the new spare's prefaulting would take the second core of a
        small machine from that very command."""
        self.spare_due = None
        if self.spare is None and not self.stopping:
            self._fork_spare()
        if self.listening:
            self.selector.unregister(self.listener)
            self.listening = False

    def _fork_spare(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # one message per send
        daemon_pid = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            ours.close()
            _run_child(lambda: self._spare(theirs, daemon_pid))
        theirs.close()
        child = Child(pid, os.pidfd_open(pid), ours)
        self.children[pid] = self.spare = child
        self.selector.register(child.pidfd, selectors.EVENT_READ, lambda _fd: self._reap(child))
        self.selector.register(ours, selectors.EVENT_READ, lambda _sock: self._reported(child))

    def _reported(self, child: Child) -> None:
        """What a spare says: it took a client (so the next spare is due), then that it serves it, refused it
        or found this daemon stale; or nothing, when it died."""
        try:
            message, fds, _, _ = socket.recv_fds(child.report, 4096, 1)
        except OSError:
            message, fds = b"", []
        if self.spare is child:
            self.spare = None
            self._spare_soon()
        if message == b"took":
            return
        self.selector.unregister(child.report)
        child.report.close()
        if message.startswith(b"serve ") and fds:
            child.conn = socket.socket(fileno=fds[0])
            child.conn.setblocking(False)
            self.selector.register(child.conn, selectors.EVENT_READ, lambda _c: self._from_client(child))
            log.info("serving %s as pid %d", message[6:].decode(errors="replace"), child.pid)
        elif message == b"stale":
            log.warning("portside's code changed on disk since this daemon started: stopping; restart it")
            self.stop()
        elif message != b"refused" and not self.stopping:
            log.error("a spare child (pid %d) died before it served anything: stopping", child.pid)
            self.stop()  # something is broken in this process; commands run by themselves meanwhile

    def _spare_soon(self) -> None:
        if self.stopping:
            return
        self.spare_due = time.monotonic() + SPARE_DELAY_S
        if not self.listening:  # a client that connects before then gets a spare at once
            self.selector.register(self.listener, selectors.EVENT_READ, lambda _l: self._ensure_spare())
            self.listening = True

    def _from_client(self, child: Child) -> None:
        if child.conn is None:  # reaped earlier in the same round of events: its socket is closed
            return
        try:
            data = child.conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client died: so does its command, as a killed command would
            self.selector.unregister(child.conn)
            _kill(child.pid, signal.SIGKILL)
            return
        for line in data.decode("ascii", "replace").splitlines():
            word, _, number = line.partition(" ")
            if word == "signal" and number.isdigit():
                _kill(child.pid, int(number))

    def _reap(self, child: Child) -> None:
        del self.children[child.pid]
        self.selector.unregister(child.pidfd)
        os.close(child.pidfd)
        _, status = os.waitpid(child.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code  # killed by signal N: the shell's 128+N
        while child.report.fileno() >= 0:  # what it said before it died, or that it died as a spare
            self._reported(child)
        if child.conn is not None:
            try:
                self.selector.unregister(child.conn)
            except KeyError:
                pass
            _tell_exit(child.conn, code)  # when the child was killed before it could; else the client has gone
            child.conn.close()
            child.conn = None
            self._ensure_spare()

    # -- the child's side ------------------------------------------------------------------------------------

    def _spare(self, report: socket.socket, daemon_pid: int) -> int:
        """Wait for a client; check it and its request; then become the command it asks for."""
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(-1)
        for fd in self.wake_fds:
            os.close(fd)
        self.selector.close()
        for other in self.children.values():
            for sock in (other.report, other.conn):
                if sock is not None:
                    sock.close()
            os.close(other.pidfd)
        os.close(self.lock_fd)
        _die_with(daemon_pid)
        _prefault()
        conn, _ = self.listener.accept()
        self.listener.close()
        report.sendall(b"took")  # the daemon readies the next spare while this one reads the request
        try:
            request, fds = _checked_request(conn)
        except (DaemonError, OSError, ValueError) as exc:
            log.warning("refused a request: %s", exc)
            report.sendall(b"refused")
            return 1
        if request.version != __version__ or code_fingerprint() != self.fingerprint:
            conn.sendall(b"stale\n")
            report.sendall(b"stale")
            return 0
        summary = " ".join(request.argv[:2]).encode(errors="replace")
        try:
            socket.send_fds(report, [b"serve " + summary], [conn.fileno()])
        except OSError:  # the daemon died after this accept(): the client runs its command itself
            conn.sendall(b"stale\n")
            return 0
        report.close()
        libc.set_parent_death_signal(0)  # a command runs to its end even if the daemon dies meanwhile
        return self._become(request, fds, conn)

    def _become(self, request: Request, fds: list[int], conn: socket.socket) -> int:
        """Take over the client's descriptors, directory, umask and environment, and run its command. The
        child tells the client its exit code itself, just before it ends: waiting for the daemon to reap it
        would add its teardown to the command's time."""
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        _reopen_stdio()
        os.chdir(request.cwd)
        os.umask(request.umask)
        os.environ.clear()
        os.environ.update(request.env)
        sys.argv = ["portside", *request.argv]
        from portside.cli import main
        main.report_exit = lambda code: _tell_exit(conn, code)
        gc.enable()
        try:
            code = self.serve(request.argv, self.root)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        _flush_stdio()
        _tell_exit(conn, code)
        return code


def _run_child(body) -> None:
    """A child's whole life: ``body`` returns its exit code; nothing of the daemon's own teardown runs."""
    code = 1
    try:
        code = body()
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        _flush_stdio()
        os._exit(code)


def _die_with(daemon_pid: int) -> None:
    """An idle spare ends with its daemon: otherwise it would go on accepting clients nobody serves."""
    libc.set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != daemon_pid:  # the daemon died before the line above
        os._exit(0)


def _prefault() -> None:
    """Touch what the commands use, so that the copy-on-write faults come now, while waiting, rather than on a
    command's clock. Listing an object's referents takes a reference to each, which writes to its page: for
    every object the collector tracks, that reaches the code, names and constants too (about 9 ms here; the
    objects alone are not enough to make a difference)."""
    gc.unfreeze()
    for obj in gc.get_objects():
        gc.get_referents(obj)
    gc.freeze()


def _checked_request(conn: socket.socket) -> tuple[Request, list[int]]:
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


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


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
    daemon.stop_on_signals(signal.SIGTERM, signal.SIGINT)
    sys.stderr.write(f"portside daemon: serving {daemon.path}\n")
    sys.stderr.flush()
    try:
        daemon.run()
    finally:
        daemon.close()
    return 0
