"""Usage sampling: rates from two readings (pure), the Summary API shape, the time series written, and real
cgroup reads (v1 here, v2 where the machine is unified) of a process burning CPU and holding memory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from leftovers import remove_cgroup_parent
from support.wait import eventually

from portside.agent.metrics import Reading, Target, samples, summary, usage
from portside.metrics.tsdb import Series
from portside.runtime.cgroups import BASE, Cgroup, Usage, host_usage, unified

WEB = Target("default", "web", "uid-web", "app", "c1", "/x/c1")
SIDE = Target("default", "web", "uid-web", "side", "c2", "/x/c2")
NEW = Target("kube-system", "dns", "uid-dns", "dns", "c3", "/x/c3")


def reading(mono: float, node_ns: int, **containers: Usage) -> Reading:
    targets = {"web": WEB, "side": SIDE, "new": NEW}
    return Reading(mono, 1_700_000_000 + mono, Usage(node_ns, 5 << 30),
                   {targets[k]: v for k, v in containers.items()})


def test_rates_over_the_interval_and_pod_sums():
    before = reading(100.0, 10**12, web=Usage(0, 0), side=Usage(5 * 10**9, 0))
    after = reading(110.0, 10**12 + 15 * 10**9, web=Usage(5 * 10**9, 64 << 20),
                    side=Usage(5 * 10**9 + 10**8, 1 << 20), new=Usage(10**9, 1 << 20))
    snap = usage(before, after)
    assert snap.window == 10.0 and snap.node_cpu_cores == pytest.approx(1.5)
    [pod] = snap.pods  # the dns pod was read once: no rate yet
    assert (pod.namespace, pod.name) == ("default", "web")
    assert [(c.name, round(c.cpu_cores, 3), c.memory_bytes) for c in pod.containers] == [
        ("app", 0.5, 64 << 20), ("side", 0.01, 1 << 20)]
    assert pod.cpu_cores == pytest.approx(0.51) and pod.memory_bytes == 65 << 20


def test_a_counter_that_went_backwards_is_no_negative_rate():
    snap = usage(reading(0.0, 10, web=Usage(10**9, 0)), reading(1.0, 10, web=Usage(0, 0)))
    assert snap.pods[0].cpu_cores == 0


def test_readings_out_of_order_are_refused():
    with pytest.raises(ValueError, match="out of order"):
        usage(reading(5.0, 0), reading(5.0, 0))


def test_summary_has_the_kubelet_shape():
    snap = usage(reading(0.0, 0, web=Usage(0, 0)), reading(2.0, 4 * 10**9, web=Usage(10**9, 4096)))
    body = summary("node-a", snap)
    assert body["node"]["nodeName"] == "node-a"
    assert body["node"]["cpu"]["usageNanoCores"] == 2 * 10**9
    assert body["node"]["memory"]["workingSetBytes"] == 5 << 30
    [pod] = body["pods"]
    assert pod["podRef"] == {"name": "web", "namespace": "default", "uid": "uid-web"}
    assert pod["containers"][0]["cpu"]["usageNanoCores"] == 5 * 10**8
    assert pod["containers"][0]["memory"]["workingSetBytes"] == 4096
    assert pod["cpu"]["time"].endswith("Z") and body["windowSeconds"] == 2.0
    assert summary("node-a", None) == {"node": {"nodeName": "node-a"}, "pods": []}


def test_samples_name_node_pod_and_container_series():
    snap = usage(reading(0.0, 0, web=Usage(0, 0)), reading(1.0, 0, web=Usage(10**9, 7)))
    got = dict(samples(snap))
    labels = {"namespace": "default", "pod": "web"}
    assert got[Series.of("container_cpu_usage_cores", {**labels, "container": "app"})] == 1.0
    assert got[Series.of("pod_memory_working_set_bytes", labels)] == 7
    assert Series.of("node_cpu_usage_cores") in got


def test_host_usage_reads_proc():
    first = host_usage()
    assert first.working_set > 0 and first.cpu_ns > 0
    sum(range(3_000_000))
    assert host_usage().cpu_ns >= first.cpu_ns


# Moved into the cgroup first, then it allocates (memory is charged where it is touched), then it burns.
BURN = ("import sys; sys.stdin.read(1); data = bytearray(48 << 20); print('ready', flush=True); sys.stdin.read(1)\n"
        "while True: pass")


@pytest.fixture
def burner(needs_root):
    """A process in a cgroup of the test's own, holding 48 MiB and (after a byte on stdin) burning a core."""
    from leftovers import TEST_CGROUP_PARENT
    path = f"/{TEST_CGROUP_PARENT}/metrics-{os.getpid()}"
    dirs = [BASE / path.strip("/")] if unified() else [BASE / c / path.strip("/") for c in ("cpuacct", "memory")]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        for d in dirs:
            (d / "cgroup.procs").write_text(str(proc.pid))
        proc.stdin.write(b"x")
        proc.stdin.flush()
        yield path, proc
    finally:
        proc.kill()
        proc.wait()
        remove_cgroup_parent(TEST_CGROUP_PARENT, strict=False)


def process_cpu_ns(pid: int) -> int:
    """utime + stime of a process from /proc (clock ticks), in ns."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def test_a_real_cgroup_shows_cpu_time_and_working_set(burner):
    path, proc = burner
    assert proc.stdout.readline().strip() == b"ready"
    group = Cgroup(path)
    idle = group.usage()
    assert idle.working_set >= 48 << 20  # the allocation is anonymous memory: all of it in the working set
    assert idle.working_set <= group.memory_usage()
    before = process_cpu_ns(proc.pid)
    proc.stdin.write(b"x")
    proc.stdin.flush()
    eventually(lambda: process_cpu_ns(proc.pid) - before > 200_000_000, timeout=20, what="0.2 s of CPU burnt")
    busy, burnt = group.usage(), process_cpu_ns(proc.pid) - before
    # The cgroup counts what its one process used: the same CPU time as the process's own, whatever the load.
    assert abs((busy.cpu_ns - idle.cpu_ns) - burnt) < 50_000_000


def test_a_removed_cgroup_reads_as_none():
    assert Cgroup("/portside-no-such-group/none").usage() is None


def test_pod_series_name_the_controller_and_history_buckets_them(tmp_path):
    from portside.agent.metrics import history
    from portside.metrics.tsdb import TSDB

    owned = Target("default", "web", "uid-web", "app", "c1", "/x/c1", "ReplicaSet", "web-7d9f")
    snaps = [usage(Reading(m, 1_700_000_000 + m, Usage(0, 0), {owned: Usage(int(m * 10**9) // 2, 100 + int(m))}),
                   Reading(m + 1, 1_700_000_001 + m, Usage(0, 0), {owned: Usage(int((m + 1) * 10**9) // 2,
                                                                                  101 + int(m))}))
             for m in range(0, 20, 2)]
    got = dict(samples(snaps[0]))
    labels = {"namespace": "default", "pod": "web", "owner_kind": "ReplicaSet", "owner_name": "web-7d9f"}
    assert got[Series.of("pod_cpu_usage_cores", labels)] == pytest.approx(0.5)
    with TSDB(tmp_path / "usage.db") as db:
        db.append(1_699_999_990, [(Series.of("pod_cpu_usage_cores", {"namespace": "default", "pod": "web"}), 0.5),
                                  (Series.of("pod_memory_working_set_bytes",
                                             {"namespace": "default", "pod": "web"}), 99.0)])  # before owners
        for snap in snaps:
            db.append(snap.wall, samples(snap))
        [pod] = history(db, 1_699_999_990, 1_700_000_030, 10)
    assert pod["owner"] == {"kind": "ReplicaSet", "name": "web-7d9f"} and pod["name"] == "web"
    assert pod["t"] == [1_699_999_990, 1_700_000_000, 1_700_000_010]  # old and new labels merged into one pod
    assert pod["cpu"] == pytest.approx([0.5, 0.5, 0.5]) and pod["memory"] == [99, 109, 119]  # mean cpu, peak memory
