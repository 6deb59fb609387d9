"""Resource-usage sampling: every container's and pod's CPU and memory, and the node's, once a period.

Theory of operation. Each period the sampler reads cumulative counters straight from files (no subprocess):
a running container's cgroup (``cpuacct.usage`` or ``cpu.stat``, ``memory.usage_in_bytes`` less the inactive
file cache) and the node's ``/proc/stat`` and ``/proc/meminfo``. ``usage`` (a pure function) turns two readings
into rates: CPU cores over the interval between them, the working set as read. A container first seen has no
rate until its second reading, as with cAdvisor, and a restarted container is a new one (its cgroup is new).
The latest ``Snapshot`` is what the agent's ``/stats/summary`` serves, in the kubelet's Summary API shape, to
the API server's ``metrics.k8s.io`` (as metrics-server scrapes kubelets); each snapshot is also appended to the
node's ``TSDB`` (one durable batch per period) and compacted every few periods. Pod series carry the pod's
controller (``owner_kind``, ``owner_name``), so that the history of a pod deleted since (a rollout's old
replicas) still says whose it was; ``history`` serves them to the capacity planner, through the API server's
``nodes/NAME/proxy/stats/history``.
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
POD_CPU, POD_MEMORY = "pod_cpu_usage_cores", "pod_memory_working_set_bytes"


@dataclass(frozen=True)
class Target:
    """One running container to read: its pod and name, and its cgroup."""

    namespace: str
    pod: str
    uid: str
    container: str
    cid: str
    cgroup: str
    owner_kind: str = ""  # the pod's controller (its ownerReference with controller: true), if any
    owner_name: str = ""


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
    owner: tuple[str, str] = ("", "")  # kind, name

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
        pods=tuple(PodUsage(t.namespace, t.pod, t.uid, tuple(sorted(cs, key=lambda c: c.name)),
                            (t.owner_kind, t.owner_name))
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
        owned = {**labels, "owner_kind": pod.owner[0], "owner_name": pod.owner[1]} if pod.owner[0] else labels
        out += [(Series.of(POD_CPU, owned), pod.cpu_cores), (Series.of(POD_MEMORY, owned), pod.memory_bytes)]
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


def history(tsdb: TSDB, start: float, end: float, step: int) -> list[dict]:
    """Every pod's usage in buckets of ``step`` seconds from ``start`` (``TSDB.buckets``): the mean CPU (cores)
    and the peak memory working set (bytes) of each bucket, with the pod's controller. Series of one pod under
    different labels (samples written before pods carried their owner) are merged."""
    pods: dict[tuple[str, str], dict] = {}
    for metric, key in ((POD_CPU, "cpu"), (POD_MEMORY, "memory")):
        for series in tsdb.series(metric):
            labels = series.label_map
            pod = pods.setdefault((labels.get("namespace", ""), labels.get("pod", "")),
                                  {"owner": ("", ""), "cpu": {}, "memory": {}})
            if labels.get("owner_kind"):
                pod["owner"] = (labels["owner_kind"], labels.get("owner_name", ""))
            for bucket in tsdb.buckets(series, start, end, step):
                held = pod[key].get(bucket.t)
                pod[key][bucket.t] = bucket if held is None else held.merge(bucket)
    return [_pod_history(ns, name, pod) for (ns, name), pod in sorted(pods.items())]


def _pod_history(namespace: str, name: str, pod: dict) -> dict:
    times = sorted(set(pod["cpu"]) & set(pod["memory"]))
    return {"namespace": namespace, "name": name, "owner": {"kind": pod["owner"][0], "name": pod["owner"][1]},
            "t": times, "cpu": [round(pod["cpu"][t].mean, 6) for t in times],
            "memory": [round(pod["memory"][t].max) for t in times]}


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
