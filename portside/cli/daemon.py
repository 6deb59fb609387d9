"""``portside daemon``: a warm engine that runs the container and image commands on behalf of the CLI.

Why it exists: ``portside run --rm IMG true`` spends about 20 ms importing the engine before it reaches runc,
a third of the whole command. This process imports those modules once and serves each command from a fork of
itself, so the command line pays only for the interpreter and a socket.

The client (``remote.py``) connects to ``ROOT/engine.sock`` and sends its arguments, working directory, umask and
environment, with its stdin, stdout and stderr attached as file descriptors (SCM_RIGHTS). A forked child takes
those over and runs the very same command function the client would have run, so the output goes straight to
the user's terminal and every command behaves as it does without a daemon: the daemon adds no second
implementation. The child tells the client its exit code (a foreground ``run`` has its container's monitor tell
it first); signals the client receives are relayed to the child; a client that dies takes its child with it,
just as killing a command kills only that command. Except one: the child serving a foreground ``run`` says, just
before it starts the container, that it is to become its monitor (``monitor`` on its report socket; see
``monitor.start_in_place``); from then on it reads the client's signal lines itself, and outlives its client and
this daemon, as a container outlives ``docker run``.

Serving is preforked, as in unicorn or Apache's prefork: one *spare* child, forked ahead of time, waits in
accept(). The client that connects gets that spare, which hands the client's socket to the daemon (to relay
signals and notice the client's death) and becomes the command. The daemon forks the next spare when that
command ends, when another client is waiting, or a second on, whichever comes first. So the fork, and the page
faults a fresh fork takes as it first writes to the memory it shares with the daemon (about 10 ms of CPU), are
paid between commands rather than on one's clock: a shorter delay put them inside any command slower than it (a
``run`` on a loaded two-core machine takes 100 ms), on the core that command's runc needed. A spare prefaults
only while no client waits: the next of commands run back to back is served at once.

The request format is in ``daemon_wire.py``; what a child does, in ``daemon_child.py``.

Only the user the daemon runs as may connect: the socket is 0600 and the peer's uid is checked again.
"""

from __future__ import annotations

import fcntl
import gc
import importlib
import logging
import os
import select
import selectors
import signal
import socket
import sys
import time
from pathlib import Path

from portside import __version__
from portside.cli import daemon_child
from portside.cli.daemon_wire import HANDED_OVER, DaemonError, tell_exit
from portside.cli.flags import HelpRequested, Parser, flag

log = logging.getLogger("portside.daemon")
SOCKET, LOCK = "engine.sock", "engine.sock.lock"
SHUTDOWN_GRACE_S = 5.0
SPARE_DELAY_S = 1.0

# What the served commands import: loaded once here, so a forked child starts with them in memory.
PRELOAD = (
    "portside.cli.containers", "portside.cli.container_info", "portside.cli.images", "portside.cli.registries",
    "portside.cli.attach",
    "portside.cli.runopts", "portside.engine.engine", "portside.engine.lifecycle", "portside.engine.create",
    "portside.engine.bundle", "portside.engine.records", "portside.engine.model", "portside.engine.inspect",
    "portside.runtime.monitor", "portside.runtime.net", "portside.image", "portside.engine.sandboxes",
    "portside.cli.networks", "portside.engine.networks", "portside.engine.netattach",
)


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
        self.served = False
        self.handed_over = False  # it went on as a container's monitor: no longer a command of ours


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
        self.owner_fd = -1
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
            raise DaemonError(f"a daemon already serves {self.root} (it holds {os.path.join(self.root, LOCK)})") from None
        try:
            os.unlink(self.path)  # a socket left by a daemon that was killed: we hold the lock, it is ours now
        except FileNotFoundError:
            pass
        for name in PRELOAD:
            importlib.import_module(name)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old)
        listener.listen(64)
        self.listener = listener  # blocking: only spares accept, each in its own process
        self._recover()
        self.fingerprint = code_fingerprint()  # of every module a child starts with, the recovery's included
        gc.collect()
        gc.freeze()  # collections here never scan what every child shares
        self._fork_spare()

    def _recover(self) -> None:
        """One look at every container, which reconciles what changed while nobody watched: containers whose
        monitor died are adopted or recorded, and ``always`` ones that were running come back (after a reboot);
        then shared network namespaces whose owner went meanwhile are reclaimed, and the DNS responder of the
        user networks runs again if it was gone."""
        from portside.engine import resolver
        from portside.engine.engine import Engine
        from portside.engine.sandboxes import reclaim

        engine = Engine(Path(self.root))
        try:
            engine.containers(all=True)
            reclaim(engine)
            resolver.sync(Path(self.root), required=False)
        except Exception:  # a broken record must not keep the daemon from serving
            log.exception("recovering the containers of %s", self.root)

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

    def stop_with(self, owner: int) -> None:
        """Stop when process ``owner`` ends: ``portside up`` passes its own pid, so that a daemon it started
        does not outlive it when it is killed outright (SIGKILL gives it no chance to stop the daemon), where
        the next ``up`` would find the root taken by a daemon that no ``down`` stops."""
        try:
            self.owner_fd = os.pidfd_open(owner)
        except ProcessLookupError:
            raise DaemonError(f"daemon --owner: no process {owner}") from None
        self.selector.register(self.owner_fd, selectors.EVENT_READ, self._owner_ended)

    def _owner_ended(self, _fd: int) -> None:
        log.info("the process that owns this daemon ended: stopping")
        self.selector.unregister(self.owner_fd)
        os.close(self.owner_fd)
        self.owner_fd = -1
        self.stop()

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
        while not self.stopping or self._commands():
            if self.stopping and deadline is None:
                deadline = time.monotonic() + SHUTDOWN_GRACE_S
            if deadline is not None and time.monotonic() > deadline:
                for pid in self._commands():
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

    def _commands(self) -> list[int]:
        """The children still ours to wait for: not those that went on as containers' monitors."""
        return [pid for pid, child in self.children.items() if not child.handed_over]

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
            self._drop_inherited()
            listener = self.listener
            daemon_child.run_child(lambda: daemon_child.spare(listener, theirs, daemon_pid, self._current,
                                                              self.serve, self.root))
        theirs.close()
        child = Child(pid, os.pidfd_open(pid), ours)
        self.children[pid] = self.spare = child
        self.selector.register(child.pidfd, selectors.EVENT_READ, lambda _fd: self._reap(child))
        self.selector.register(ours, selectors.EVENT_READ, lambda _sock: self._reported(child))

    def _reported(self, child: Child) -> None:
        """What a spare says: it took a client (so the next spare is due), then that it serves it, refused it
        or found this daemon stale; or nothing, when it died. Later a command may say that it became a
        container's monitor."""
        if child.report.fileno() < 0:  # closed by its reaping earlier in the same round of events
            return
        try:
            message, fds, _, _ = socket.recv_fds(child.report, 4096, 1)
        except OSError:
            message, fds = b"", []
        if self.spare is child:
            self.spare = None
            self._spare_soon()
        if message == b"took":
            return
        if message.startswith(b"serve ") and fds:
            child.served = True  # its report stays open: the command may hand itself over later
            child.conn = socket.socket(fileno=fds[0])
            child.conn.setblocking(False)
            self.selector.register(child.conn, selectors.EVENT_READ, lambda _c: self._from_client(child))
            log.info("serving %s as pid %d", message[6:].decode(errors="replace"), child.pid)
            return
        self.selector.unregister(child.report)
        child.report.close()
        if message == HANDED_OVER:
            self._let_go(child)
        elif child.served:
            pass  # a command's report closes when it ends
        elif message == b"stale":
            log.warning("portside's code changed on disk since this daemon started: stopping; restart it")
            self.stop()
        elif message != b"refused" and not self.stopping:
            log.error("a spare child (pid %d) died before it served anything: stopping", child.pid)
            self.stop()  # something is broken in this process; commands run by themselves meanwhile

    def _drop_inherited(self) -> None:
        """In a new child: close what is the daemon's alone (all but the listener and the child's own report)."""
        for fd in (*self.wake_fds, self.owner_fd):
            if fd >= 0:
                os.close(fd)
        self.selector.close()
        for other in self.children.values():
            for sock in (other.report, other.conn):
                if sock is not None:
                    sock.close()
            os.close(other.pidfd)
        os.close(self.lock_fd)

    def _current(self, request) -> bool:
        """The client runs the code this daemon loaded: same version, no module changed on disk since."""
        return request.version == __version__ and code_fingerprint() == self.fingerprint

    def _spare_soon(self) -> None:
        if self.stopping:
            return
        self.spare_due = time.monotonic() + SPARE_DELAY_S
        if not self.listening:  # a client that connects before then gets a spare at once
            self.selector.register(self.listener, selectors.EVENT_READ, lambda _l: self._ensure_spare())
            self.listening = True

    def _let_go(self, child: Child) -> None:
        """The child went on as its container's monitor (``ExitTeller.hand_over``), which reads the client's
        signals itself and outlives the client."""
        child.handed_over = True
        if child.conn is not None:
            try:
                self.selector.unregister(child.conn)
            except KeyError:
                pass
            child.conn.close()
            child.conn = None

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
            if self._handed_over(child):
                return  # a container's monitor by now, which outlives its client
            self.selector.unregister(child.conn)
            _kill(child.pid, signal.SIGKILL)
            return
        for line in data.decode("ascii", "replace").splitlines():
            word, _, number = line.partition(" ")
            if word == "signal" and number.isdigit():
                _kill(child.pid, int(number))

    def _handed_over(self, child: Child) -> bool:
        """Whether the child has said it became a monitor, reading what it said that the loop has not yet read."""
        if not child.handed_over and child.report.fileno() >= 0 and select.select([child.report], [], [], 0)[0]:
            self._reported(child)
        return child.handed_over

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
            tell_exit(child.conn, code)  # when the child was killed before it could; else the client has gone
            child.conn.close()
            child.conn = None
        if child.served:
            self._ensure_spare()

def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def cmd_daemon(argv: list[str], root: str) -> int:
    from portside.cli.main import fail, serve

    parser = Parser("daemon", "[OPTIONS]", [
        flag("--log-level", "log_level", "value", "debug, info (default) or warning"),
        flag("--owner", "owner", "value", "stop when this process ends (portside up passes its own)", "PID"),
    ])
    try:
        opts, args = parser.parse(argv)
    except HelpRequested:
        return 0
    if args:
        return fail(f"daemon: takes no arguments, got {args[0]!r}", 2)
    level = (opts["log_level"] or "info").upper()
    if level not in ("DEBUG", "INFO", "WARNING"):
        return fail(f"daemon --log-level: expected debug, info or warning, got {opts['log_level']!r}", 2)
    owner = opts["owner"]
    if owner is not None and not (owner.isdigit() and int(owner) > 0):
        return fail(f"daemon --owner: expected a process id, got {owner!r}", 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    daemon = Daemon(root, serve)
    try:
        if owner is not None:
            daemon.stop_with(int(owner))
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
