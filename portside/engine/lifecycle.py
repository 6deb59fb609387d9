"""Starting and stopping: the part of the engine that touches processes, mounts and the network.

Theory of operation. ``start`` mounts the overlay, attaches the network, writes the bundle and spawns the
monitor, registering the undo of each step first: if runc refuses (a missing command, say) every step is undone
and the error raised. The monitor's callbacks (run in the monitor process) record RUNNING with pids, then EXITED
with code and OOM flag, and release the mount and the network. With AutoRemove they delete the container instead:
its name, record and network go before a foreground ``run`` learns the exit code, its runc state, mount and files
just after (the monitor, not the user, waits for those).

A monitor that was SIGKILLed leaves a record saying "running". ``reconcile`` notices (the monitor's pid is gone or
belongs to another process) and asks runc. A container still running is adopted: a new monitor re-opens its
FIFOs (what it wrote meanwhile is still buffered there), logs on and records the end, though with the exit status
unknown (255, as docker reports it), since the container's init is no longer a child of any monitor. One that
already ended is recorded as exited with that same unknown status and cleaned up, and, under an ``always`` or
``unless-stopped`` policy, started again: after a reboot, the first look (``portside daemon`` takes one at its
start) brings such containers back, as dockerd does when it starts.
"""

from __future__ import annotations

import fcntl
import os
import select
from contextlib import ExitStack

from portside.engine.bundle import write_bundle
from portside.engine.records import Paths, read_json, remove_tree
from portside.runtime import monitor, rootfs
from portside.runtime.errors import ContainerNotFound, OCIRuntimeError, PortsideError
from portside.runtime.logfile import rfc3339
from portside.runtime.process import wait_pid
from portside.runtime.state import Event, State, transition

UNKNOWN_EXIT = 255


def start(engine, cid: str, attach: tuple[int, int] | None = None, stdin: int | None = None) -> monitor.Handle:
    """Two concurrent starts of one container would both pass the state check: a lock file serialises them (not
    state.json's lock, which the new monitor itself takes to record RUNNING before we return)."""
    paths = engine.records.paths(cid)
    lock = os.open(paths.dir / "start.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _start(engine, paths, cid, attach, stdin)
    finally:
        os.close(lock)


def _start(engine, paths: Paths, cid: str, attach: tuple[int, int] | None, stdin: int | None) -> monitor.Handle:
    record, state = read_json(paths.record), engine.state(cid)
    transition(cid, State(state["Status"]), Event.START)
    paths.stop_marker.unlink(missing_ok=True)
    with ExitStack() as undo:
        _mount(engine, paths, record, undo)
        attachment = _attach(engine, cid, record, undo)
        ip = attachment.ip if attachment else ""
        netns = _netns(record["HostConfig"]["NetworkMode"])
        write_bundle(paths, record, netns=str(attachment.netns_path) if attachment else netns, ip=ip,
                     cgroups_path=engine.cgroups_path(cid), seccomp_cache=engine.root / "seccomp")
        handle = monitor.spawn(_plan(engine, paths, record, attachment, attach, stdin=stdin), engine.caller_exits)
        for sock in attachment.reserved if attachment else ():
            sock.close()  # the monitor holds the reservations from here on
        try:
            handle.started()
        except BaseException:
            handle.close()
            engine.runc.delete(cid, force=True)
            raise
        undo.pop_all()
    return handle


def _netns(mode: str) -> str | None:
    """None: a fresh empty namespace; "host": the host's; a path: that namespace (``ns:PATH``)."""
    return mode[3:] if mode.startswith("ns:") else {"host": "host"}.get(mode)


def _mount(engine, paths: Paths, record: dict, undo: ExitStack) -> None:
    if rootfs.is_mounted(paths.rootfs):
        return
    layers = engine.images.layer_dirs(engine.images.resolve(record["Image"]))
    # a --rm container's writes are thrown away: no sync of the host's disk at its unmount
    rootfs.mount_overlay(layers, paths.dir / "upper", paths.dir / "work", paths.rootfs,
                         volatile=record["HostConfig"]["AutoRemove"])
    undo.callback(rootfs.unmount, paths.rootfs)


def _attach(engine, cid: str, record: dict, undo: ExitStack):
    if record["HostConfig"]["NetworkMode"] != "bridge":
        return None
    from portside.runtime.network import PortMapping

    ports = [PortMapping(p["HostIp"], p["HostPort"], p["ContainerPort"], p["Protocol"])
             for p in record["HostConfig"]["PortBindings"]]
    network = engine.network
    attachment = network.attach(cid, ports)
    undo.callback(network.detach, cid)
    undo.callback(lambda: [s.close() for s in attachment.reserved])
    return attachment


def _plan(engine, paths: Paths, record: dict, attachment, attach, adopt_pid: int = 0,
          stdin: int | None = None) -> monitor.Plan:
    cid = record["Id"]
    policy = record["HostConfig"]["RestartPolicy"]
    durable = not record["HostConfig"]["AutoRemove"]
    net = _network_state(attachment)

    def on_start(pid: int, monitor_pid: int) -> None:
        change = {"MonitorPid": monitor_pid, "MonitorStart": proc_start(monitor_pid)}
        if pid != adopt_pid:  # adopting changes only the monitor: the container runs on
            change.update(Status="running", Pid=pid, ExitCode=0, OOMKilled=False, Error="", StartedAt=rfc3339())
        engine.records.update_state(cid, lambda s: s.update(change, Network=net or s.get("Network", {})), durable)

    def on_restart(info: monitor.ExitInfo) -> None:
        engine.records.update_state(cid, lambda s: s.update(
            Status="restarting", Pid=0, ExitCode=info.code, OOMKilled=info.oom_killed,
            FinishedAt=info.finished_at, RestartCount=s.get("RestartCount", 0) + 1), durable)

    def on_forget() -> None:  # --rm: name, record and network go before the exit is reported
        if record["HostConfig"]["NetworkMode"] == "bridge":
            engine.network.detach(cid, wait=False)
        engine.records.forget(cid, record["Name"])

    def on_release() -> None:
        if record["HostConfig"]["AutoRemove"]:
            rootfs.unmount(paths.rootfs)
            remove_tree(paths.dir)
        else:
            release(engine, cid, record)

    def on_exit(info: monitor.ExitInfo) -> None:
        if not record["HostConfig"]["AutoRemove"]:
            engine.records.update_state(cid, lambda s: s.update(
                Status="exited", Pid=0, ExitCode=info.code, OOMKilled=info.oom_killed,
                FinishedAt=info.finished_at, Error=info.error, MonitorPid=0), durable)

    return monitor.Plan(
        cid=cid, bundle=paths.bundle, runc=engine.runc, log_path=paths.log, cgroups_path=engine.cgroups_path(cid),
        restart=monitor.RestartPolicy(policy["Name"], policy["MaximumRetryCount"]), stop_marker=paths.stop_marker,
        keep_fds=tuple(s.fileno() for s in (attachment.reserved if attachment else ())), attach=attach, stdin=stdin,
        on_start=on_start, on_restart=on_restart, on_exit=on_exit, on_release=on_release, on_forget=on_forget,
        report_early=record["HostConfig"]["AutoRemove"], adopt_pid=adopt_pid)


def _network_state(attachment) -> dict:
    if attachment is None:
        return {}
    return {"IPAddress": attachment.ip, "Gateway": attachment.gateway, "IPPrefixLen": attachment.prefixlen,
            "MacAddress": attachment.mac,
            "Ports": [{"HostIp": p.host_ip, "HostPort": p.host_port, "ContainerPort": p.container_port,
                       "Protocol": p.protocol} for p in attachment.ports]}


def release(engine, cid: str, record: dict | None = None) -> None:
    """What a container holds only while it runs: its overlay mount and network attachment. Idempotent."""
    paths = engine.records.paths(cid)
    rootfs.unmount(paths.rootfs)
    record = record or read_json(paths.record)
    if record["HostConfig"]["NetworkMode"] == "bridge":
        engine.network.detach(cid, wait=False)


def stop(engine, cid: str, timeout: float = 10, signal: str | None = None) -> None:
    """The stop signal, then SIGKILL after ``timeout`` seconds; returns once the exit is recorded."""
    state = engine.state(cid)
    transition(cid, State(state["Status"]), Event.STOP)
    if state["Status"] not in ("running", "restarting"):
        return
    engine.records.paths(cid).stop_marker.touch()
    record = read_json(engine.records.paths(cid).record)
    _kill(engine, cid, signal or record["Config"]["StopSignal"])
    if not wait_pid(state.get("Pid", 0), timeout):
        _kill(engine, cid, "KILL")
    wait_exit(engine, cid)


def _kill(engine, cid: str, sig: str) -> None:
    try:
        engine.runc.kill(cid, sig.removeprefix("SIG"), all_processes=False)
    except (ContainerNotFound, OCIRuntimeError):
        pass  # between two runs of a restart policy, or already gone: nothing to signal


def wait_exit(engine, cid: str, timeout: float | None = None) -> dict:
    """Block until the end is recorded: the monitor exits right after recording it. Without a monitor (it was
    killed, possibly while we waited), wait for the container's own process; ``reconcile`` records what it can."""
    state = engine.state(cid)
    while state["Status"] in ("running", "restarting"):
        pid = state["MonitorPid"] if monitor_alive(state) else state.get("Pid", 0)
        if not wait_pid(pid, timeout):
            break
        state = engine.state(cid)
    return state


def wait_output(pid: int, watch, timeout: float) -> None:
    """Until the log was written to (``watch``, a FileWatch or None), ``pid`` (the monitor) ended, or
    ``timeout`` passed; without a watch, at most a fifth of a second."""
    fds = [watch] if watch is not None else []
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


def reconcile(engine, cid: str, state: dict) -> dict:
    """Re-adopt a container whose monitor is gone (see the module docstring)."""
    if state.get("Status") not in ("running", "restarting") or monitor_alive(state):
        return state
    paths = engine.records.paths(cid)
    lock = os.open(paths.dir / "start.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # busy: a start or another adoption is under way
    except BlockingIOError:
        os.close(lock)
        return state
    try:
        return _reconcile_locked(engine, cid, paths)
    finally:
        os.close(lock)


def _reconcile_locked(engine, cid: str, paths: Paths) -> dict:
    state = read_json(paths.state)
    if state.get("Status") not in ("running", "restarting") or monitor_alive(state):
        return state
    live = engine.runc.state(cid)
    if live is not None and live.get("status") in ("running", "paused"):
        _adopt(engine, paths, live["pid"])
        return read_json(paths.state)
    if live is not None:
        engine.runc.delete(cid, force=True)
    state = engine.records.update_state(cid, lambda s: s.update(
        Status="exited", Pid=0, ExitCode=UNKNOWN_EXIT, FinishedAt=rfc3339(), MonitorPid=0,
        Error="the container's monitor died; its exit status is unknown"))
    release(engine, cid)
    if _restarts_after_a_crash(paths, read_json(paths.record)):
        try:
            _start(engine, paths, cid, None, None).close()
        except PortsideError as exc:
            error = f"restart after a crash: {exc}"
            return engine.records.update_state(cid, lambda s: s.update(Error=error))
        return read_json(paths.state)
    return state


def _restarts_after_a_crash(paths: Paths, record: dict) -> bool:
    """A container that was running when its monitor and its process both died (a reboot, an OOM kill of the
    whole group) starts again if its policy is docker's ``always`` or ``unless-stopped``, as dockerd starts them
    when it comes back, unless a stop was under way."""
    return record["HostConfig"]["RestartPolicy"]["Name"] in ("always", "unless-stopped") and \
        not paths.stop_marker.exists()


def _adopt(engine, paths: Paths, pid: int) -> None:
    """A new monitor for a running container: it drains the output again, holds the published host ports
    again, and records the end."""
    record = read_json(paths.record)
    bridged = record["HostConfig"]["NetworkMode"] == "bridge"
    attachment = engine.network.reclaim(record["Id"]) if bridged else None
    handle = monitor.spawn(_plan(engine, paths, record, attachment, None, adopt_pid=pid), engine.caller_exits)
    for sock in attachment.reserved if attachment else ():
        sock.close()  # the new monitor has them
    try:
        handle.started()
    except OCIRuntimeError:
        pass  # the container ended meanwhile; the next look records it
    finally:
        handle.close()


def monitor_alive(state: dict) -> bool:
    pid = state.get("MonitorPid") or 0
    return pid > 0 and proc_start(pid) == state.get("MonitorStart")


def proc_start(pid: int) -> str:
    """The process's start time in clock ticks: with the pid it names one process, even after pid reuse.
    Empty for a zombie: a SIGKILLed monitor stays one until init reaps it, and is no monitor any more."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    return "" if fields[0] in ("Z", "X") else fields[19]
