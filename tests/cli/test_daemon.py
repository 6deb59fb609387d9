"""``portside daemon``: the same commands, served from a warm process, with the client's terminal, directory,
environment and signals; and the client's fallbacks when no daemon (or a stale one) is there."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cluster import only
from support.net import free_port
from support.wait import eventually

from portside.cli import daemon as daemon_module
from portside.cli import daemon_wire, remote
from portside.cli.up import alive
from portside.engine import Engine


class Daemon:
    def __init__(self, portside) -> None:
        self.portside = portside
        self.log = portside.root / "daemon-test.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(portside.root), "daemon"],
                                     stderr=open(self.log, "w"))
        eventually(lambda: "serving" in self.log.read_text() or self.proc.poll() is not None, 30,
                 what="the daemon to serve")
        assert self.proc.poll() is None, self.log.read_text()

    @property
    def socket_path(self) -> Path:
        return self.portside.root / "engine.sock"

    def served(self) -> int:
        """How many commands the daemon has forked so far (it logs each)."""
        return self.log.read_text().count(" serving ")

    def stop(self) -> int:
        """SIGTERM; no test leaves a command running, so nothing may be left for the daemon to kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        assert "still running at shutdown" not in self.log.read_text(), self.log.read_text()
        return code


@pytest.fixture
def served(portside):
    d = Daemon(portside)
    try:
        yield d
    finally:
        d.stop()


def test_run_through_the_daemon_streams_output_and_exit_code(portside, served) -> None:
    before = served.served()
    proc = portside("run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3",
                    check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
    eventually(lambda: served.served() == before + 1, 10, what="the daemon's log of it")  # it ran it
    assert portside("ps", "-aq").stdout == ""
    assert served.stop() == 0 and not served.socket_path.exists()
    assert portside.leftovers() == []


def test_the_child_takes_the_clients_directory_environment_and_stdin(portside, served, tmp_path) -> None:
    (tmp_path / "vars").write_text("FROM_FILE=yes\n")
    env = {**os.environ, "PASSED": "from-client"}
    proc = portside("run", "-d", "--name", "box", "--network", "none", "--env-file", "vars", "-e", "PASSED",
                    "busybox", "sleep", "600", cwd=tmp_path, env=env)
    assert len(proc.stdout.strip()) == 64
    got = portside("exec", "-i", "box", "sh", "-c", 'read line; echo "$FROM_FILE $PASSED $line"', input="typed\n")
    assert got.stdout == "yes from-client typed\n"
    piped = portside("run", "--rm", "-i", "--network", "none", "busybox", "sh", "-c", "read a; echo got $a",
                     input="piped\n")
    assert piped.stdout == "got piped\n"
    eventually(lambda: served.served() >= 3, 10, what="the daemon's log of all three")
    portside("rm", "-f", "box")


def test_bad_input_gets_the_same_error_as_without_a_daemon(portside, served) -> None:
    proc = portside("run", "--memory", "lots", "busybox", "true", check=False)
    direct = portside("run", "--memory", "lots", "busybox", "true", check=False,
                      env={**os.environ, "PORTSIDE_NO_DAEMON": "1"})
    assert proc.returncode == direct.returncode == 125
    assert proc.stderr == direct.stderr and "--memory" in proc.stderr
    assert portside("ps", "-aq").stdout == ""


def test_signals_reach_the_container_through_the_client(portside, served) -> None:
    client = portside.popen("run", "--rm", "--name", "trapper", "--network", "none", "busybox", "sh", "-c",
                            "trap 'echo caught; exit 7' TERM; echo ready; while true; do sleep 0.1; done")
    try:
        assert client.stdout.readline() == "ready\n"
        client.send_signal(signal.SIGTERM)
        assert client.wait(20) == 7
        assert client.stdout.read() == "caught\n"
    finally:
        client.kill()
        client.wait()


def test_a_killed_client_ends_its_command_and_the_container_lives_on(portside, served) -> None:
    portside("run", "-d", "--name", "talker", "--network", "none", "busybox", "sh", "-c",
             "while true; do echo tick; sleep 0.2; done")
    follower = portside.popen("logs", "-f", "talker")
    assert follower.stdout.readline() == "tick\n"
    found = eventually(lambda: re.search(r"serving logs -f as pid (\d+)", served.log.read_text()), 10,
                     what="the daemon to log the logs -f child")
    serving = int(found.group(1))
    assert serving in _children(served.proc.pid)
    follower.kill()
    follower.wait()
    eventually(lambda: serving not in _children(served.proc.pid), 10, what="the logs -f child to end")
    assert portside.inspect("talker")["State"]["Running"]
    eventually(lambda: _children(served.proc.pid), 10, what="a spare child")
    spares = _children(served.proc.pid)
    served.proc.kill()  # containers outlive the daemon as they outlive any command, even at SIGKILL
    served.proc.wait()
    eventually(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in spares), 10,
             what="the idle spare to end with its daemon")
    assert served.socket_path.exists()  # left behind: the next command finds nobody there and works alone
    assert portside.inspect("talker")["State"]["Running"]
    assert "tick" in portside("logs", "--tail", "1", "talker").stdout
    portside("rm", "-f", "talker")
    assert Daemon(portside).stop() == 0  # and a new daemon takes the root over


def test_the_child_serving_a_foreground_run_becomes_its_monitor(portside, served) -> None:
    """No fork of a monitor on a ``run``'s clock: the serving child starts the container and goes on as its
    monitor. Then a client that dies detaches from the container, which lives on, logged; a stopping daemon
    leaves that monitor be; and the exit is recorded when the container ends."""
    client = portside.popen("run", "--name", "watched", "--network", "none", "busybox", "sh", "-c",
                            "echo ready; while true; do echo tick; sleep 0.1; done")
    try:
        assert client.stdout.readline() == "ready\n"
        serving = int(re.search(r"serving run --name as pid (\d+)", served.log.read_text()).group(1))
        assert Engine(portside.root).monitor_pid("watched") == serving
    finally:
        client.kill()
        client.wait()

    def ticks() -> int:
        return portside("logs", "watched").stdout.count("tick")

    logged = ticks()
    eventually(lambda: ticks() > logged + 2, 10, what="the container to go on, logged, without its client")
    assert served.stop() == 0  # and nothing was killed at its shutdown (``Daemon.stop`` checks)
    assert alive(serving) and portside.inspect("watched")["State"]["Running"]
    portside("stop", "-t", "1", "watched")
    assert portside.inspect("watched")["State"]["ExitCode"] == 137  # sh, the init, ignores SIGTERM
    eventually(lambda: not alive(serving), 10, what="the monitor to end with its container")
    portside("rm", "watched")


def test_one_daemon_per_root_and_a_stale_socket_is_taken_over(portside) -> None:
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(portside.root / "engine.sock"))
    stale.close()  # the file stays, nobody listens: as after a daemon was killed
    assert portside("images", "-q").stdout.strip()  # the command runs itself
    first = Daemon(portside)
    try:
        mode = os.stat(first.socket_path).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
        second = portside("daemon", check=False, timeout=30)
        assert second.returncode == 125 and "a daemon already serves" in second.stderr
    finally:
        assert first.stop() == 0


def test_a_daemon_older_than_its_client_declines_and_stops(portside, served) -> None:
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(str(served.socket_path))
    fields = [daemon_wire.PROTOCOL, "0.0.0-other", str(portside.root), "22", "2", "images", "-q"]
    payload = "\0".join(fields).encode()
    socket.send_fds(conn, [len(payload).to_bytes(4, "big") + payload], [0, 1, 2])
    assert conn.recv(64) == b"stale\n"
    conn.close()
    assert served.proc.wait(30) == 0 and not served.socket_path.exists()  # it stops by itself
    assert "changed" in served.log.read_text()
    assert portside("images", "-q").stdout.strip()  # and the client does the work itself


def test_code_fingerprint_follows_the_loaded_files(tmp_path, monkeypatch) -> None:
    module = tmp_path / "portside_fingerprint_probe.py"
    module.write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import portside_fingerprint_probe  # noqa: F401

    try:
        before = daemon_module.code_fingerprint()
        os.utime(module, (time.time() + 5, time.time() + 5))
        assert daemon_module.code_fingerprint() != before
    finally:
        sys.modules.pop("portside_fingerprint_probe", None)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def test_up_runs_the_daemon_for_its_engine_root_and_stops_it(tmp_path) -> None:
    root, data = tmp_path / "engine", tmp_path / "data"
    log = tmp_path / "up.log"
    up = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(root), "up", "--data-dir", str(data),
                           "--port", str(free_port()), *only("engine")], stdout=subprocess.PIPE,
                          stderr=open(log, "w"), text=True)
    try:
        assert "API ready" in up.stdout.readline(), log.read_text()
        eventually(lambda: (root / "engine.sock").exists(), 30, what="the engine daemon's socket")
        listing = subprocess.run([sys.executable, "-m", "portside", "--root", str(root), "images"],
                                 capture_output=True, text=True, timeout=60)
        assert listing.returncode == 0 and listing.stdout.startswith("REPOSITORY"), listing.stderr
        eventually(lambda: "engine daemon:" in log.read_text() and "serving images" in log.read_text(), 10,
                 what="the daemon to log the command it served")
    finally:
        up.send_signal(signal.SIGTERM)
        assert up.wait(30) == 0, log.read_text()[-2000:]
    assert not (root / "engine.sock").exists()


def test_a_killed_up_takes_its_daemon_with_it(tmp_path) -> None:
    """SIGKILL gives ``up`` no chance to stop its daemon: the daemon notices its owner's end by itself, so the
    next ``up`` gets a daemon of its own, which its ``down`` stops."""
    root, data = tmp_path / "engine", tmp_path / "data"
    log = tmp_path / "up.log"
    up = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(root), "up", "--data-dir", str(data),
                           "--port", str(free_port()), *only("engine")], stdout=subprocess.PIPE,
                          stderr=open(log, "w"), text=True)
    daemons: list[int] = []
    try:
        assert "API ready" in up.stdout.readline(), log.read_text()
        daemons += eventually(lambda: [p for p in _children(up.pid)
                                     if b"daemon" in Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")],
                            30, what="the engine daemon")
        eventually(lambda: (root / "engine.sock").exists(), 30, what="the engine daemon's socket")
        up.kill()
        up.wait()
        eventually(lambda: not alive(daemons[0]), 10, what=f"the engine daemon (pid {daemons[0]}) to end with up")
        assert not (root / "engine.sock").exists()
    finally:
        up.kill()
        up.wait()
        for pid in daemons:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_many_quick_commands_in_a_row_and_at_once(portside, served) -> None:
    """A child's exit and its client's hang-up usually arrive in the same round of events."""
    before = served.served()
    for _ in range(30):
        assert portside("images", "-q").stdout.strip()
    clients = [portside.popen("images", "-q") for _ in range(10)]
    assert all(c.wait(60) == 0 for c in clients)
    for c in clients:
        c.stdout.close()
        c.stderr.close()
    eventually(lambda: served.served() == before + 40, 10, what="the daemon's log of all 40")
    assert served.proc.poll() is None
    assert "Traceback" not in served.log.read_text()


def test_a_silent_client_does_not_hold_up_the_next(portside, served) -> None:
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(str(served.socket_path))  # and sends nothing: its spare waits for the request
    try:
        assert portside("images", "-q").stdout.strip()
        log = served.log.read_text()
        assert "serving images -q" in log and "refused" not in log  # served while the silent one still waits
    finally:
        silent.close()
    eventually(lambda: "refused a request" in served.log.read_text(), 15, what="the silent client to be refused")


def test_client_and_daemon_speak_the_same_protocol() -> None:
    assert remote.PROTOCOL == daemon_wire.PROTOCOL  # the client keeps a copy: importing the daemon's costs time


def test_exec_on_a_terminal_through_the_daemon_follows_its_size(portside, served) -> None:
    from terminal import resized_shell

    portside("run", "-d", "--name", "shell", "--network", "none", "busybox", "sleep", "600")
    argv = [sys.executable, "-m", "portside", "--root", str(portside.root), "exec", "-it", "shell", "sh"]
    # the resize reaches runc only because the client relays SIGWINCH to its child, which passes it on
    shown, code = resized_shell(argv, (33, 101), (40, 132), 4)
    assert "33 101" in shown and "40 132" in shown
    assert code == 4
    eventually(lambda: "serving exec -it" in served.log.read_text(), 10, what="the daemon to have served it")
    portside("rm", "-f", "shell")


def test_run_it_through_the_daemon_follows_its_size_and_keys(portside, served) -> None:
    from terminal import resized_shell

    argv = [sys.executable, "-m", "portside", "--root", str(portside.root), "run", "--rm", "-it", "--network", "none",
            "busybox", "sh"]
    # raw mode is set on the client's terminal by the served child; its size follows through the relayed SIGWINCH
    shown, code = resized_shell(argv, (33, 101), (40, 132), 6)
    assert "33 101" in shown and "40 132" in shown
    assert code == 6
    eventually(lambda: "serving run --rm as" in served.log.read_text(), 10, what="the daemon to have served it")
    assert portside("ps", "-aq").stdout == ""
