"""Containers outlive portside's own processes: a SIGKILLed CLI or monitor does not take its container along."""

import json
import os
import signal

from support.wait import eventually

from portside.cli.up import alive


def test_killing_a_foreground_run_leaves_the_container_running_and_its_exit_recorded(portside) -> None:
    cli = portside.popen("run", "--name", "fg", "--network", "none", "busybox", "sh", "-c",
                         "echo up; sleep 4; echo done; exit 7")
    eventually(lambda: "up" in portside("logs", "fg", check=False).stdout)
    cli.send_signal(signal.SIGKILL)
    cli.communicate()
    assert portside.inspect("fg")["State"]["Status"] == "running"
    assert "fg" in portside("ps").stdout
    assert portside("wait", "fg").stdout == "7\n"
    assert portside("logs", "fg").stdout == "up\ndone\n"


def test_killing_the_monitor_leaves_the_container_running_and_adoptable(portside, tmp_path) -> None:
    out = tmp_path / "out"
    # after the kill it writes 1 MB to stdout: far more than a pipe holds, so it finishes only if drained again
    cid = portside("run", "-d", "--name", "orphan", "--network", "none", "-v", f"{out}:/out", "busybox", "sh",
                   "-c", "echo hello; sleep 4; head -c 1000000 /dev/zero | tr '\\0' x; echo; echo tick; "
                         "echo ok > /out/finished; sleep 0.5; exit 3").stdout.strip()
    eventually(lambda: "hello" in portside("logs", "orphan").stdout)
    state = json.loads((portside.root / "containers" / cid / "state.json").read_text())
    os.kill(state["MonitorPid"], signal.SIGKILL)
    assert portside.inspect("orphan")["State"]["Status"] == "running"  # and adopted by a new monitor
    assert [line for line in portside("ps").stdout.splitlines() if "orphan" in line]
    assert portside("logs", "orphan").stdout.startswith("hello\n")
    assert portside("wait", "orphan", timeout=30).stdout == "255\n"  # docker's "unknown" status
    assert (out / "finished").read_text() == "ok\n"
    assert portside("logs", "--tail", "1", "orphan").stdout == "tick\n"
    info = portside.inspect("orphan")
    assert info["State"]["Status"] == "exited" and "monitor" in info["State"]["Error"]
    portside("rm", "orphan")
    assert portside.leftovers() == []


def test_stop_works_on_a_container_whose_monitor_was_killed(portside) -> None:
    cid = portside("run", "-d", "--name", "lost", "--network", "none", "busybox", "sleep", "60").stdout.strip()
    state = json.loads((portside.root / "containers" / cid / "state.json").read_text())
    os.kill(state["MonitorPid"], signal.SIGKILL)
    portside("stop", "-t", "1", "lost")
    assert portside.inspect("lost")["State"]["Status"] == "exited"
    portside("rm", "lost")
    assert portside.leftovers() == []


def test_after_a_crash_always_containers_come_back_and_others_are_recorded(portside) -> None:
    """A reboot, as far as one root can tell: each container's monitor and process die at once. The daemon's
    first look (or any command's) starts the ``always`` and ``unless-stopped`` ones again, as dockerd does."""
    import subprocess
    import sys

    ids = {policy: portside("run", "-d", "--name", policy, "--network", "none", "--restart", policy, "busybox",
                            "sleep", "600").stdout.strip() for policy in ("always", "unless-stopped", "no")}
    old_pids = {}
    for policy, cid in ids.items():
        state = json.loads((portside.root / "containers" / cid / "state.json").read_text())
        old_pids[policy] = state["Pid"]
        os.kill(state["MonitorPid"], signal.SIGKILL)
        os.kill(state["Pid"], signal.SIGKILL)
        eventually(lambda pid=state["Pid"]: _ended(pid), 10, what="the crash")
    daemon = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(portside.root), "daemon"],
                              stderr=subprocess.PIPE, text=True)
    try:
        assert "serving" in daemon.stderr.readline()
        states = {policy: json.loads((portside.root / "containers" / cid / "state.json").read_text())
                  for policy, cid in ids.items()}  # what the daemon's first look left, before any command
    finally:
        daemon.terminate()
        assert daemon.wait(30) == 0
    for policy in ("always", "unless-stopped"):
        assert states[policy]["Status"] == "running" and states[policy]["Pid"] != old_pids[policy]
    assert (states["no"]["Status"], states["no"]["ExitCode"]) == ("exited", 255)
    assert portside.inspect("always")["State"]["Running"]
    portside("rm", "-f", *ids.values())
    assert portside.leftovers() == []


def _ended(pid: int) -> bool:
    """Gone, or a zombie: an orphan goes to pid 1, which need not reap it."""
    return not alive(pid)


def test_a_new_monitor_holds_the_published_port_again(portside) -> None:
    """The monitor holds a published host port with a listening socket; when it is killed, its successor
    takes the port back, so that no one else can bind it while the container still owns it."""
    import errno
    import socket

    import pytest

    port = portside.free_port()
    cid = portside("run", "-d", "-p", f"{port}:8080", "busybox", "sleep", "600").stdout.strip()
    state = json.loads((portside.root / "containers" / cid / "state.json").read_text())
    os.kill(state["MonitorPid"], signal.SIGKILL)
    eventually(lambda: _ended(state["MonitorPid"]), 10, what="the monitor to die")
    assert portside.inspect(cid)["State"]["Running"]  # adopted by a new monitor
    with socket.socket() as probe, pytest.raises(OSError) as taken:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("", port))
        probe.listen(1)
    assert taken.value.errno == errno.EADDRINUSE
    portside("rm", "-f", cid)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("", port))  # free again once the container is gone
