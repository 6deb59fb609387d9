"""The monitor on its own (no engine): it starts a real runc container, logs, relays, reaps and cleans up."""

import json
import os
import time
from pathlib import Path

import pytest
from leftovers import TEST_CGROUP_PARENT

from portside.runtime import logfile, monitor, spec
from portside.runtime.cgroups import Cgroup
from portside.runtime.errors import CommandNotFound
from portside.runtime.runc import Runc


def _plan(bundle: Path, argv: list[str], **kw) -> monitor.Plan:
    cid = f"montest-{os.urandom(4).hex()}"
    config = spec.build_config(bundle / "rootfs", spec.Process(argv), hostname="m",
                               cgroups_path=f"/{TEST_CGROUP_PARENT}/{cid}")
    (bundle / "config.json").write_text(json.dumps(config))
    return monitor.Plan(cid=cid, bundle=bundle, runc=Runc(bundle / "state"), log_path=bundle / "log",
                        cgroups_path=f"/{TEST_CGROUP_PARENT}/{cid}", **kw)


def test_exit_code_log_attach_and_cleanup(bundle: Path) -> None:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    plan = _plan(bundle, ["sh", "-c", "echo out; echo err >&2; exit 4"], attach=(out_w, err_w))
    handle = monitor.spawn(plan)
    os.close(out_w)
    os.close(err_w)
    assert handle.started() > 0
    info = handle.finished()
    handle.close()
    assert (info.code, info.oom_killed) == (4, False)
    assert os.read(out_r, 100) == b"out\n" and os.read(err_r, 100) == b"err\n"
    entries = logfile.entries(plan.log_path)
    assert sorted((e.stream, e.text) for e in entries) == [("stderr", "err\n"), ("stdout", "out\n")]
    assert plan.runc.state(plan.cid) is None and not Cgroup(plan.cgroups_path).exists()


def test_what_a_container_wrote_while_it_started_is_logged_before_the_start_is_reported(bundle: Path) -> None:
    """docker's attach with logs=1 and stream=0 right after the start of ``echo hello`` gets ``hello`` from
    dockerd: what the process wrote before its start was reported is in the log by then (the monitor used to
    report first and log on its way into the output loop). To see the log at the very moment the report comes,
    this process takes the monitor's CPU at a real-time priority, which the monitor does not inherit: woken by the
    report, it runs before the monitor does anything more. ``on_start`` gives the echo time to be written."""
    plan = _plan(bundle, ["sh", "-c", "echo hello; exec sleep 30"], on_start=lambda pid, mpid: time.sleep(0.5))
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(affinity)})
    os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(1))
    try:
        handle = monitor.spawn(plan)
        handle.started()
        logged = [e.text for e in logfile.entries(plan.log_path)]
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        os.sched_setaffinity(0, affinity)
    try:
        assert logged == ["hello\n"]
    finally:
        plan.runc.kill(plan.cid, "KILL")
        handle.finished()
        handle.close()


def test_restart_policy_and_start_failure(bundle: Path) -> None:
    plan = _plan(bundle, ["sh", "-c", "echo run; exit 1"], restart=monitor.RestartPolicy("on-failure", 2))
    handle = monitor.spawn(plan)
    handle.started()
    assert handle.finished().code == 1
    handle.close()
    assert [e.text for e in logfile.entries(plan.log_path)] == ["run\n"] * 3

    handle = monitor.spawn(_plan(bundle, ["no-such-binary"]))
    with pytest.raises(CommandNotFound, match="no-such-binary"):
        handle.started()
    handle.close()


def test_a_monitor_forked_from_a_uvloop_process_catches_no_signal(bundle: Path) -> None:
    """``portside up`` runs uvloop, whose C-level SIGCHLD handler a fork inherits while the loop has a child
    process. A monitor running it at its container's exit read from and wrote to whatever descriptors had taken
    the numbers of libuv's pipes (container output was lost, or it aborted inside malloc and hung). A monitor
    starts with every signal at its default action, whatever its spawner had installed."""
    import asyncio
    import select

    import uvloop

    monitor_pid = bundle / "monitor.pid"
    plan = _plan(bundle, ["sh", "-c", "sleep 1; echo done; exit 5"],
                 on_start=lambda pid, mpid: monitor_pid.write_text(str(mpid)))

    def spawn_and_wait():
        handle = monitor.spawn(plan)
        handle.started()
        caught = _status_field(int(monitor_pid.read_text()), "SigCgt")
        ready, _, _ = select.select([handle], [], [], 20)
        info = handle.finished() if ready else None
        handle.close()
        return caught, info

    async def main():
        child = await asyncio.create_subprocess_exec("sleep", "60")  # libuv's SIGCHLD handler is in place
        try:
            return await asyncio.to_thread(spawn_and_wait)
        finally:
            child.kill()
            await child.wait()

    caught, info = uvloop.run(main())
    assert int(caught, 16) & 0xFFFFFFFF == 0, f"the monitor catches signals {caught}"  # 32+: glibc's own
    assert info is not None and info.code == 5
    assert [e.text for e in logfile.entries(plan.log_path)] == ["done\n"]


def _status_field(pid: int, name: str) -> str:
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith(name + ":"))
