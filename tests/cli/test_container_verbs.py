"""rename, pause, unpause, update and container prune from the portside CLI, and the create options they came
with (--tmpfs, --stop-signal, --stop-timeout, --cpu-quota/--cpu-period, --add-host, --expose, -P)."""

from __future__ import annotations

import time
from pathlib import Path

from support.wait import eventually


def test_rename_keeps_the_container_and_frees_the_old_name(portside) -> None:
    cid = portside("create", "--name", "before", "--network", "none", "busybox", "true").stdout.strip()
    portside("rename", "before", "after")
    assert portside.inspect("after")["Id"] == cid
    assert portside("inspect", "before", check=False).returncode == 125
    portside("create", "--name", "before", "--network", "none", "busybox", "true")  # the old name is free
    taken = portside("rename", "after", "before", check=False)
    assert taken.returncode == 125 and "already in use" in taken.stderr
    same = portside("rename", "after", "after", check=False)
    assert same.returncode == 125 and "same name" in same.stderr
    bad = portside("rename", "after", "no/slash", check=False)
    assert bad.returncode == 125 and "invalid container name" in bad.stderr


def test_a_renamed_rm_container_leaves_no_name_behind(portside) -> None:
    portside("run", "-d", "--rm", "--name", "short", "--network", "none", "busybox", "sleep", "1")
    portside("rename", "short", "renamed")
    eventually(lambda: portside("inspect", "renamed", check=False).returncode != 0, 15, what="the --rm exit")
    assert not (portside.root / "names" / "renamed").exists() and not (portside.root / "names" / "short").exists()


def test_pause_freezes_and_unpause_thaws(portside) -> None:
    cid = portside("run", "-d", "--name", "ticker", "--network", "none", "busybox", "sh", "-c",
                   "trap 'exit 0' TERM; while :; do date +%s%N >> /tmp/ticks; sleep 0.05; done").stdout.strip()
    portside("pause", "ticker")
    state = portside.inspect("ticker")["State"]
    assert (state["Status"], state["Running"], state["Paused"]) == ("paused", True, True)
    assert "(Paused)" in portside("ps").stdout  # ps lists a paused container among the running ones
    freezer = Path(f"/sys/fs/cgroup/freezer/{portside.cgroup_parent}/{cid}/freezer.state")
    if freezer.exists():
        assert freezer.read_text().strip() == "FROZEN"
    again = portside("pause", "ticker", check=False)
    assert again.returncode == 1 and "is paused: cannot pause it" in again.stderr
    start = portside("start", "ticker", check=False)
    assert start.returncode == 1 and "is paused" in start.stderr
    refused = portside("rm", "ticker", check=False)
    assert refused.returncode == 1 and "is paused: cannot remove it" in refused.stderr
    portside("unpause", "ticker")
    assert portside.inspect("ticker")["State"]["Status"] == "running"
    not_paused = portside("unpause", "ticker", check=False)
    assert not_paused.returncode == 1 and "cannot unpause it (it is not paused)" in not_paused.stderr
    portside("pause", "ticker")
    started = time.monotonic()
    portside("stop", "-t", "20", "ticker")  # the TERM is delivered once thawed: no wait for the KILL
    assert time.monotonic() - started < 15
    assert portside.inspect("ticker")["State"]["ExitCode"] == 0


def test_update_applies_to_the_running_cgroup_and_to_later_starts(portside) -> None:
    cid = portside("run", "-d", "--name", "limited", "--network", "none", "--memory", "64m", "busybox", "sleep",
                   "60").stdout.strip()
    portside("update", "--memory", "80m", "--cpu-quota", "25000", "--cpu-period", "50000", "--pids-limit", "30",
             "--cpu-shares", "512", "limited")
    base = Path("/sys/fs/cgroup")
    parent = portside.cgroup_parent
    assert (base / f"memory/{parent}/{cid}/memory.limit_in_bytes").read_text().strip() == str(80 << 20)
    assert (base / f"cpu/{parent}/{cid}/cpu.cfs_quota_us").read_text().strip() == "25000"
    assert (base / f"cpu/{parent}/{cid}/cpu.cfs_period_us").read_text().strip() == "50000"
    assert (base / f"cpu/{parent}/{cid}/cpu.shares").read_text().strip() == "512"
    assert (base / f"pids/{parent}/{cid}/pids.max").read_text().strip() == "30"
    conflict = portside("update", "--cpus", "0.5", "limited", check=False)
    assert conflict.returncode == 1 and "conflicting options" in conflict.stderr
    portside("update", "--pids-limit", "-1", "--restart", "on-failure:2", "limited")
    assert (base / f"pids/{parent}/{cid}/pids.max").read_text().strip() == "max"
    portside("restart", "-t", "0", "limited")
    host = portside.inspect("limited")["HostConfig"]
    assert (host["Memory"], host["CpuQuota"], host["CpuPeriod"], host["PidsLimit"]) == (80 << 20, 25000, 50000, None)
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert (base / f"memory/{parent}/{cid}/memory.limit_in_bytes").read_text().strip() == str(80 << 20)
    nothing = portside("update", "limited", check=False)
    assert nothing.returncode == 1 and "nothing to change" in nothing.stderr
    portside("rm", "-f", "limited")
    assert portside.leftovers() == []


def test_container_prune_removes_the_stopped_ones(portside) -> None:
    done = portside("run", "-l", "keep=no", "--network", "none", "busybox", "true").stdout
    assert done == ""
    kept = portside("create", "-l", "keep=yes", "--network", "none", "busybox", "true").stdout.strip()
    running = portside("run", "-d", "--network", "none", "busybox", "sleep", "60").stdout.strip()
    out = portside("container", "prune", "-f", "--filter", "label!=keep=yes").stdout.splitlines()
    assert out[0] == "Deleted Containers:" and len(out) == 4 and out[-1].startswith("Total reclaimed space: ")
    assert set(portside("ps", "-aq", "--no-trunc").stdout.split()) == {kept, running}
    assert portside("container", "ls", "-q", "--no-trunc").stdout.split() == [running]
    assert portside("ps", "-q", "--no-trunc", "--filter", "label=keep=yes", "--filter", "status=created").stdout \
        .split() == [kept]
    assert portside("ps", "-q", "--no-trunc", "-f", "status=running").stdout.split() == [running]
    wrong = portside("ps", "--filter", "status=sleepy", check=False)
    assert wrong.returncode == 125 and "invalid filter 'status=sleepy'" in wrong.stderr
    bad = portside("container", "prune", "-f", "--filter", "status=exited", check=False)
    assert bad.returncode == 125 and "invalid filter 'status'" in bad.stderr


def test_create_options_tmpfs_stop_signal_and_timeout_hosts_and_cpu_quota(portside) -> None:
    cid = portside("run", "-d", "--name", "opts", "--network", "none", "--tmpfs", "/cache:size=2m,mode=1777",
                   "--stop-signal", "USR1", "--stop-timeout", "3", "--add-host", "db:10.9.8.7",
                   "--cpu-quota", "30000", "--expose", "7000/udp", "busybox", "sh", "-c",
                   "trap 'echo got USR1; exit 9' USR1; mount | grep /cache; grep db /etc/hosts; "
                   "while :; do sleep 0.1; done").stdout.strip()
    eventually(lambda: "db" in portside("logs", "opts").stdout, 10, what="the container's first lines")
    logs = portside("logs", "opts").stdout
    assert "/cache type tmpfs (rw,nosuid,nodev,noexec,relatime,size=2048k" in logs
    assert "10.9.8.7\tdb" in logs
    parent = portside.cgroup_parent
    assert Path(f"/sys/fs/cgroup/cpu/{parent}/{cid}/cpu.cfs_quota_us").read_text().strip() == "30000"
    info = portside.inspect("opts")
    assert info["Config"]["StopSignal"] == "SIGUSR1" and info["Config"]["StopTimeout"] == 3
    assert info["Config"]["ExposedPorts"] == {"7000/udp": {}}
    portside("stop", "opts")
    assert portside.inspect("opts")["State"]["ExitCode"] == 9 and "got USR1" in portside("logs", "opts").stdout
    for flags, words in ((["--tmpfs", "relative"], "not an absolute path"), (["--tmpfs", "/x:bogus=1"],
                                                                              "unknown tmpfs option"),
                         (["--stop-signal", "SIGNOPE"], "--stop-signal"), (["--add-host", "db"], "--add-host"),
                         (["--cpus", "1", "--cpu-quota", "50000"], "conflicting options"),
                         (["--cpu-period", "10"], "--cpu-period"), (["--expose", "99999"], "--expose")):
        refused = portside("create", "--network", "none", *flags, "busybox", "true", check=False)
        assert refused.returncode == 125 and words in refused.stderr, (flags, refused.stderr)


def test_an_updated_restart_policy_holds_from_the_running_containers_next_exit(portside) -> None:
    portside("run", "-d", "--name", "flaky", "--network", "none", "busybox", "sh", "-c",
             "sleep 1; exit 3")
    portside("update", "--restart", "on-failure:1", "flaky")
    eventually(lambda: portside.inspect("flaky")["RestartCount"] == 1, 20, what="one restart after the update")
    eventually(lambda: portside.inspect("flaky")["State"]["Status"] == "exited", 20, what="the retry's end")
    assert portside.inspect("flaky")["State"]["ExitCode"] == 3


def test_a_renamed_container_answers_to_its_new_name_on_its_network_at_once(portside) -> None:
    portside("network", "create", "renames")
    try:
        portside("run", "-d", "--name", "first", "--network", "renames", "busybox", "sleep", "60")
        portside("rename", "first", "second")
        endpoint = portside.inspect("second")["NetworkSettings"]["Networks"]["renames"]
        assert "second" in endpoint["DNSNames"] and "first" not in endpoint["DNSNames"]
        # asked from inside: a name the network's responder answers itself (nothing is forwarded upstream)
        out = portside("exec", "second", "nslookup", "second").stdout
        assert endpoint["IPAddress"] in out.split("Name:", 1)[1]
    finally:
        portside("rm", "-f", "second", check=False)
        portside("network", "rm", "renames", check=False)
