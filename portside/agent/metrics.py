"""Resource-usage sampling: every container's and pod's CPU and memory, and the node's, once a period.

Theory of operation. Each period the sampler reads cumulative counters straight from files (no subprocess):
a running container's cgroup (``cpuacct.usage`` or ``cpu.stat``, ``memory.usage_in_bytes`` less the inactive
file cache) and the node's ``/proc/stat`` and ``/proc/meminfo``. ``usage`` (a pure function) turns two readings
into rates: CPU cores over the interval between them, the working set as read. A container first seen has no
rate until its second reading, as with cAdvisor, and a restarted container is a new one (its cgroup is new).
The latest ``Snapshot`` is what the agent's ``/stats/summary`` serves, in the kubelet's Summary API shape, to
the API server's ``metrics.k8s.io`` (as metrics-server scrapes kubelets); each snapshot is also appended to the
node's ``TSDB`` (one durable batch per period) and compacted every few periods.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from portside.metrics.tsdb import TSDB, Series
from portside.runtime.cgroups import Cgroup, Usage, host_usage

log = logging.getLogger("portside.agent.metrics")
DEFAULT_PERIOD_S = 10.0
COMPACT_EVERY_S = 300.0


@dataclass(frozen=True)
class Target:
    """One running container to read: its pod and name, and its cgroup."""

    namespace: str
    pod: str
    uid: str
    container: str
    cid: str
    cgroup: str


@dataclass(frozen=True)
class Reading:
    """Cumulative counters at one instant: the node's, and each target's (keyed by target; absent = gone)."""

    mono: float  # time.monotonic(): the interval's length never jumps with the wall clock
    wall: float
    node: Usage
    containers: dict[Target, Usage]


@dataclass(frozen=True)
class ContainerUsage:
    name: str
    cpu_cores: float
    memory_bytes: int
    cpu_ns: int  # cumulative, for the Summary API's usageCoreNanoSeconds


@dataclass(frozen=True)
class PodUsage:
    namespace: str
    name: str
    uid: str
    containers: tuple[ContainerUsage, ...]

    @property
    def cpu_cores(self) -> float:
        return sum(c.cpu_cores for c in self.containers)

    @property
    def memory_bytes(self) -> int:
        return sum(c.memory_bytes for c in self.containers)


@dataclass(frozen=True)
class Snapshot:
    """Rates over ``[wall - window, wall]``."""

    wall: float
    window: float
    node_cpu_cores: float
    node_memory_bytes: int
    node_cpu_ns: int
    pods: tuple[PodUsage, ...] = field(default=())


def usage(before: Reading, after: Reading) -> Snapshot:
    """The snapshot two readings make: a container read only once (new, or just gone) is left out."""
    window = after.mono - before.mono
    if window <= 0:
        raise ValueError(f"metrics: readings out of order (window {window:.3f} s)")
    pods: dict[str, list] = {}
    for target, now in after.containers.items():
        then = before.containers.get(target)
        if then is None:
            continue
        cores = max(0, now.cpu_ns - then.cpu_ns) / 1e9 / window
        pods.setdefault(target.uid, [target, []])[1].append(
            ContainerUsage(target.container, cores, now.working_set, now.cpu_ns))
    return Snapshot(
        wall=after.wall, window=window,
        node_cpu_cores=max(0, after.node.cpu_ns - before.node.cpu_ns) / 1e9 / window,
        node_memory_bytes=after.node.working_set, node_cpu_ns=after.node.cpu_ns,
        pods=tuple(PodUsage(t.namespace, t.pod, t.uid, tuple(sorted(cs, key=lambda c: c.name)))
                   for t, cs in sorted(pods.values(), key=lambda p: (p[0].namespace, p[0].pod))))


def read(targets: Iterable[Target]) -> Reading:
    """Read every target's cgroup and the node's counters; a cgroup that vanished is skipped."""
    out = {}
    for target in targets:
        found = Cgroup(target.cgroup).usage()
        if found is not None:
            out[target] = found
    return Reading(time.monotonic(), time.time(), host_usage(), out)


def samples(snap: Snapshot) -> list[tuple[Series, float]]:
    """The snapshot as time-series samples (Prometheus-style names; pods and containers labelled)."""
    out = [(Series.of("node_cpu_usage_cores"), snap.node_cpu_cores),
           (Series.of("node_memory_working_set_bytes"), snap.node_memory_bytes)]
    for pod in snap.pods:
        labels = {"namespace": pod.namespace, "pod": pod.name}
        out += [(Series.of("pod_cpu_usage_cores", labels), pod.cpu_cores),
                (Series.of("pod_memory_working_set_bytes", labels), pod.memory_bytes)]
        for c in pod.containers:
            mine = {**labels, "container": c.name}
            out += [(Series.of("container_cpu_usage_cores", mine), c.cpu_cores),
                    (Series.of("container_memory_working_set_bytes", mine), c.memory_bytes)]
    return out


def _stamp(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stats(stamp: str, cores: float, cpu_ns: int, memory: int) -> dict:
    return {"cpu": {"time": stamp, "usageNanoCores": round(cores * 1e9), "usageCoreNanoSeconds": cpu_ns},
            "memory": {"time": stamp, "workingSetBytes": memory}}


def summary(node: str, snap: Snapshot | None) -> dict:
    """The kubelet Summary API's shape (``/stats/summary``), with the sampling window in ``windowSeconds``."""
    if snap is None:
        return {"node": {"nodeName": node}, "pods": []}
    stamp = _stamp(snap.wall)
    pods = []
    for pod in snap.pods:
        containers = [{"name": c.name, **_stats(stamp, c.cpu_cores, c.cpu_ns, c.memory_bytes)}
                      for c in pod.containers]
        pods.append({"podRef": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
                     "containers": containers,
                     **_stats(stamp, pod.cpu_cores, sum(c.cpu_ns for c in pod.containers), pod.memory_bytes)})
    return {"node": {"nodeName": node, **_stats(stamp, snap.node_cpu_cores, snap.node_cpu_ns,
                                                 snap.node_memory_bytes)},
            "pods": pods, "windowSeconds": round(snap.window, 3)}


class Sampler:
    """Reads once a period in a thread, keeps the latest snapshot, writes each to ``tsdb`` when one is given.

    ``targets`` says what runs now (the agent's workers); it is called in the event loop, never in the thread.
    """

    def __init__(self, targets: Callable[[], list[Target]], tsdb: TSDB | None = None,
                 period: float = DEFAULT_PERIOD_S) -> None:
        if period <= 0:
            raise ValueError(f"metrics period must be positive seconds, got {period}")
        self.targets, self.tsdb, self.period = targets, tsdb, period
        self.latest: Snapshot | None = None
        self.cpu_seconds = 0.0  # the sampler's own thread CPU time, for the overhead benchmark
        self.rounds = 0

    async def run(self) -> None:
        before = await asyncio.to_thread(self._timed, read, self.targets())
        since_compact = 0.0
        next_at = time.monotonic() + self.period
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += self.period
            after = await asyncio.to_thread(self._timed, read, self.targets())
            self.latest, before = usage(before, after), after
            self.rounds += 1
            since_compact += self.period
            if self.tsdb is not None:
                try:
                    await asyncio.to_thread(self._timed, self._store, self.latest, since_compact >= COMPACT_EVERY_S)
                except Exception:  # noqa: BLE001 - a full disk must not stop the agent; the next period retries
                    log.exception("metrics: writing the sample failed")
                if since_compact >= COMPACT_EVERY_S:
                    since_compact = 0.0

    def _store(self, snap: Snapshot, compact: bool) -> None:
        self.tsdb.append(snap.wall, samples(snap))
        if compact:
            self.tsdb.compact(snap.wall)

    def _timed(self, fn, *args):
        start = time.thread_time()
        try:
            return fn(*args)
        finally:
            self.cpu_seconds += time.thread_time() - start


def open_store(directory: str | Path) -> TSDB:
    return TSDB(Path(directory) / "usage.db")
