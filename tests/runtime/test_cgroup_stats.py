"""docker's stats counters read from both cgroup layouts, whichever this machine has: each is laid out as the
kernel writes its files, in a directory standing in for /sys/fs/cgroup (the live layout is read by the Docker
API's stats tests)."""

from __future__ import annotations

import os
from pathlib import Path

from portside.runtime import cgroups


def _write(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_v2_counters(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cgroups, "BASE", tmp_path)
    _write(tmp_path, {"cgroup.controllers": "cpu io memory pids\n"})
    _write(tmp_path / "engine/c1", {
        "cpu.stat": "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 10\nnr_throttled 2\n"
                    "throttled_usec 700\n",
        "memory.current": "1048576\n", "memory.max": "max\n",
        "memory.stat": "anon 4096\nfile 8192\ninactive_file 4096\nactive_file 4096\n",
        "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        "pids.current": "2\n", "pids.max": "64\n", "cgroup.procs": "11\n12\n",
        "io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"})
    stats = cgroups.Cgroup("/engine/c1").stats()
    assert (stats.cpu_usage_ns, stats.cpu_user_ns, stats.cpu_system_ns) == (5_000_000, 3_000_000, 2_000_000)
    assert stats.throttling == cgroups.Throttling(10, 2, 700_000) and stats.cpu_percpu_ns == ()
    assert (stats.memory_usage, stats.memory_limit, stats.memory_failcnt) == (1048576, None, 1)
    assert stats.memory_working_set == 1048576 - 4096 and stats.memory_stat["anon"] == 4096
    assert (stats.pids, stats.pids_limit, stats.oom_kills) == (2, 64, 1)
    assert [(e.op, e.value) for e in stats.io_bytes] == [("read", 4096), ("write", 8192)]
    assert cgroups.Cgroup("/engine/c1").procs() == [11, 12]


def test_v1_counters(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cgroups, "BASE", tmp_path)
    c = "engine/c1"
    _write(tmp_path, {
        f"cpuacct/{c}/cpuacct.usage": "5000000\n", f"cpuacct/{c}/cpuacct.usage_percpu": "3000000 2000000 \n",
        f"cpuacct/{c}/cpuacct.stat": "user 30\nsystem 20\n",
        f"cpu/{c}/cpu.stat": "nr_periods 10\nnr_throttled 2\nthrottled_time 700000\n",
        f"memory/{c}/memory.usage_in_bytes": "1048576\n", f"memory/{c}/memory.limit_in_bytes": "33554432\n",
        f"memory/{c}/memory.max_usage_in_bytes": "2097152\n", f"memory/{c}/memory.failcnt": "4\n",
        f"memory/{c}/memory.stat": "cache 8192\nrss 4096\ntotal_inactive_file 8192\n",
        f"memory/{c}/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
        f"pids/{c}/pids.current": "1\n", f"pids/{c}/pids.max": "max\n",
        f"blkio/{c}/blkio.io_service_bytes_recursive": "Total 0\n",  # no CFQ: the throttling layer counts
        f"blkio/{c}/blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\n"
                                                                "Total 4608\n"})
    stats = cgroups.Cgroup("/engine/c1").stats()
    tick = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    assert (stats.cpu_usage_ns, stats.cpu_percpu_ns) == (5_000_000, (3_000_000, 2_000_000))
    assert (stats.cpu_user_ns, stats.cpu_system_ns) == (30 * tick, 20 * tick)
    assert stats.throttling == cgroups.Throttling(10, 2, 700_000)
    assert (stats.memory_limit, stats.memory_max_usage, stats.memory_failcnt) == (33554432, 2097152, 4)
    assert stats.memory_working_set == 1048576 - 8192 and stats.pids_limit == 0
    assert [(e.major, e.minor, e.op, e.value) for e in stats.io_bytes] == [(8, 0, "Read", 4096), (8, 0, "Write", 512)]


def test_host_cpu_counts_every_state_and_the_online_cpus(tmp_path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n"
                    "cpu1 50 0 25 400 25 0 0 0 0 0\nintr 1\n")
    total, cpus = cgroups.host_cpu(str(stat))
    assert cpus == 2 and total == 1000 * 1_000_000_000 // os.sysconf("SC_CLK_TCK")

