"""``portside run`` and the lifecycle commands against real runc containers."""

import json
import sys
import time

from support.wait import eventually


def test_foreground_run_streams_output_and_exits_with_the_containers_code(portside) -> None:
    proc = portside("run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3",
                    check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
    assert portside.leftovers() == []


def test_run_rm_is_gone_from_view_when_it_returns(portside) -> None:
    """Its name is free and ``ps -a`` is empty at once; the monitor's teardown after that leaves nothing."""
    for code in (0, 4):
        proc = portside("run", "--rm", "--name", "once", "--network", "none", "busybox", "sh", "-c", f"exit {code}",
                        check=False)
        assert proc.returncode == code, proc.stderr
        assert portside("ps", "-aq").stdout == ""
    assert portside.leftovers() == []


def test_env_workdir_user_hostname_and_entrypoint(portside, tmp_path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=yes\n\n")
    proc = portside("run", "--rm", "--network", "none", "-e", "GREETING=hi", "--env-file", str(env_file),
                    "-w", "/srv/app", "-u", "nobody", "-h", "box1", "--entrypoint", "sh", "busybox",
                    "-c", 'echo "$GREETING $FROM_FILE $(pwd) $(id -u) $(hostname)"')
    assert proc.stdout == "hi yes /srv/app 65534 box1\n"


def test_detached_container_ps_logs_inspect_exec_stop(portside) -> None:
    cid = portside("run", "-d", "--name", "svc", "--network", "none", "--memory", "64m", "--cpus", "0.5",
                   "--pids-limit", "50", "busybox", "sh", "-c",
                   "trap 'echo bye; exit 0' TERM; for i in 1 2 3; do echo line $i; done; "
                   "while true; do sleep 0.1; done").stdout.strip()
    assert len(cid) == 64
    ps = [json.loads(line) for line in portside("ps", "--format", "json").stdout.splitlines()]
    assert [(p["ID"], p["Names"], p["State"]) for p in ps] == [(cid[:12], "svc", "running")]
    info = portside.inspect("svc")
    assert info["State"]["Status"] == "running" and info["State"]["Pid"] > 0
    assert info["HostConfig"]["Memory"] == 64 << 20
    assert info["HostConfig"]["NanoCpus"] == 500_000_000 and info["HostConfig"]["PidsLimit"] == 50
    assert info["Config"]["Image"] == "busybox" and info["Config"]["Cmd"][0] == "sh"
    eventually(lambda: "line 3" in portside("logs", "svc").stdout)
    assert portside("logs", "--tail", "2", cid[:8]).stdout == "line 2\nline 3\n"
    stamped = portside("logs", "-t", "--tail", "1", "svc").stdout
    assert stamped.endswith("Z line 3\n") and stamped.startswith("20")
    assert portside("exec", "svc", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes").stdout == f"{64 << 20}\n"
    assert portside("exec", "svc", "sh", "-c", "exit 4", check=False).returncode == 4
    assert portside("stop", "-t", "5", "svc").stdout == "svc\n"
    info = portside.inspect("svc")
    assert (info["State"]["Status"], info["State"]["ExitCode"]) == ("exited", 0)
    assert portside("logs", "--tail", "1", "svc").stdout == "bye\n"
    assert portside("wait", "svc").stdout == "0\n"


def test_stop_kills_after_the_grace_period_and_kill_sends_signals(portside) -> None:
    portside("run", "-d", "--name", "stubborn", "--network", "none", "busybox", "sh", "-c",
             "trap '' TERM; while true; do sleep 0.1; done")
    started = time.monotonic()
    portside("stop", "-t", "1", "stubborn")
    assert 1 <= time.monotonic() - started < 5
    assert portside.inspect("stubborn")["State"]["ExitCode"] == 137
    portside("start", "stubborn")
    assert portside.inspect("stubborn")["State"]["Status"] == "running"
    portside("kill", "-s", "USR1", "stubborn")  # sh as pid 1 has no USR1 handler: the kernel ignores it
    portside("kill", "stubborn")
    assert portside("wait", "stubborn").stdout == "137\n"


def test_restart_policy_on_failure_counts_restarts(portside) -> None:
    portside("run", "-d", "--name", "flaky", "--network", "none", "--restart", "on-failure:2", "busybox",
             "sh", "-c", "echo attempt; exit 5")
    assert portside("wait", "flaky", timeout=30).stdout == "5\n"  # docker's: the first exit answers a wait
    eventually(lambda: portside.inspect("flaky")["State"]["Status"] == "exited", 30, what="the last retry's end")
    assert portside.inspect("flaky")["RestartCount"] == 2
    assert portside("logs", "flaky").stdout == "attempt\n" * 3


def test_rm_refuses_a_running_container_without_force(portside) -> None:
    portside("run", "-d", "--name", "busy", "--network", "none", "busybox", "sleep", "60")
    proc = portside("rm", "busy", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("portside: container ") and "is running" in proc.stderr
    portside("rm", "-f", "busy")
    assert portside.leftovers() == []


def test_restart_command_runs_the_container_again(portside) -> None:
    portside("run", "-d", "--name", "again", "--network", "none", "busybox", "sh", "-c", "echo run; sleep 60")
    first = portside.inspect("again")["State"]["Pid"]
    portside("restart", "-t", "0", "again")
    state = portside.inspect("again")["State"]
    assert state["Status"] == "running" and state["Pid"] != first
    eventually(lambda: portside("logs", "again").stdout == "run\nrun\n")


def test_foreground_run_forwards_signals_to_the_container(portside) -> None:
    import signal

    cli = portside.popen("run", "--name", "trapper", "--network", "none", "busybox", "sh", "-c",
                         "trap 'echo got INT; exit 5' INT; echo ready; while true; do sleep 0.1; done")
    assert cli.stdout.readline() == "ready\n"
    cli.send_signal(signal.SIGINT)
    out, _ = cli.communicate(timeout=20)
    assert (cli.returncode, out) == (5, "got INT\n")


def test_a_container_restarting_forever_can_be_stopped_and_removed(portside) -> None:
    portside("run", "-d", "--name", "crashy", "--network", "none", "--restart", "always", "busybox", "sh", "-c",
             "exit 1")
    eventually(lambda: portside.inspect("crashy")["RestartCount"] >= 3)
    portside("stop", "-t", "1", "crashy")
    state = portside.inspect("crashy")["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 1)
    portside("start", "crashy")
    portside("rm", "-f", "crashy")
    assert portside.leftovers() == []


def test_rmi_refuses_an_image_a_container_uses(portside) -> None:
    cid = portside("create", "--name", "holder", "--network", "none", "busybox", "true").stdout.strip()
    refused = portside("rmi", "busybox", check=False)
    assert refused.returncode != 0 and cid[:12] in refused.stderr
    portside("rm", "holder")
    portside("rmi", "busybox")


def test_interactive_run_reads_this_commands_stdin_and_a_plain_one_reads_nothing(portside) -> None:
    proc = portside("run", "--rm", "-i", "--network", "none", "busybox", "sh", "-c", 'read a; read b; echo "$b $a"',
                    input="one\ntwo\n")
    assert proc.stdout == "two one\n"
    assert portside("run", "--rm", "--network", "none", "busybox", "cat", input="ignored\n").stdout == ""
    assert portside.leftovers() == []


def test_an_exec_that_outlives_its_timeout_is_killed(portside) -> None:
    """What a probe's timeoutSeconds relies on: the process is gone, not left running once per period."""
    import os
    import subprocess

    import pytest

    from portside.engine import Engine

    cid = portside("run", "-d", "--network", "none", "busybox", "sleep", "600").stdout.strip()
    engine = Engine(portside.root)
    with open(os.devnull, "r+b") as null:
        stdio = (null.fileno(),) * 3
        with pytest.raises(TimeoutError, match="sleep did not finish within 0.5 s"):
            engine.exec(cid, ["sleep", "77"], stdio, timeout=0.5)
        assert engine.exec(cid, ["true"], stdio, timeout=5) == 0
    listing = subprocess.run(["runc", "--root", str(portside.root / "runc"), "ps", cid], capture_output=True,
                             text=True, check=True).stdout
    assert "sleep 77" not in listing and "sleep 600" in listing
    portside("rm", "-f", cid)


def test_exec_on_a_terminal_sees_a_tty_its_size_and_keys(portside) -> None:
    from terminal import resized_shell

    portside("run", "-d", "--name", "shell", "--network", "none", "busybox", "sleep", "600")
    argv = [sys.executable, "-m", "portside", "--root", str(portside.root), "exec", "-it", "shell", "sh"]
    shown, code = resized_shell(argv, (33, 101), (40, 132), 3)
    assert "40 132" in shown and "/dev/pts/0" in shown and "33 101" in shown
    assert code == 3
    plain = portside("exec", "shell", "tty", check=False)
    assert plain.stdout == "not a tty\n"  # without -t, pipes as before
    portside("rm", "-f", "shell")
