"""Cgroup limits hold: memory (OOM kill), CPU quota, pids."""

import time
from pathlib import Path

from support.wait import eventually


def test_memory_limit_ends_in_an_oom_kill_with_137(portside) -> None:
    # 100 MiB of data held in a shell variable: far beyond the 32 MiB limit
    proc = portside("run", "--name", "hog", "--network", "none", "--memory", "32m", "busybox", "sh", "-c",
                    "x=$(head -c 104857600 /dev/zero | tr '\\0' a); echo survived ${#x}", check=False)
    assert proc.returncode == 137, proc.stderr
    state = portside.inspect("hog")["State"]
    assert (state["ExitCode"], state["OOMKilled"]) == (137, True)


def test_a_normal_exit_is_not_an_oom_kill(portside) -> None:
    portside("run", "--name", "fine", "--network", "none", "--memory", "32m", "busybox", "true")
    assert portside.inspect("fine")["State"]["OOMKilled"] is False


def test_half_a_cpu_gets_at_most_55_percent_of_a_core(portside) -> None:
    cid = portside("run", "-d", "--network", "none", "--cpus", "0.5", "busybox", "sh", "-c",
                   "while :; do :; done").stdout.strip()
    usage = Path(f"/sys/fs/cgroup/cpuacct/{portside.cgroup_parent}/{cid}/cpuacct.usage")
    start_ns, start = int(usage.read_text()), time.monotonic()
    # a CPU budget rather than a fixed window: at half a core, 1.5 s of CPU takes 3 s; a busy machine may slow
    # the loop down (the timeout is its floor, a tenth of a core), never speed it past the quota
    eventually(lambda: int(usage.read_text()) - start_ns >= 1.5e9, 15, 0.1, "1.5 s of CPU used")
    used = (int(usage.read_text()) - start_ns) / ((time.monotonic() - start) * 1e9)
    assert used <= 0.55


def test_pids_limit_stops_a_fork_bomb(portside) -> None:
    # the bomb runs in a child; the init then execs sleep, which needs no fork, so the container outlives it
    cid = portside("run", "-d", "--network", "none", "--pids-limit", "20", "busybox", "sh", "-c",
                   'sh -c "bomb() { bomb | bomb & }; bomb" 2>/dev/null; exec sleep 60').stdout.strip()
    pids = Path(f"/sys/fs/cgroup/pids/{portside.cgroup_parent}/{cid}")
    eventually(lambda: _refused_forks(pids) > 0, 10, what="the pids limit to refuse a fork")
    assert int((pids / "pids.current").read_text()) <= 20
    assert portside.inspect(cid)["State"]["Status"] == "running"
    portside("rm", "-f", cid)
    assert portside.leftovers() == []


def _refused_forks(cgroup: Path) -> int:
    return int((cgroup / "pids.events").read_text().split()[1])
