"""Exec instances: docker's ``exec create``, ``start``, ``inspect`` and ``resize``, over ``runc exec``.

Theory of operation. ``create`` writes an instance file, ``ROOT/containers/ID/execs/EXEC.json``, in docker's own
inspect shape plus a few private fields (``_``-prefixed), and nothing runs yet. ``start`` claims the instance
(once: a second start is a conflict, as with docker), runs ``runc exec`` with the caller's stdio and waits for it,
recording the process's pid and, at its end, its exit code: 126 for a command that could not start (not found,
not executable, a user the image lacks), as dockerd records it (the reason, CommandNotFound say, is raised). Every change happens under the container's
``execs/lock`` and replaces the file whole, so any process (the Docker API service, a CLI) reads a consistent
instance; the instances live in the container's directory and go with it, as docker's live as long as their
container.

With a terminal (``tty``), the caller's stdio is the follower end of a pseudo-terminal of its own: runc copies it
to and from the terminal it makes in the container, and copies its size at the start and on SIGWINCH. ``resize``
therefore sets that terminal's size (found by its path, so that any process may resize) and signals runc; a
size asked for before the start is kept and set at the start.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import termios
from collections.abc import Callable
from pathlib import Path

from portside.engine.lifecycle import proc_start
from portside.engine.records import Records, read_json, write_atomic
from portside.runtime.errors import (
    CommandNotExecutable,
    CommandNotFound,
    Conflict,
    InvalidArgument,
    NotFound,
    OCIRuntimeError,
    PortsideError,
)
from portside.runtime.plain import Plain
from portside.runtime.runc import Runc, RuncExec

EXEC_ID = re.compile(r"^[0-9a-f]{64}$")
START_FAILED = 126  # dockerd's exit code for an exec that could not start, whatever the reason
DETACHED_ERRORS = {cls.__name__: cls for cls in (CommandNotFound, CommandNotExecutable, Conflict, InvalidArgument,
                                                 OCIRuntimeError)}


class ExecNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No such exec instance: {ref}")  # docker's words
        self.ref = ref


class ExecSpec(Plain):
    """What ``exec create`` asks for: the command and its environment, which streams the caller will attach, a
    terminal, and the keys that detach from it."""

    __slots__ = ("argv", "env", "user", "workdir", "tty", "stdin", "stdout", "stderr", "privileged",
                 "detach_keys")

    def __init__(self, argv: list[str], env: list[str] = (), user: str = "", workdir: str = "", tty: bool = False,
                 stdin: bool = False, stdout: bool = True, stderr: bool = True, privileged: bool = False,
                 detach_keys: str = "") -> None:
        if not argv:
            raise InvalidArgument("No exec command specified")  # docker's words
        self.argv, self.env, self.user, self.workdir = list(argv), list(env), user, workdir
        self.tty, self.stdin, self.stdout, self.stderr = tty, stdin, stdout, stderr
        self.privileged, self.detach_keys = privileged, detach_keys


class Execs:
    """The exec instances of one engine root."""

    def __init__(self, records: Records, runc: Runc, state: Callable[[str], object],
                 allow_privileged: bool = False) -> None:
        """``state``: a container's current state (``Engine.state``, which notices a dead monitor)."""
        self.records, self.runc, self.state = records, runc, state
        self.allow_privileged = allow_privileged

    def create(self, cid: str, spec: ExecSpec) -> str:
        self._check_running(cid)
        if spec.privileged and not self.allow_privileged:
            raise InvalidArgument("Privileged: privileged exec is not allowed by this engine (set "
                                  '"allow_privileged": true in its engine.json to allow it)')
        eid = os.urandom(32).hex()
        directory = self._dir(cid)
        directory.mkdir(exist_ok=True)
        first, *rest = spec.argv
        process = {"tty": spec.tty, "entrypoint": first, "arguments": rest, "privileged": spec.privileged}
        if spec.user:
            process["user"] = spec.user
        instance = {"ID": eid, "Running": False, "ExitCode": None, "ProcessConfig": process,
                    "OpenStdin": spec.stdin, "OpenStderr": spec.stderr, "OpenStdout": spec.stdout,
                    "CanRemove": False, "ContainerID": cid, "DetachKeys": spec.detach_keys, "Pid": 0,
                    "_env": spec.env, "_workdir": spec.workdir, "_started": False, "_size": None,
                    "_terminal": "", "_runc_pid": 0, "_runc_start": ""}
        write_atomic(directory / f"{eid}.json", instance, durable=False)
        return eid

    def inspect(self, eid: str) -> dict:
        """docker's ``GET /exec/ID/json``."""
        instance = self._read(eid)
        if instance["Running"] and not _runc_alive(instance):
            instance["Running"] = False  # whoever ran it died with it: its end was never recorded
        if instance["Running"] and not instance["Pid"]:
            instance["Pid"] = _read_pid(self._pid_file(instance))
        return {k: v for k, v in instance.items() if not k.startswith("_")}

    def start(self, eid: str, stdio: tuple[int, int, int], started: Callable[[int], None] | None = None) -> int:
        """Run the instance's command with ``stdio`` (a terminal's follower end, thrice, for a tty instance) and
        return its exit code. ``started`` is called with the process's pid once it runs (for a detached start,
        which answers then); a command that cannot start raises runc's error (CommandNotFound, ...) instead."""
        instance = self._claim(eid, stdio[0])
        cid = instance["ContainerID"]
        pid_file = self._pid_file(instance)
        waits = started is not None or instance["ProcessConfig"]["tty"]
        watch = _watch(pid_file.parent) if waits else None
        code: int | None = None
        try:
            proc = self._spawn(instance, stdio, pid_file)
            self._change(eid, lambda i: {**i, "_runc_pid": proc.pid, "_runc_start": proc_start(proc.pid)})
            if waits:
                _until_started(proc, pid_file, watch)
                self._started(instance, proc, pid_file, started)
            code = proc.wait()
            return code
        except PortsideError:  # it could not start: runc's reason, or a user the image does not have
            code = START_FAILED
            raise
        finally:
            if watch is not None:
                watch.close()
            self._finish(eid, cid, code, pid_file)

    def _started(self, instance: dict, proc: RuncExec, pid_file: Path, started) -> None:
        """The process runs: runc has its SIGWINCH handler by now, so it is told the size (asked for before, or
        since its spawn) once; then the caller learns the pid."""
        if not os.path.exists(pid_file):
            return  # runc exited without starting it: ``wait`` raises why
        if instance["ProcessConfig"]["tty"]:
            _signal(proc.pid, signal.SIGWINCH)
        if started is not None:
            started(_read_pid(pid_file))

    def start_detached(self, eid: str) -> int:
        """Start the instance in a process of its own, which waits for the command's end and records it: for a
        caller that does not stay (the CLI's ``exec -d``). Returns the command's pid once it runs, or raises why
        it could not start."""
        import json

        r, w = os.pipe()
        middle = os.fork()
        if middle == 0:
            try:
                os.close(r)
                os.setsid()
                if os.fork() == 0:  # nobody's child: it outlives the caller
                    self._wait_detached(eid, w)
            finally:
                os._exit(0)
        os.close(w)
        os.waitpid(middle, 0)
        with os.fdopen(r, "rb") as status:
            line = status.readline()
        message = json.loads(line) if line else {"error": "the exec's waiter died before the command ran"}
        if "started" in message:
            return message["started"]
        raise DETACHED_ERRORS.get(message.get("kind"), OCIRuntimeError)(message["error"])

    def _wait_detached(self, eid: str, status: int) -> None:
        """In the waiter: the command on /dev/null (or a terminal of its own, read and dropped), its start told
        on ``status``, its end recorded."""
        import json
        import threading

        from portside.runtime import process

        process.default_signals()
        process.isolate(status, set())  # /dev/null on 0, 1 and 2; nothing of the caller's kept
        stdio = (0, 1, 2)
        if self._read(eid)["ProcessConfig"]["tty"]:
            import tty

            leader, follower = os.openpty()
            tty.setraw(follower)
            stdio = (follower,) * 3
            threading.Thread(target=_drop_all, args=(leader,), daemon=True).start()

        def started(pid: int) -> None:
            os.write(status, json.dumps({"started": pid}).encode() + b"\n")
        try:
            self.start(eid, stdio, started)
        except PortsideError as exc:
            os.write(status, json.dumps({"error": str(exc), "kind": type(exc).__name__}).encode() + b"\n")

    def resize(self, eid: str, rows: int, cols: int) -> None:
        """The instance's terminal to ``rows`` x ``cols`` (kept for its start when it has not started)."""
        instance = self._change(eid, lambda i: {**i, "_size": [rows, cols]})
        if not instance["_terminal"]:
            return
        try:
            fd = os.open(instance["_terminal"], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return  # the session has ended
        try:
            _set_size(fd, rows, cols)
        finally:
            os.close(fd)
        if instance["_runc_pid"] and _runc_alive(instance):
            _signal(instance["_runc_pid"], signal.SIGWINCH)  # runc copies the size into the container's terminal

    def container_of(self, eid: str) -> str:
        return self._read(eid)["ContainerID"]

    # -- the instance file -----------------------------------------------------------------------------------

    def _dir(self, cid: str) -> Path:
        return self.records.paths(cid).dir / "execs"

    def _path(self, eid: str) -> Path:
        """The instance's file, in whichever container's directory it is."""
        if EXEC_ID.match(eid):
            for path in self.records.containers.glob(f"*/execs/{eid}.json"):
                return path
        raise ExecNotFound(eid)

    def _pid_file(self, instance: dict) -> Path:
        return self._dir(instance["ContainerID"]) / f"{instance['ID']}.pid"

    def _read(self, eid: str) -> dict:
        try:
            return read_json(self._path(eid))
        except FileNotFoundError:
            raise ExecNotFound(eid) from None  # its container was removed meanwhile

    def _change(self, eid: str, change: Callable[[dict], dict]) -> dict:
        """Replace the instance with ``change(current)`` under the container's exec lock; returns the new one. The
        container's removal may take its directory at any point of this (it does not wait for the lock): the exec
        is then gone."""
        path = self._path(eid)
        try:
            fd = os.open(path.parent / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            raise ExecNotFound(eid) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            instance = change(read_json(path))
            write_atomic(path, instance, durable=False)
            return instance
        except FileNotFoundError:
            raise ExecNotFound(eid) from None
        finally:
            os.close(fd)

    # -- starting --------------------------------------------------------------------------------------------

    def _check_running(self, cid: str) -> None:
        """docker's conflicts, in its words: an exec needs a running container."""
        status = self.state(cid).status
        if status == "paused":
            raise Conflict(f"Container {cid} is paused, unpause the container before exec")
        if status != "running":
            raise Conflict(f"Container {cid} is not running")

    def _claim(self, eid: str, terminal_fd: int) -> dict:
        """Mark the instance started (once), with its terminal and the size asked for so far."""
        def claim(instance: dict) -> dict:
            if instance["_started"]:
                verb = "is already running" if instance["Running"] else "has already run"
                raise Conflict(f"Error: Exec command {eid} {verb}")  # docker's words
            self._check_running(instance["ContainerID"])
            terminal = ""
            if instance["ProcessConfig"]["tty"]:
                terminal = os.ttyname(terminal_fd) if os.isatty(terminal_fd) else ""
                if terminal and instance["_size"]:
                    _set_size(terminal_fd, *instance["_size"])
            return {**instance, "_started": True, "Running": True, "_terminal": terminal}
        return self._change(eid, claim)

    def _spawn(self, instance: dict, stdio: tuple[int, int, int], pid_file: Path) -> RuncExec:
        from portside.runtime.spec import ALL_CAPS, resolve_user

        cid, process = instance["ContainerID"], instance["ProcessConfig"]
        user = ""
        if process.get("user"):
            uid, gid, _ = resolve_user(self.records.paths(cid).rootfs, process["user"])
            user = f"{uid}:{gid}"
        return self.runc.spawn_exec(cid, [process["entrypoint"], *process["arguments"]], stdio=stdio,
                                    env=instance["_env"], cwd=instance["_workdir"] or None, user=user or None,
                                    tty=process["tty"], caps=ALL_CAPS if process["privileged"] else (),
                                    pid_file=pid_file)

    def _finish(self, eid: str, cid: str, code: int | None, pid_file: Path) -> None:
        pid = _read_pid(pid_file)
        pid_file.unlink(missing_ok=True)
        try:
            self._change(eid, lambda i: {**i, "Running": False, "ExitCode": code, "Pid": pid,
                                         "_terminal": "", "_runc_pid": 0})
        except ExecNotFound:
            pass  # the container was removed while the command ran


def _until_started(proc: RuncExec, pid_file: Path, watch) -> None:
    """Until runc has written the process's pid (it runs) or runc has exited (it ran, or could not start)."""
    import select

    pidfd = os.pidfd_open(proc.pid)
    try:
        while not pid_file.exists():
            ready = select.select([pidfd] + ([watch] if watch is not None else []), [], [],
                                  None if watch is not None else 0.05)[0]
            if pidfd in ready:
                return
            if watch is not None:
                watch.drain()
    finally:
        os.close(pidfd)


def _drop_all(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass  # EIO: the terminal's other side has closed


def _watch(directory: Path):
    from portside.runtime.inotify import FileWatch

    try:
        return FileWatch(directory)
    except OSError:
        return None


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _runc_alive(instance: dict) -> bool:
    pid = instance["_runc_pid"]
    return not pid or proc_start(pid) == instance["_runc_start"]


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
