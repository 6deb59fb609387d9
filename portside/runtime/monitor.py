"""The per-container monitor: the small process that holds a container for its whole life.

Theory of operation. ``spawn`` forks twice (no exec: a fork costs about a millisecond, a fresh interpreter tens)
so the monitor is nobody's child; the spawner reaps the short-lived middle process only when it closes the handle,
so it never waits for it on the way to the container's start. (A spawner that is a command about to end forks
once: the monitor is re-parented when it does.) The monitor resets every signal its spawner handled, starts a new
session, and marks itself child subreaper: when ``runc run --detach`` exits, the container's init is re-parented
to the monitor, which can then wait for it and learn its exit status. The monitor

- gives the container FIFOs as stdout/stderr, opened read-write for the container's side: a container whose
  monitor was SIGKILLed then never dies of SIGPIPE (it is itself a reader), it merely blocks once 64 KiB are
  unread; or, for a container with a terminal (``tty``), receives the terminal runc made (``console.py``) and
  reads that instead;
- appends every line to the json-file log, rotating it past its size limit (``logfile.Sink``), and, while a
  foreground ``run`` is attached, writes the bytes to that CLI's own stdout and stderr (the attachment is
  dropped, not the container, when that CLI goes away);
- serves attachments on ``attach_socket`` (``hub.py``): any number of clients get the output, write to the
  container's stdin when it has one kept open (``open_stdin``: a pipe whose write end the monitor holds) or a
  terminal, and resize that terminal;
- checks the container's health while it runs, when it has a healthcheck (a ``health.Prober`` thread: the
  probes are execs, which take their time, and the output loop must not wait for them); the thread is stopped
  before the init is reaped, so that nothing else reaps a probe's runc;
- after the init exits, reads the cgroup's OOM-kill counter *before* ``runc delete`` removes the cgroup;
- applies the restart policy, or ends: the caller's ``on_release`` frees mount, network and files while ``runc
  delete`` runs, ``on_exit`` records the exit once runc has let go, and only then does an attached ``run`` learn
  the exit code, so that a returning ``run`` finds the container exited and startable again.
- ends a container that removes itself (``report_early``, docker's ``--rm``) the other way round: ``on_forget``
  takes away what others can see or collide with (its name, its record, its network), then the exit is reported,
  and the slow part (waiting for ``runc delete``, the unmount, the files) finishes here after the CLI has gone.
  Nothing reads such a container after its exit, and that part costs a ``run --rm`` a third of its time.

The monitor talks to whoever spawned it through one status pipe of JSON lines: ``{"started": pid}`` or
``{"error": ..., "kind": ...}``, later ``{"exit": code, "oom": bool}``. Host-port reservation sockets handed in
``keep_fds`` stay open here for the container's life.

A monitor that adopts a running container (its own monitor died) serves its output again, but the input and the
terminal were the dead monitor's: such a container's stdin has reached its end, and its terminal has hung up.

A command that would only wait for the exit (a foreground ``run`` served by ``portside daemon``) need not fork a
monitor at all: ``start_in_place`` starts the container from the command's own process, which then goes on as its
monitor (``InPlace.serve``). A fork of a warm Python process costs its child a copy-on-write fault for every page
it writes, and a monitor writes to hundreds before runc even starts: a ``run --rm IMG true`` took 55 ms with the
fork and takes 49 without. The client's connection (``plan.tell``) then stands in for the attached command: its
``signal N`` lines are for the container, its hangup detaches the output.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import time
from collections.abc import Callable
from pathlib import Path

from portside.runtime import errors, libc, logfile, process
from portside.runtime.cgroups import Cgroup
from portside.runtime.errors import PortsideError
from portside.runtime.hub import Hub
from portside.runtime.output import Output
from portside.runtime.plain import Plain
from portside.runtime.restart import ExitInfo, RestartPolicy
from portside.runtime.runc import Runc

__all__ = ["ExitInfo", "Handle", "InPlace", "Plan", "RestartPolicy", "Streams", "spawn", "start_in_place"]


class Plan(Plain):
    """What one monitor runs and whom it tells: the container, its policy, and the caller's callbacks."""

    __slots__ = ("cid", "bundle", "runc", "log_path", "cgroups_path", "restart", "stop_marker", "keep_fds", "attach",
                 "stdin", "on_start", "on_restart", "on_exit", "on_release", "on_forget", "report_early", "adopt_pid",
                 "streams", "tell", "health", "log_limits", "policy")

    def __init__(self, cid: str, bundle: Path, runc: Runc, log_path: Path, cgroups_path: str,
                 restart: RestartPolicy = RestartPolicy(), stop_marker: Path | None = None,
                 keep_fds: tuple[int, ...] = (), attach: tuple[int, int] | None = None,
                 stdin: int | None = None, on_start: Callable[[int, int], None] = lambda pid, monitor_pid: None,
                 on_restart: Callable[[ExitInfo], None] = lambda info: None,
                 on_exit: Callable[[ExitInfo], None] = lambda info: None,
                 on_release: Callable[[], None] = lambda: None,
                 on_forget: Callable[[ExitInfo], None] = lambda info: None, report_early: bool = False,
                 adopt_pid: int = 0, streams: Streams | None = None,
                 tell: tuple[int, Callable[[int], None]] | None = None, health=None,
                 log_limits: tuple[int, int] = (0, 1), policy: Callable[[], RestartPolicy] | None = None) -> None:
        self.cid, self.bundle, self.runc, self.log_path, self.cgroups_path = cid, bundle, runc, log_path, cgroups_path
        self.restart, self.stop_marker, self.keep_fds, self.attach = restart, stop_marker, keep_fds, attach
        self.stdin = stdin  # the spawner's descriptor the container reads (``run -i``); else /dev/null
        self.on_start, self.on_restart, self.on_exit, self.on_release = on_start, on_restart, on_exit, on_release
        self.on_forget = on_forget  # with report_early: what must be gone before the exit is reported
        self.report_early = report_early
        self.adopt_pid = adopt_pid  # a running container whose monitor died: watch it instead of starting it
        # (descriptor, function): told the exit code from here (a daemon's client, waiting on that socket), so the
        # code reaches the user without waking the attached command in between
        self.tell = tell
        self.streams = streams or Streams()
        self.health = health  # a health.Checks: the container's healthcheck, when it has one
        self.log_limits = log_limits  # (max size in bytes, 0 for none; max files): the log's rotation
        self.policy = policy  # the restart policy as it is at an exit (``update`` may change it); None: ``restart``


class Streams(Plain):
    """How a container's stdio is wired beyond the log: a terminal (``tty``), a stdin kept open for attachments
    (``open_stdin``, ended by the first client's end with ``stdin_once``), the socket attachments come to, and
    the clients attached from the start (``clients``: the spawner's end of ``attach.pair``, and the connections to
    the clients waiting for this start, ``attach.connect_waiting``)."""

    __slots__ = ("tty", "open_stdin", "stdin_once", "socket", "clients")

    def __init__(self, tty: bool = False, open_stdin: bool = False, stdin_once: bool = False,
                 socket: Path | None = None, clients: tuple[int, ...] = ()) -> None:
        self.tty, self.open_stdin, self.stdin_once = tty, open_stdin, stdin_once
        self.socket, self.clients = socket, tuple(clients)


class Handle:
    """The spawner's end of the status pipe."""

    def __init__(self, fd: int, intermediate: int = 0) -> None:
        self.file = os.fdopen(fd, "rb")
        self.intermediate = intermediate  # the first fork: gone at once, reaped here rather than waited for

    def started(self) -> int:
        """The container's pid once it runs; raises the start failure (e.g. CommandNotFound) otherwise."""
        msg = self._next()
        if "started" in msg:
            return msg["started"]
        kind = getattr(errors, msg.get("kind", ""), None)
        if not (isinstance(kind, type) and issubclass(kind, errors.OCIRuntimeError)):
            kind = errors.OCIRuntimeError
        raise kind(msg.get("error", "the monitor died before the container started (see bundle/monitor-error)"))

    def finished(self) -> ExitInfo | None:
        msg = self._next()
        return ExitInfo(msg["exit"], msg["oom"], msg["finished_at"], 0) if "exit" in msg else None

    def fileno(self) -> int:
        return self.file.fileno()

    def close(self) -> None:
        self.file.close()
        if self.intermediate:
            try:
                os.waitpid(self.intermediate, 0)
            except ChildProcessError:
                pass
            self.intermediate = 0

    def _next(self) -> dict:
        line = self.file.readline()
        return json.loads(line) if line else {}


def spawn(plan: Plan, spawner_exits: bool = False) -> Handle:
    """Start the monitor (which starts the container); the caller reads ``started()`` from the handle.

    ``spawner_exits``: the caller is a command that ends right after, so the monitor is forked once and simply
    re-parented when it does (a fork less on ``portside run``'s clock). A long-lived caller (the node agent)
    gets the monitor through a middle process, so that it never has a monitor for a child, nor its zombie.
    """
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            process.default_signals()  # first: the spawner's handlers must not run here (see there why)
            os.close(r)
            os.setsid()
            if spawner_exits or os.fork() == 0:
                _run(plan, w)
        finally:
            os._exit(0)
    os.close(w)
    return Handle(r, 0 if spawner_exits else child)


MONITOR_NAME = "portside-mon"


def _name_self() -> None:
    """Name the process for ps, top and pgrep: a monitor is a fork of its spawner, whose command line it keeps
    (a node agent's, say), and would otherwise pass for a second copy of it."""
    with open("/proc/self/comm", "w") as comm:
        comm.write(MONITOR_NAME)


def _run(plan: Plan, status: int) -> None:
    code = 1
    try:
        _settle_in()
        _copy_stdio(plan)
        process.isolate(status, _kept(plan))
        _Monitor(plan, status).loop()
        code = 0
    except BaseException:
        process.keep_traceback(plan.bundle / "monitor-error")
    finally:
        os._exit(code)


def _settle_in() -> None:
    # A monitor lives as long as its container: it collects garbage even when its spawner (a ``portside run``)
    # did not. What it inherited is frozen first, so collections never touch (and copy) the spawner's pages.
    gc.freeze()
    gc.enable()
    _name_self()


def _copy_stdio(plan: Plan) -> None:
    """isolate() puts /dev/null on 0, 1 and 2; copies above them stay (an attached CLI hands its own 1 and 2)."""
    if plan.stdin is not None:
        plan.stdin = os.dup(plan.stdin)
    if plan.attach is not None:
        plan.attach = (os.dup(plan.attach[0]), os.dup(plan.attach[1]))


def _kept(plan: Plan) -> set[int]:
    return {*plan.keep_fds, *(plan.attach or ()), *(() if plan.stdin is None else (plan.stdin,)),
            *plan.streams.clients, *(() if plan.tell is None else (plan.tell[0],))}


def start_in_place(plan: Plan) -> InPlace:
    """Start the container from this process, which is to become its monitor (``InPlace.serve``), with no fork.
    For a command that would only wait for the exit, served for a client that waits on ``plan.tell``. Raises the
    start failure, as ``Handle.started`` does, having closed what it opened: the caller undoes its own steps and
    goes on as the command. On success the container's RUNNING is recorded (``on_start``) before this returns."""
    libc.set_child_subreaper()  # before runc exits: the container's init is re-parented here
    inherited = process.open_descriptors()
    _copy_stdio(plan)
    monitor = _Monitor(plan, status=-1)
    try:
        pid = monitor._start()
    except BaseException:
        monitor.abandon()
        raise
    monitor.begin(pid, first=True)
    return InPlace(monitor, pid, inherited)


class InPlace:
    """A container started by ``start_in_place``, and this process, which is its monitor once ``serve`` is called."""

    def __init__(self, monitor: _Monitor, pid: int, inherited: set[int]) -> None:
        self._monitor, self.pid = monitor, pid
        self._inherited = inherited  # the command's descriptors, from before the monitor opened its own

    def serve(self, forwarded: tuple[int, ...] = ()) -> None:
        """Go on as the container's monitor until it has ended; never returns. ``forwarded``: the signals this
        process takes for the container's (docker's sig-proxy, which the command being replaced did); the
        client's relayed ``signal N`` lines are the container's too."""
        plan, code = self._monitor.plan, 1
        try:
            _settle_in()
            process.isolate(-1, _kept(plan), among=self._inherited)
            self._monitor.forward(forwarded)
            self._monitor.serve(self.pid)
            code = 0
        except BaseException:
            process.keep_traceback(plan.bundle / "monitor-error")
        finally:
            os._exit(code)


def _deleted_here() -> None:
    """``_Monitor._deleting`` once the container was deleted in the monitor itself: nothing to wait for."""


class _Monitor:
    def __init__(self, plan: Plan, status: int) -> None:
        self.plan = plan
        self.status = status
        self.log = logfile.Sink(plan.log_path, *plan.log_limits)
        self.hub = Hub(plan.streams.stdin_once)
        if plan.streams.socket is not None:
            self.hub.listen(plan.streams.socket)
        caller = None
        if status < 0 and plan.tell is not None:  # in place: the client's connection is the attached command's
            caller = _Caller(plan.tell[0], self._signal_container, lambda: self.output.detach())
        self.output = Output(plan.bundle, self.log, plan.attach, self.hub, attached_by=status, caller=caller)
        self._deleting: Callable[[], None] | None = None  # waits for the runc delete under way, if any
        self.running = 0  # the init's pid while it runs (not yet reaped): where forwarded signals go

    def loop(self) -> None:
        """A forked monitor's life: start the container (or adopt it), report, serve it to its end."""
        try:
            pid = self._adopt() if self.plan.adopt_pid else self._start()
        except PortsideError as e:
            self._failed(e, 0)
            return
        self.begin(pid, first=True)
        self.serve(pid)

    def begin(self, pid: int, first: bool) -> None:
        """A run has started: recorded, what it wrote so far logged, and with the first, the clients waiting for
        the start attached (they see its output from the first byte) and the spawner told."""
        self.plan.on_start(pid, os.getpid())
        self.running = pid
        if first:
            for client in self.plan.streams.clients:
                self.hub.add(client)
        self.output.catch_up()
        if first:
            self._send({"started": pid})

    def serve(self, pid: int) -> None:
        """From a started run to the container's end, restarting it as its policy says."""
        restarts = 0
        while True:
            info = self._watch(pid, restarts)
            policy = self.plan.policy() if self.plan.policy is not None else self.plan.restart
            if not policy.should_restart(info.code, restarts, self._stopped()):
                return self._exited(info)
            self._settle()
            self.plan.on_restart(info)
            time.sleep(policy.backoff(restarts))
            if self._stopped():  # stop, kill or rm during the back-off
                return self._exited(info)
            restarts += 1
            try:
                pid = self._start()
            except PortsideError as e:
                if self._stopped():
                    return self._exited(info)  # a stop that cut a restart short: the last run's end stands
                self._failed(e, restarts)
                return
            self.begin(pid, first=False)

    def _watch(self, pid: int, restarts: int) -> ExitInfo:
        """One run, from its start to its reaped end."""
        prober = self._check_health(pid)
        self.output.pump(pid)
        if prober is not None:
            prober.stop()
        self.running = 0  # before the reap: a signal must never reach whatever process gets the pid next
        return self._finish(process.reap(pid), restarts)

    def forward(self, signals: tuple[int, ...]) -> None:
        """These signals, when this process receives them, go to the container's init while it runs."""
        for sig in signals:
            signal.signal(sig, lambda signum, _frame: self._signal_container(signum))

    def _signal_container(self, signum: int) -> None:
        if self.running:
            try:
                os.kill(self.running, signum)
            except ProcessLookupError:
                pass

    def abandon(self) -> None:
        """The start failed in place: close what this monitor opened, for the command to carry on without it."""
        self.hub.close()
        self.log.close()
        for fd in (*(self.plan.attach or ()), *(() if self.plan.stdin is None else (self.plan.stdin,))):
            os.close(fd)

    def _check_health(self, pid: int):
        """The prober of this run (``pid`` its init), started; None without a healthcheck."""
        checks = self.plan.health
        if checks is None or not checks.config.argv:
            return None
        from portside.runtime.health import Prober

        runc, cid = self.plan.runc, self.plan.cid

        def execute(argv: list[str], out: int, timeout: float) -> int:
            with open(os.devnull, "rb") as null:
                return runc.exec(cid, argv, stdio=(null.fileno(), out, out), timeout=timeout)

        prober = Prober(checks.config, checks.current(), execute, checks.publish, self.plan.bundle / "health.out",
                        tidy=lambda: process.reap_others(pid))
        prober.start()
        return prober

    def _stopped(self) -> bool:
        return self.plan.stop_marker is not None and self.plan.stop_marker.exists()

    def _start(self) -> int:
        """FIFOs for stdout/stderr (or a terminal), then one ``runc run --detach``; returns the init's pid."""
        if self.plan.streams.tty:
            return self._start_on_terminal()
        writers = self.output.open()
        stdin_pipe = os.pipe() if self.plan.streams.open_stdin and self.plan.stdin is None else None
        pid_file = self.plan.bundle / "init.pid"
        try:
            with open(os.devnull, "rb") as null:
                stdin = self.plan.stdin if self.plan.stdin is not None else null.fileno()
                stdin = stdin_pipe[0] if stdin_pipe else stdin
                self.plan.runc.run(self.plan.cid, self.plan.bundle, detach=True, stdio=(stdin, *writers),
                                   pid_file=pid_file)
        except BaseException:
            self.output.close()
            if stdin_pipe:
                os.close(stdin_pipe[1])
            raise
        finally:
            for fd in writers + ([stdin_pipe[0]] if stdin_pipe else []):
                os.close(fd)
        if stdin_pipe:
            self.hub.start_run(sink=stdin_pipe[1], owns_sink=True)
        return int(pid_file.read_text())

    def _start_on_terminal(self) -> int:
        """runc makes the terminal and sends its leader end here; stdio of runc itself is /dev/null."""
        from portside.runtime.console import ConsoleSocket  # imports tempfile: not on every run's clock

        pid_file = self.plan.bundle / "init.pid"
        console = ConsoleSocket()
        try:
            with open(os.devnull, "r+b") as null:
                self.plan.runc.run(self.plan.cid, self.plan.bundle, detach=True, stdio=(null.fileno(),) * 3,
                                   pid_file=pid_file, console_socket=console.path)
            leader = console.receive()
        finally:
            console.close()
        self.output.open_terminal(leader)
        self.hub.start_run(sink=leader, terminal=leader)
        return int(pid_file.read_text())

    def _adopt(self) -> int:
        """Take over a running container: drain its FIFOs again. It is not our child, so its exit status will be
        unknown (``reap`` gives 255, docker's value for that case)."""
        self.output.reopen()
        return self.plan.adopt_pid

    def _finish(self, code: int, restarts: int) -> ExitInfo:
        """OOM is read before ``runc delete``, which removes the cgroup and its counter with it."""
        oom = Cgroup(self.plan.cgroups_path).oom_kills() > 0
        process.reap_orphans()  # before runc delete starts: it must not reap that child
        if not self.plan.report_early:  # else after the report: runc's start-up would compete with the CLI's exit
            self._delete()
        adopted = restarts == 0 and self.plan.adopt_pid
        error = "its monitor died while it ran, so its exit status is unknown" if adopted else ""
        return ExitInfo(code, oom, logfile.rfc3339(), restarts, error)

    def _delete(self) -> None:
        self._deleting = self.plan.runc.delete_later(self.plan.cid) or _deleted_here

    def _settle(self) -> None:
        """Wait for the ``runc delete`` started in ``_finish``; cleanup that needs no runc ran meanwhile. A runc
        that gave up on a busy cgroup leaves it behind: removed here, unless the deletion was done in this
        process, which removed every cgroup or else left the work to runc."""
        deleting, self._deleting = self._deleting, None
        if deleting is _deleted_here:
            return
        if deleting is not None:
            deleting()
        Cgroup(self.plan.cgroups_path).remove()

    def _failed(self, error: PortsideError, restarts: int) -> None:
        if restarts == 0:
            self._send({"error": str(error), "kind": type(error).__name__})
            return
        self._exited(ExitInfo(error.exit_code, False, logfile.rfc3339(), restarts, str(error)))

    def _exited(self, info: ExitInfo) -> None:
        if self.plan.report_early:
            try:
                self.plan.on_forget(info)
            finally:
                self._report(info)
                self._delete()
        try:
            self.plan.on_release()  # mount, network, files: in parallel with runc delete
            self._settle()
            self.plan.on_exit(info)  # recorded only once runc has let go, so a new start cannot collide
        finally:
            if not self.plan.report_early:
                self._report(info)

    def _report(self, info: ExitInfo) -> None:
        """Host ports are free again, the output is all written, then whoever waits learns the exit code."""
        for fd in self.plan.keep_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.output.detach()
        self.hub.close()
        if self.plan.tell is not None:
            fd, tell = self.plan.tell
            self.plan.tell = None
            try:
                tell(info.code)
            except Exception:
                pass  # the attached command, told below, tells it too
            os.close(fd)
        self._send({"exit": info.code, "oom": info.oom_killed, "finished_at": info.finished_at})

    def _send(self, message: dict) -> None:
        if self.status < 0:  # in place: nobody spawned this monitor
            return
        try:
            os.write(self.status, (json.dumps(message) + "\n").encode())
        except OSError:
            pass


class _Caller:
    """The client connection of a command that this monitor replaced (``start_in_place``), as the attached command:
    the client relays its signals as ``signal N`` lines, and its hangup means the user's command went away."""

    def __init__(self, fd: int, signal_container: Callable[[int], None], gone: Callable[[], None]) -> None:
        self.fd, self.signal_container, self.gone = fd, signal_container, gone
        self.poller = None
        self.partial = b""
        self.ended = False

    def watch(self, poller) -> None:
        if not self.ended:
            self.poller = poller
            poller.register(self.fd, select.POLLIN)

    def handles(self, fd: int) -> bool:
        return fd == self.fd and not self.ended

    def handle(self, _fd: int, _events: int) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.ended = True
            self.poller.unregister(self.fd)
            self.gone()
            return
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            word, _, number = line.partition(b" ")
            if word == b"signal" and number.isdigit():
                self.signal_container(int(number))
