"""Starting and stopping: the part of the engine that touches processes, mounts and the network.

Theory of operation. ``Lifecycle.start`` mounts the overlay, attaches the network, writes the bundle and spawns
the monitor, registering the undo of each step first: if runc refuses (a missing command, say) every step is undone
and the error raised. The monitor runs a container's ``_Hooks`` (in the monitor process): they record RUNNING with
pids, then EXITED with code and OOM flag, and release the mount and the network. With AutoRemove they delete the
container instead: its name, record and network go before a foreground ``run`` learns the exit code, its runc
state, mount and files just after (the monitor, not the user, waits for those).

A monitor that was SIGKILLed leaves a record saying "running". ``reconcile`` notices (the monitor's pid is gone or
belongs to another process) and asks runc. A container still running is adopted: a new monitor re-opens its
FIFOs (what it wrote meanwhile is still buffered there), logs on and records the end, though with the exit status
unknown (255, as docker reports it), since the container's init is no longer a child of any monitor. One that
already ended is recorded as exited with that same unknown status and cleaned up, and, under an ``always`` or
``unless-stopped`` policy, started again: after a reboot, the first look (``portside daemon`` takes one at its
start) brings such containers back, as dockerd does when it starts.

The collaborators are named at construction (containerd's container service holds its stores the same way):
the records store, the runc wrapper, the containers' networks (``netattach.Networking``) and the image store,
which is built only when first used (importing it costs a ``run --network none`` time it does not need).
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from portside.engine.bundle import write_bundle
from portside.engine.config import log_limits
from portside.engine.model import NO_NETWORK, ContainerRecord, ContainerState
from portside.engine.netattach import Attached, Networking
from portside.engine.records import Paths, Records, append_event, remove_tree
from portside.runtime import monitor, rootfs
from portside.runtime.attach import connect_waiting
from portside.runtime.errors import ContainerNotFound, OCIRuntimeError, PortsideError
from portside.runtime.logfile import rfc3339
from portside.runtime.process import wait_pid
from portside.runtime.runc import Runc
from portside.runtime.state import Event, State, transition

UNKNOWN_EXIT = 255
DEFAULT_STOP_TIMEOUT = 10  # seconds, docker's
KILL_WAIT_S = 10.0  # dockerd's: how long a SIGKILLed container has to be seen ending, before its pid is killed
KILL_FINAL_WAIT_S = 2.0  # and then once more


class Lifecycle:
    """Start, stop, wait for and re-adopt the containers of one engine root."""

    def __init__(self, records: Records, runc: Runc, *, networking: Networking, images: Callable[[], object],
                 cgroups_path: Callable[[str], str], seccomp_cache: Path, caller_exits: bool = False) -> None:
        """``images`` gives the ImageStore when first needed; ``caller_exits``: the caller is a command that ends
        soon after (see ``monitor.spawn``)."""
        self.records, self.runc, self.networking = records, runc, networking
        self._images = images
        self.cgroups_path, self.seccomp_cache, self.caller_exits = cgroups_path, seccomp_cache, caller_exits

    @property
    def images(self):
        return self._images()

    # -- start -----------------------------------------------------------------------------------------------

    def start(self, cid: str, attach: tuple[int, int] | None = None, stdin: int | None = None,
              client: int | None = None, tell: tuple[int, Callable[[int], None]] | None = None,
              in_place: bool = False) -> monitor.Handle | monitor.InPlace:
        """Two concurrent starts of one container would both pass the state check: a lock file serialises them
        (not state.json's lock, which the new monitor itself takes to record RUNNING before we return).
        ``client``: an attachment's socket, attached before the container starts (see ``attach.pair``);
        ``tell``: see ``monitor.Plan``; ``in_place``: this process is to become the monitor (then ``tell`` is its
        client's connection): an ``InPlace`` is returned instead of a handle, see ``monitor.start_in_place``."""
        paths = self.records.paths(cid)
        lock = os.open(paths.dir / "start.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._start(paths, attach, stdin, client, tell, in_place)
        finally:
            os.close(lock)

    def _start(self, paths: Paths, attach: tuple[int, int] | None, stdin: int | None,
               client: int | None = None, tell: tuple[int, Callable[[int], None]] | None = None,
               in_place: bool = False) -> monitor.Handle | monitor.InPlace:
        cid = paths.id
        record, state = self.records.record(cid), self.state(cid)
        transition(cid, State(state.status), Event.START)
        paths.stop_marker.unlink(missing_ok=True)
        with ExitStack() as undo:
            self._mount(paths, record, undo)
            attachment = self.networking.attach(record, undo)
            netns = str(attachment.netns) if attachment else _netns(record.host.network_mode)
            write_bundle(paths, record, netns=netns, ip=attachment.network.ip if attachment else "",
                         cgroups_path=self.cgroups_path(cid), seccomp_cache=self.seccomp_cache,
                         nameserver=attachment.nameserver if attachment else "",
                         resolv_source=self.networking.resolv_source)
            waiting = connect_waiting(paths.dir)  # clients attached before this start (docker's run, start -a)
            undo.callback(_close_all, waiting)
            clients = (() if client is None else (client,)) + tuple(s.fileno() for s in waiting)
            plan = self._plan(paths, record, attachment, attach, stdin=stdin, clients=clients, tell=tell)
            if in_place:
                started = self._start_in_place(plan)
                for sock in (*waiting, *(attachment.reserved if attachment else ())):
                    sock.detach()  # their descriptors are the monitor's, which this process now is
                undo.pop_all()
                return started
            handle = monitor.spawn(plan, self.caller_exits)
            _close_all(waiting)  # the monitor has them
            for sock in attachment.reserved if attachment else ():
                sock.close()  # the monitor holds the reservations from here on
            try:
                handle.started()
            except BaseException:
                handle.close()
                self.runc.delete(cid, force=True)
                raise
            undo.pop_all()
        return handle

    def _start_in_place(self, plan: monitor.Plan) -> monitor.InPlace:
        try:
            return monitor.start_in_place(plan)
        except BaseException:
            self.runc.delete(plan.cid, force=True)
            raise

    def _mount(self, paths: Paths, record: ContainerRecord, undo: ExitStack) -> None:
        if rootfs.is_mounted(paths.rootfs):
            return
        images = self.images
        layers = images.layer_dirs(images.resolve(record.image))
        # a --rm container's writes are thrown away: no sync of the host's disk at its unmount
        rootfs.mount_overlay(layers, paths.dir / "upper", paths.dir / "work", paths.rootfs,
                             volatile=record.host.auto_remove)
        undo.callback(rootfs.unmount, paths.rootfs)

    def _plan(self, paths: Paths, record: ContainerRecord, attachment: Attached | None, attach, adopt_pid: int = 0,
              stdin: int | None = None, clients: tuple[int, ...] = (),
              tell: tuple[int, Callable[[int], None]] | None = None) -> monitor.Plan:
        hooks = _Hooks(self, paths, record, attachment, adopt_pid)
        reserved = attachment.reserved if attachment else ()
        cfg = record.config
        streams = monitor.Streams(tty=cfg.tty, open_stdin=cfg.open_stdin, stdin_once=cfg.stdin_once,
                                  socket=paths.attach_socket, clients=clients)
        check = record.config.healthcheck
        health = None
        if check is not None and check.argv:
            from portside.runtime.health import Checks

            health = Checks(check, hooks.current_health, hooks.on_health)
        log = record.host.log_config
        return monitor.Plan(
            cid=record.id, bundle=paths.bundle, runc=self.runc, log_path=paths.log,
            cgroups_path=self.cgroups_path(record.id), restart=record.host.restart, stop_marker=paths.stop_marker,
            keep_fds=tuple(s.fileno() for s in reserved), attach=attach, stdin=stdin,
            on_start=hooks.on_start, on_restart=hooks.on_restart, on_exit=hooks.on_exit,
            on_release=hooks.on_release, on_forget=hooks.on_forget, report_early=record.host.auto_remove,
            adopt_pid=adopt_pid, streams=streams, health=health, log_limits=log_limits(log.type, log.config),
            tell=tell, policy=None if record.host.auto_remove else hooks.restart_policy)

    # -- stop, signal, wait ----------------------------------------------------------------------------------

    def release(self, cid: str, record: ContainerRecord | None = None) -> None:
        """What a container holds only while it runs: its overlay mount and network attachments. Idempotent."""
        rootfs.unmount(self.records.paths(cid).rootfs)
        record = record or self.records.record(cid)
        self.networking.release(record, self.endpoints_of(record))

    def endpoints_of(self, record: ContainerRecord) -> tuple:
        """Where a container on user networks is attached (the record may have changed since it started)."""
        if not (record.networks or record.host.user_network):
            return ()
        try:
            return self.records.state(record.id).endpoints
        except ContainerNotFound:
            return ()

    def stop(self, cid: str, timeout: float | None = None, signal: str | None = None) -> None:
        """The stop signal, then SIGKILL after ``timeout`` seconds (None: the container's ``--stop-timeout``, else
        10; -1: no SIGKILL); returns once the exit is recorded. A paused container is thawed after the signal, so
        that it is delivered (a frozen process takes none), as docker does."""
        state = self.state(cid)
        transition(cid, State(state.status), Event.STOP)
        if not state.live:
            return
        self.records.paths(cid).stop_marker.touch()
        config = self.records.record(cid).config
        if timeout is None:
            timeout = config.stop_timeout if config.stop_timeout is not None else DEFAULT_STOP_TIMEOUT
        monitor_pid = state.monitor_pid if monitor_alive(state) else 0
        self.signal(cid, signal or config.stop_signal)
        self.thaw(cid, state)
        if not wait_pid(state.pid, None if timeout < 0 else timeout):
            self.signal(cid, "KILL")
        self.wait_exit(cid)
        wait_pid(monitor_pid, KILL_FINAL_WAIT_S)  # it records the exit, then logs ``die``: the caller's ``stop`` follows

    def thaw(self, cid: str, state: ContainerState) -> None:
        """Resume a paused container (after a signal meant to end it); its status is running again."""
        if state.status != "paused":
            return
        try:
            self.runc.resume(cid)
        except (ContainerNotFound, OCIRuntimeError):
            pass  # it ended meanwhile
        self.records.update_state(cid, lambda s: s.replace(status="running") if s.status == "paused" else s)

    def signal(self, cid: str, sig: str) -> bool:
        """Send ``sig`` (a name, with or without SIG) to the container's init; False when there is nothing to
        signal (between two runs of a restart policy, or already gone)."""
        try:
            self.runc.kill(cid, sig.upper().removeprefix("SIG"), all_processes=False)
            return True
        except (ContainerNotFound, OCIRuntimeError):
            return False

    def wait_killed(self, cid: str) -> None:
        """After a SIGKILL: until the end is recorded. A process the signal did not end (stuck in the kernel, or
        runc could not reach it) is killed once more by its pid; if even that is not seen to end, the kill fails
        with dockerd's words rather than report a container dead that is not. A ``--rm`` container may be gone
        by then: that is an end too."""
        try:
            state = self.wait_exit(cid, KILL_WAIT_S)
            if not state.live:
                return
            if state.pid > 0:
                try:
                    os.kill(state.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            live = self.wait_exit(cid, KILL_FINAL_WAIT_S).live
        except ContainerNotFound:
            return
        if live:
            raise PortsideError(f"Cannot kill container: {cid}: tried to kill container, but did not receive an "
                                "exit event")

    def wait_exit(self, cid: str, timeout: float | None = None) -> ContainerState:
        """Block until the end is recorded: the monitor exits right after recording it. Without a monitor (it was
        killed, possibly while we waited), wait for the container's own process; ``reconcile`` records what it
        can. A ``--rm`` container is gone by then: its exit code comes from its exit note (``Paths.exit_note``),
        as an exited state."""
        note = self._open_exit_note(cid)
        try:
            state = self.state(cid)
            while state.live:
                if not wait_pid(state.monitor_pid if monitor_alive(state) else state.pid, timeout):
                    break
                try:
                    state = self.state(cid)
                except ContainerNotFound:
                    code = read_note(note)
                    if code is None:
                        raise
                    return ContainerState("exited", exit_code=code)
            return state
        finally:
            if note is not None:
                os.close(note)

    def _open_exit_note(self, cid: str) -> int | None:
        """The exit note of a running ``--rm`` container, opened (made, if need be) before the wait; None for
        another container, or one already gone."""
        try:
            if not self.records.record(cid).host.auto_remove:
                return None
            return os.open(self.records.paths(cid).exit_note, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except (FileNotFoundError, ValueError, KeyError):
            return None

    # -- the state, with adoption ----------------------------------------------------------------------------

    def state(self, cid: str) -> ContainerState:
        """The state as recorded, after re-adopting the container if its monitor is gone."""
        return self.reconcile(cid, self.records.state(cid))

    def reconcile(self, cid: str, state: ContainerState) -> ContainerState:
        """Re-adopt a container whose monitor is gone (see the module docstring)."""
        if not state.live or monitor_alive(state):
            return state
        paths = self.records.paths(cid)
        lock = os.open(paths.dir / "start.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # busy: a start or another adoption is under way
        except BlockingIOError:
            os.close(lock)
            return state
        try:
            return self._reconcile_locked(paths)
        finally:
            os.close(lock)

    def _reconcile_locked(self, paths: Paths) -> ContainerState:
        cid = paths.id
        state = self.records.state(cid)
        if not state.live or monitor_alive(state):
            return state
        live = self.runc.state(cid)
        if live is not None and live.get("status") in ("running", "paused"):
            self._adopt(paths, live["pid"])
            return self.records.state(cid)
        if live is not None:
            self.runc.delete(cid, force=True)
        state = self.records.update_state(cid, lambda s: s.replace(
            status="exited", pid=0, exit_code=UNKNOWN_EXIT, finished_at=rfc3339(), monitor_pid=0,
            error="the container's monitor died; its exit status is unknown"))
        record = self.records.record(cid)
        self.release(cid, record)
        if _restarts_after_a_crash(paths, record):
            try:
                self._start(paths, None, None).close()
            except PortsideError as exc:
                error = f"restart after a crash: {exc}"
                return self.records.update_state(cid, lambda s: s.replace(error=error))
            return self.records.state(cid)
        return state

    def _adopt(self, paths: Paths, pid: int) -> None:
        """A new monitor for a running container: it drains the output again, holds the published host ports
        again, and records the end."""
        record = self.records.record(paths.id)
        attachment = self.networking.reclaim(record, self.endpoints_of(record))
        handle = monitor.spawn(self._plan(paths, record, attachment, None, adopt_pid=pid), self.caller_exits)
        for sock in attachment.reserved if attachment else ():
            sock.close()  # the new monitor has them
        try:
            handle.started()
        except OCIRuntimeError:
            pass  # the container ended meanwhile; the next look records it
        finally:
            handle.close()


class _Hooks:
    """What the monitor of one container calls at each turn of its life (in the monitor process). Every record
    write is durable unless the container removes itself (``--rm``: nobody reads it after a crash)."""

    def __init__(self, lifecycle: Lifecycle, paths: Paths, record: ContainerRecord, attached: Attached | None,
                 adopt_pid: int) -> None:
        self.lifecycle, self.paths, self.record, self.adopt_pid = lifecycle, paths, record, adopt_pid
        self.network = attached.network if attached else NO_NETWORK
        self.endpoints = attached.endpoints if attached else ()
        self.records = lifecycle.records
        self.durable = not record.host.auto_remove
        self.left: tuple = ()  # the user networks the container was on when it ended (for the events)

    def on_start(self, pid: int, monitor_pid: int) -> None:
        restarting = []

        def change(s: ContainerState) -> ContainerState:
            s = s.replace(monitor_pid=monitor_pid, monitor_start=proc_start(monitor_pid))
            if pid == self.adopt_pid:  # adopting changes only the monitor: the container runs on
                return s.replace(network=self.network if self.network != NO_NETWORK else s.network)
            restarting.append(s.status == "restarting")
            if s.status != "restarting":  # a restart keeps the namespace, and the networks connected since
                s = s.replace(network=self.network, endpoints=self.endpoints)
            check = self.record.config.healthcheck
            if check is not None and check.argv:
                from portside.runtime.health import Health

                s = s.replace(health=(s.health or Health()).restarted())
            return s.replace(status="running", pid=pid, exit_code=0, oom_killed=False, error="",
                             started_at=rfc3339())
        self.records.update_state(self.record.id, change, self.durable)
        if pid != self.adopt_pid:
            self._started_events(joined=restarting == [False])

    def _started_events(self, joined: bool) -> None:
        """docker's at a start: ``network connect`` for each user network joined (not again at a restart, which
        keeps them), ``volume mount`` for each volume, then ``start``."""
        root, cid = self.records.root, self.record.id
        for e in self.endpoints if joined else ():
            append_event(root, "network", "connect", e.network_id, {"container": cid, "name": e.network,
                                                                    "type": "bridge"})
        for m in self.record.mounts:
            if m.name:
                append_event(root, "volume", "mount", m.name, {
                    "container": cid, "destination": m.destination, "driver": "local", "propagation": "",
                    "read/write": "true" if m.rw else "false"})
        self.records.event("start", self.record)

    def restart_policy(self):
        """The policy in the record at this exit: ``update`` may have changed it since the start."""
        try:
            return self.records.record(self.record.id).host.restart
        except (FileNotFoundError, ValueError, KeyError):
            return self.record.host.restart

    def current_health(self):
        """The health this run started from (``on_start`` wrote it; an adopted run keeps its own)."""
        from portside.runtime.health import Health

        return self.records.state(self.record.id).health or Health()

    def on_health(self, health) -> None:
        """A probe's outcome (from the prober's thread): kept only while the container runs. Not synced to disk:
        a crash loses at most the latest probe, as with docker, which persists health only at state changes."""
        before = []

        def change(s: ContainerState) -> ContainerState:
            before.append(s.health.status if s.health else "")
            return s.replace(health=health) if s.status == "running" else s
        self.records.update_state(self.record.id, change, durable=False)
        if before and before[0] != health.status:
            self.records.event(f"health_status: {health.status}", self.record)

    def on_restart(self, info: monitor.ExitInfo) -> None:
        """The exit noted first (a waiter reads it there once the next run began), then recorded."""
        _write_note(self.paths.exit_note, info.code)
        self.records.event("die", self.record, exitCode=str(info.code))
        self.records.update_state(self.record.id, lambda s: s.replace(
            status="restarting", pid=0, exit_code=info.code, oom_killed=info.oom_killed,
            finished_at=info.finished_at, restart_count=s.restart_count + 1), self.durable)

    def on_forget(self, info: monitor.ExitInfo) -> None:
        """--rm: name, record and networks go before the exit is reported; the exit code stays in the exit note
        for whoever waits (``Lifecycle.wait_exit``)."""
        _write_note(self.paths.exit_note, info.code)
        record = self.records.record(self.record.id) if self.record.networks else self.record  # connected since?
        self.left = self.lifecycle.endpoints_of(record)
        self.lifecycle.networking.release(record, self.left)
        self.records.forget(self.record.id, self.record.name)

    def on_release(self) -> None:
        if self.record.host.auto_remove:
            rootfs.unmount(self.paths.rootfs)
            remove_tree(self.paths.dir)
        else:
            try:
                self.left = self.records.state(self.record.id).endpoints
            except ContainerNotFound:
                self.left = ()
            self.lifecycle.release(self.record.id, self.record)

    def on_exit(self, info: monitor.ExitInfo) -> None:
        """The exit recorded, then docker's events: ``die`` (with ``oom`` before it, as docker's), ``network
        disconnect`` from the user networks it was on, and for a ``--rm`` container ``destroy`` (it was forgotten
        before its exit was reported; the events come after, off the foreground ``run``'s clock)."""
        if not self.record.host.auto_remove:
            _write_note(self.paths.exit_note, info.code)  # for a waiter that looks once a new run began
            self.records.update_state(self.record.id, lambda s: s.replace(
                status="exited", pid=0, exit_code=info.code, oom_killed=info.oom_killed,
                finished_at=info.finished_at, error=info.error, monitor_pid=0), self.durable)
        if info.oom_killed:
            self.records.event("oom", self.record)
        self.records.event("die", self.record, exitCode=str(info.code))
        for e in self.left:
            append_event(self.records.root, "network", "disconnect", e.network_id,
                         {"container": self.record.id, "name": e.network, "type": "bridge"})
        if self.record.host.auto_remove:
            self.records.event("destroy", self.record)


def _close_all(socks: list) -> None:
    for sock in socks:
        sock.close()


def _write_note(path: Path, code: int) -> None:
    """In place (no rename): a waiter's descriptor on the file must see it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.pwrite(fd, f"{code}\n".encode(), 0)
    finally:
        os.close(fd)


def read_note(fd: int | None) -> int | None:
    if fd is None:
        return None
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.lstrip("-").isdigit() else None


def _netns(mode: str) -> str | None:
    """None: a fresh empty namespace; "host": the host's; a path: that namespace (``ns:PATH``)."""
    return mode[3:] if mode.startswith("ns:") else {"host": "host"}.get(mode)


def _restarts_after_a_crash(paths: Paths, record: ContainerRecord) -> bool:
    """A container that was running when its monitor and its process both died (a reboot, an OOM kill of the
    whole group) starts again if its policy is docker's ``always`` or ``unless-stopped``, as dockerd starts them
    when it comes back, unless a stop was under way."""
    return record.host.restart.name in ("always", "unless-stopped") and not paths.stop_marker.exists()


def wait_output(pid: int, watch, timeout: float, cancel: int = -1) -> None:
    """Until the log was written to (``watch``, a FileWatch or None), ``pid`` (the monitor) ended, ``cancel`` (a
    descriptor, -1 for none) became readable, or ``timeout`` passed; without a watch, at most a fifth of a
    second."""
    fds = [watch] if watch is not None else []
    fds += [cancel] if cancel >= 0 else []
    try:
        pidfd = os.pidfd_open(pid) if pid > 0 else -1
    except ProcessLookupError:
        return
    try:
        select.select(fds + ([pidfd] if pidfd >= 0 else []), [], [], timeout if watch is not None else 0.2)
    finally:
        if pidfd >= 0:
            os.close(pidfd)
    if watch is not None:
        watch.drain()


def monitor_alive(state: ContainerState) -> bool:
    return state.monitor_pid > 0 and proc_start(state.monitor_pid) == state.monitor_start


def proc_start(pid: int) -> str:
    """The process's start time in clock ticks: with the pid it names one process, even after pid reuse.
    Empty for a zombie: a SIGKILLed monitor stays one until init reaps it, and is no monitor any more."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    return "" if fields[0] in ("Z", "X") else fields[19]
