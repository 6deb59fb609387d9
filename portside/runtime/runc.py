"""The one place that runs the ``runc`` binary.

Each call spawns runc with ``--log FILE --log-format json`` so that runc's own complaints never mix with the
container's stdio (which runc passes through), and a failure becomes a portside exception carrying runc's last error
message. Spawning uses ``os.posix_spawn`` rather than ``subprocess``: ``portside run`` is timed against raw runc, and
importing subprocess alone costs about 5 ms.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path

from portside.runtime.errors import CommandNotExecutable, CommandNotFound, ContainerNotFound, OCIRuntimeError
from portside.runtime.process import wait_pid

_counter = itertools.count()


def classify(message: str) -> OCIRuntimeError:
    """Turn runc's error text into the exception docker's exit codes follow (127 not found, 126 cannot exec)."""
    text = message.removeprefix("runc run failed: ").removeprefix("runc create failed: ")
    if "executable file not found" in text or ("exec:" in text and "no such file or directory" in text):
        return CommandNotFound(text)
    if "exec:" in text and ("permission denied" in text or "exec format error" in text):
        return CommandNotExecutable(text)
    if "chdir to cwd" in text:
        return CommandNotExecutable(text)
    return OCIRuntimeError(text)


class Runc:
    """runc bound to one state directory (``--root``), so separate engine roots never see each other's containers."""

    def __init__(self, root: Path, binary: str = "runc") -> None:
        self.root = Path(root)
        self.binary = binary

    def run(self, cid: str, bundle: Path, *, detach: bool, stdio: tuple[int, int, int],
            pid_file: Path | None = None, console_socket: str | None = None) -> int:
        """Create and start in one call. Detached: returns 0 once the container runs. Else: its exit code.
        ``console_socket``: where runc sends the leader end of the terminal it makes for a container whose
        process asks for one (see ``console.py``)."""
        args = ["run", "--bundle", str(bundle)] + (["--detach"] if detach else [])
        args += ["--pid-file", str(pid_file)] if pid_file else []
        args += ["--console-socket", console_socket] if console_socket else []
        return self._call(args + [cid], stdio, check=detach)

    def exec(self, cid: str, argv: list[str], *, stdio: tuple[int, int, int], env: list[str] = (),
             cwd: str | None = None, user: str | None = None, timeout: float | None = None,
             tty: bool = False, started: Callable[[int], None] | None = None) -> int:
        """Run ``argv`` inside a running container with the caller's stdio; returns its exit code.

        With ``timeout``, a process still running after that many seconds is killed (SIGKILL, in the container)
        and TimeoutError raised: a hung probe must not pile up one process per period. With ``tty``, the process
        gets a terminal whose other end is copied to and from ``stdio`` by runc.
        """
        args = ["exec"] + [a for e in env for a in ("--env", e)]
        args += ["--cwd", cwd] if cwd else []
        args += ["--user", user] if user else []
        try:
            return self._exec(cid, args, list(argv), stdio, timeout, tty, started)
        except OCIRuntimeError as exc:
            exc.reported = True  # runc printed it to its stderr: the process's, which is the caller's (or its tty)
            raise

    def _exec(self, cid: str, args: list[str], argv: list[str], stdio: tuple[int, int, int], timeout: float | None,
              tty: bool, started: Callable[[int], None] | None) -> int:
        if tty:
            return self._exec_on_terminal(cid, args, argv, stdio, started)
        if timeout is None:
            return self._call(args + [cid] + argv, stdio, check=False)
        pid_file = self.root / f".exec-{os.getpid()}-{next(_counter)}.pid"
        pid, log = self._spawn(args + ["--pid-file", str(pid_file), cid] + argv, stdio)
        try:
            if not wait_pid(pid, timeout):
                _kill_exec(pid, pid_file)
                try:
                    self._finish(pid, log, args, check=False)
                except OCIRuntimeError:
                    pass  # runc's own word on the kill: the timeout is the news
                raise TimeoutError(f"{argv[0] if argv else 'exec'} did not finish within {timeout:g} s: killed")
            return self._finish(pid, log, args, check=False)
        finally:
            pid_file.unlink(missing_ok=True)

    def _exec_on_terminal(self, cid: str, args: list[str], argv: list[str], stdio: tuple[int, int, int],
                          started: Callable[[int], None] | None) -> int:
        """runc's own foreground terminal: it makes the pseudo-terminal in the container, puts our stdin in raw
        mode when that is a terminal, and copies both ways. It copies our stdin's window size at the start and
        on SIGWINCH, which reaches it from the terminal only when it shares our process group: relayed here, in
        the main thread, in case it does not (a command served by the daemon). ``started`` gets runc's pid, for
        a caller that resizes the terminal itself and then signals runc (the node agent, for ``kubectl``)."""
        import signal
        import threading

        pid, log = self._spawn(args + ["--tty", cid] + argv, (stdio[0], stdio[1], stdio[1]))
        if started is not None:
            started(pid)
        relay = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGWINCH, lambda *_: _signal_quietly(pid, signal.SIGWINCH)) if relay else None
        try:
            return self._finish(pid, log, args, check=False)
        finally:
            if relay:
                signal.signal(signal.SIGWINCH, previous)

    def spawn_exec(self, cid: str, argv: list[str], *, stdio: tuple[int, int, int], env: list[str] = (),
                   cwd: str | None = None, user: str | None = None, tty: bool = False, caps: tuple[str, ...] = (),
                   pid_file: Path | None = None) -> RuncExec:
        """Start ``runc exec`` and return at once: the caller waits (``RuncExec.wait``) while it serves the stdio,
        which runc passes to the process (with ``tty``, runc makes the process a terminal in the container and
        copies it to and from ``stdio``; then ``stdio`` should be a terminal whose size runc copies on SIGWINCH).
        ``pid_file``: where runc writes the process's host pid once it runs."""
        args = ["exec"] + [a for e in env for a in ("--env", e)] + [a for c in caps for a in ("--cap", c)]
        args += ["--cwd", cwd] if cwd else []
        args += ["--user", user] if user else []
        args += ["--tty"] if tty else []
        args += ["--pid-file", str(pid_file)] if pid_file else []
        pid, log = self._spawn(args + [cid] + list(argv), (stdio[0], stdio[1], stdio[1]) if tty else stdio)
        return RuncExec(pid, log, args)

    def kill(self, cid: str, signal: int | str = "TERM", *, all_processes: bool = False) -> None:
        self._call(["kill"] + (["--all"] if all_processes else []) + [cid, str(signal)])

    def pause(self, cid: str) -> None:
        """Freeze every process of the container (the cgroup freezer): they keep their memory, get no CPU."""
        self._call(["pause", cid])

    def resume(self, cid: str) -> None:
        self._call(["resume", cid])

    def update(self, cid: str, *, memory: int | None = None, cpu_quota: int | None = None,
               cpu_period: int | None = None, cpu_shares: int | None = None, pids: int | None = None) -> None:
        """Change a running container's cgroup limits; None leaves one as it is, -1 lifts a memory, quota or pids
        limit."""
        flags = {"--memory": memory, "--cpu-quota": cpu_quota, "--cpu-period": cpu_period,
                 "--cpu-share": cpu_shares, "--pids-limit": pids}
        args = [a for name, value in flags.items() if value is not None for a in (name, str(value))]
        if args:
            self._call(["update", *args, cid])

    def delete(self, cid: str, *, force: bool = False) -> None:
        """Delete runc's record and cgroup; an already deleted container is fine (cleanup is idempotent)."""
        try:
            self._call(["delete"] + (["--force"] if force else []) + [cid])
        except ContainerNotFound:
            pass

    def delete_later(self, cid: str) -> Callable[[], None] | None:
        """Delete a container whose init has been reaped: in this process when ``delete_reaped`` can (then None:
        done, cgroups included), else by a forced ``runc delete`` started now, returning the function that waits
        for it (and swallows "not found")."""
        if self.delete_reaped(cid):
            return None
        with open(os.devnull, "r+b") as null:
            pid, log = self._spawn(["delete", "--force", cid], (null.fileno(),) * 3)

        def wait() -> None:
            try:
                self._finish(pid, log, ["delete", cid], check=True)
            except OCIRuntimeError:
                pass  # already gone, or runc's own complaint: the container is dead either way
        return wait

    def delete_reaped(self, cid: str) -> bool:
        """What ``runc delete`` does for a container in a pid namespace of its own whose init has exited and been
        reaped (so the kernel has killed the rest of the namespace): remove the cgroups runc recorded it made,
        then runc's state directory. No exec of runc on every container's end (a Go binary's start-up costs more
        than this work). False, having changed nothing but emptied cgroups, whenever the state is not that
        simple: a cgroup still busy (its last processes are still dying), hooks, a shared pid namespace; the
        caller then runs ``runc delete --force``, which waits and kills as needed."""
        state_dir = self.root / cid
        try:
            with open(state_dir / "state.json", "rb") as f:
                state = json.loads(f.read())
        except (OSError, ValueError):
            return False
        config = state.get("config") or {}
        own_pid_ns = any(ns.get("type") == "NEWPID" and not ns.get("path") for ns in config.get("namespaces") or [])
        hooks = any((config.get("Hooks") or {}).values())
        if not own_pid_ns or hooks or state.get("intel_rdt_path") or _alive(state.get("init_process_pid", 0)):
            return False
        for path in (state.get("cgroup_paths") or {}).values():
            try:
                os.rmdir(path)
            except FileNotFoundError:
                pass
            except OSError:
                return False
        for name in os.listdir(state_dir):
            os.unlink(state_dir / name)
        os.rmdir(state_dir)
        return True

    def state(self, cid: str) -> dict | None:
        """runc's view (status, pid, bundle), or None when runc has no such container."""
        try:
            out = self._capture(["state", cid])
        except ContainerNotFound:
            return None
        return json.loads(out)

    def list(self) -> list[dict]:
        return json.loads(self._capture(["list", "--format", "json"]) or "null") or []

    def _capture(self, args: list[str]) -> str:
        r, w = os.pipe()
        try:
            with open(os.devnull, "rb") as null:
                pid, log = self._spawn(args, (null.fileno(), w, null.fileno()))
        finally:
            os.close(w)
        with os.fdopen(r, "rb") as out:
            data = out.read()
        self._finish(pid, log, args, check=True)
        return data.decode()

    def _call(self, args: list[str], stdio: tuple[int, int, int] | None = None, *, check: bool = True) -> int:
        if stdio is None:
            with open(os.devnull, "r+b") as null:
                pid, log = self._spawn(args, (null.fileno(),) * 3)
        else:
            pid, log = self._spawn(args, stdio)
        return self._finish(pid, log, args, check=check)

    def _spawn(self, args: list[str], stdio: tuple[int, int, int]) -> tuple[int, Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        log = self.root / f".log-{os.getpid()}-{next(_counter)}"
        argv = [self.binary, "--root", str(self.root), "--log", str(log), "--log-format", "json"] + args
        actions = [(os.POSIX_SPAWN_DUP2, fd, i) for i, fd in enumerate(stdio)]
        try:
            return os.posix_spawnp(self.binary, argv, os.environ, file_actions=actions), log
        except FileNotFoundError:
            raise OCIRuntimeError(f"the OCI runtime {self.binary!r} is not installed (apt-get install runc)") from None

    @staticmethod
    def _finish(pid: int, log: Path, args: list[str], *, check: bool) -> int:
        """runc logs an error only when runc itself failed; a container's own exit code is returned as is."""
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        message = _last_error(log)
        if message:
            raise _error_for(message, args)
        if check and code != 0:
            raise OCIRuntimeError(f"runc {args[0]} exited with {code}")
        return code


class RuncExec:
    """A ``runc exec`` under way: ``pid`` is runc's (which lives as long as the process), ``wait`` its outcome."""

    def __init__(self, pid: int, log: Path, args: list[str]) -> None:
        self.pid, self.log, self.args = pid, log, args

    def wait(self) -> int:
        """The process's exit code; the error runc reported when it could not start it (CommandNotFound for a
        missing command, CommandNotExecutable, ...), which runc also wrote to the process's stderr."""
        try:
            return Runc._finish(self.pid, self.log, self.args, check=False)
        except OCIRuntimeError as exc:
            exc.reported = True
            raise


def _alive(pid: int) -> bool:
    """A process that still runs or is an unreaped zombie: either way, not a container's finished init."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal_quietly(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _kill_exec(runc_pid: int, pid_file: Path) -> None:
    """The exec'd process, by the host pid runc wrote; runc itself when it has not got that far."""
    try:
        target = int(pid_file.read_text())
    except (FileNotFoundError, ValueError):
        target = runc_pid
    try:
        os.kill(target, 9)
    except ProcessLookupError:
        pass
    if target != runc_pid and not wait_pid(runc_pid, 5):
        os.kill(runc_pid, 9)  # the process is gone; runc must not hang on its stdio either


def _error_for(message: str, args: list[str]) -> OCIRuntimeError:
    if "container does not exist" in message:
        return ContainerNotFound(next((a for a in args[1:] if not a.startswith("-")), "?"))
    return classify(message)


def _last_error(log: Path) -> str:
    """runc's last error-level message in its JSON log; the log file is removed either way."""
    try:
        with open(log, "rb") as f:
            lines = f.read().splitlines()
        os.unlink(log)
    except FileNotFoundError:
        return ""
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") in ("error", "fatal"):
            return entry.get("msg", "")
    return ""

