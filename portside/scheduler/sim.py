"""The simulator: the real scheduler, queue and preemption over simulated nodes, driven by a virtual clock.

Events are pod arrivals and completions from the workload. At each instant the simulator applies completions
(freeing room), then arrivals, then lets the scheduler run until its active queue is empty; the clock then jumps
to the next event or to the next back-off expiry. A preempted pod is removed at once (its grace period takes no
virtual time) and submitted again, as a Job's controller would replace it; it runs its full duration anew.

Utilisation is time-weighted over the nodes in use at each moment (nodes running at least one pod): the share
of their cpu that running pods request.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from portside.scheduler.binder import InMemoryBinder
from portside.scheduler.model import NodeInfo, PodInfo
from portside.scheduler.optimize import pack
from portside.scheduler.profile import Profile, builtin_profiles, pick
from portside.scheduler.scheduler import Scheduler
from portside.scheduler.simspec import SimPod

DONE, ARRIVE = 0, 1  # at one instant, completions free room before arrivals ask for it


@dataclass
class PodRecord:
    name: str
    node: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    preempted: int = 0
    message: str = ""


@dataclass
class SimResult:
    placed: int
    pending: int
    preempted: int
    nodes_used: int
    peak_nodes_used: int
    mean_cpu_utilisation: float
    scheduler_s: float
    pods: int
    nodes: int
    end_s: float
    attempts: int
    records: list[PodRecord] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        out = asdict(self)
        del out["records"]
        return out


class Simulator:
    def __init__(self, nodes: list[NodeInfo], workload: list[SimPod], profile: str = "default",
                 profiles: dict[str, Profile] | None = None, keep_peak: bool = False, batches: bool = True) -> None:
        profiles = profiles or builtin_profiles()
        self.profile = pick(profiles, profile).name
        self.binder = InMemoryBinder(on_bind=self._started, on_evict=self._evicted)
        self.scheduler = Scheduler(self.binder, profiles, default_profile=self.profile)
        for info in nodes:
            self.scheduler.set_node(info, 0.0)
        self.work = {item.pod.uid: item for item in workload}
        self.records = {item.pod.uid: PodRecord(item.pod.name) for item in workload}
        self.events: list[tuple[float, int, int, str, int]] = []
        self.seq = itertools.count()
        self.runs: dict[str, int] = {}
        self.now = 0.0
        self.preempted = 0
        self.arrived: list[PodInfo] = []
        self._ever = np.zeros(len(nodes), dtype=bool)
        self._util_area = self._util_time = 0.0
        self._peak = 0
        self.node_infos = nodes
        self.keep_peak = keep_peak
        self.batches = batches
        self.peak: tuple[float, list[PodInfo], dict[str, str]] | None = None
        for item in workload:
            if item.pod.scheduler_name == "default-scheduler":
                item.pod.scheduler_name = self.profile
            self._push(item.arrival, ARRIVE, item.pod.uid)

    def _push(self, at: float, kind: int, uid: str) -> None:
        heapq.heappush(self.events, (at, kind, next(self.seq), uid, self.runs.get(uid, 0)))

    def _started(self, pod: PodInfo, node: str) -> None:
        record = self.records[pod.uid]
        record.node, record.message = node, ""
        record.start_s = self.now if record.start_s is None else record.start_s
        self.runs[pod.uid] = self.runs.get(pod.uid, 0) + 1
        self._push(self.now + self.work[pod.uid].duration, DONE, pod.uid)

    def _evicted(self, victim: PodInfo, preemptor: PodInfo, node: str) -> None:
        self.preempted += 1
        self.records[victim.uid].preempted += 1
        self.runs[victim.uid] = self.runs.get(victim.uid, 0) + 1  # its pending completion is now stale
        self.scheduler.pod_deleted(victim.uid, self.now)
        self.scheduler.enqueue(victim, self.now)

    def _apply(self, kind: int, uid: str, run: int) -> None:
        if kind == ARRIVE:
            self.arrived.append(self.work[uid].pod)
        elif run == self.runs.get(uid, 0):
            self.records[uid].end_s = self.now
            self.scheduler.pod_deleted(uid, self.now)

    def _advance(self, to: float) -> None:
        """Account utilisation for [now, to) before the clock moves."""
        nodes = self.scheduler.nodes
        used = nodes.requested[nodes.res_index["pods"], : nodes.n] > 0
        self._ever[: nodes.n] |= used
        if int(used.sum()) > self._peak:
            self._peak = int(used.sum())
            if self.keep_peak:
                self._keep_peak()
        if to > self.now and used.any():
            cpu = nodes.res_index["cpu"]
            alloc = nodes.alloc[cpu, : nodes.n][used].sum()
            if alloc > 0:
                self._util_area += (to - self.now) * nodes.requested[cpu, : nodes.n][used].sum() / alloc
                self._util_time += to - self.now
        self.now = max(self.now, to)

    def _keep_peak(self) -> None:
        """The placement at the moment the most nodes were in use: what ``optimize`` tries to shrink."""
        placed = [(pod, self.scheduler.nodes.names[row]) for pod, row in self.scheduler.nodes.placed.values()]
        self.peak = (self.now, [pod for pod, _ in placed], {pod.uid: node for pod, node in placed})

    def optimize(self, time_limit: float = 20.0) -> dict | None:
        """Fewer nodes for the peak placement, and the moves to get there (run after ``run``)."""
        if self.peak is None:
            return None
        at, pods, current = self.peak
        plan = pack(pods, self.node_infos, current=current, time_limit=time_limit)
        names = {p.uid: p.name for p in pods}
        return {"at_s": at, "nodes_before": len(set(current.values())), "nodes_after": plan.nodes_used,
                "lower_bound": plan.lower_bound, "optimal": plan.optimal,
                "moves": [{"pod": names[m.pod], "from": m.source, "to": m.target} for m in plan.moves]}

    def _next_time(self) -> float | None:
        wake = self.scheduler.queue.next_wakeup()
        head = self.events[0][0] if self.events else None
        times = [t for t in (wake, head) if t is not None]
        return min(times) if times else None

    def run(self) -> SimResult:
        spent = 0.0
        while (at := self._next_time()) is not None:
            self._advance(at)
            self.arrived = []
            while self.events and self.events[0][0] <= self.now:
                _, kind, _, uid, run = heapq.heappop(self.events)
                self._apply(kind, uid, run)
            if self.batches:  # pods arriving together form a batch the queue may order as a whole
                self.scheduler.enqueue_batch(self.arrived, self.now)
            else:
                for pod in self.arrived:
                    self.scheduler.enqueue(pod, self.now)
            started = time.perf_counter()
            self.scheduler.run(self.now)
            spent += time.perf_counter() - started
        self._advance(self.now)
        return self._result(spent)

    def _result(self, spent: float) -> SimResult:
        for uid, message in self.binder.refusals.items():
            if self.records[uid].node is None or uid in self.scheduler.queue.entries:
                self.records[uid].message = message
        pending = len(self.scheduler.queue)
        placed = sum(1 for r in self.records.values() if r.start_s is not None)
        return SimResult(placed=placed, pending=pending, preempted=self.preempted,
                         nodes_used=int(self._ever.sum()), peak_nodes_used=self._peak,
                         mean_cpu_utilisation=round(float(self._util_area / self._util_time), 4) if self._util_time else 0.0,
                         scheduler_s=round(spent, 4), pods=len(self.records), nodes=self.scheduler.nodes.n,
                         end_s=self.now, attempts=self.scheduler.attempts, records=list(self.records.values()))


@dataclass
class Placement:
    """Where every pod of one instant went: ``bound`` pod uid -> node name, ``pending`` uid -> the scheduler's
    refusal message, and each node's free room (resource -> integer units) after placement."""

    bound: dict[str, str]
    pending: dict[str, str]
    free: dict[str, dict[str, int]]


def place(nodes: list[NodeInfo], pods: list[PodInfo], profile: str = "default",
          profiles: dict[str, Profile] | None = None) -> Placement:
    """Submit every pod at once to the real scheduler over ``nodes`` and let it place what it can, with no
    completions and no virtual time: the question capacity planning asks (does this demand fit at one instant?).
    The pods arrive as one batch, so the profile's batch order (largest first for ``binpack``) applies."""
    profiles = profiles or builtin_profiles()
    name = pick(profiles, profile).name
    binder = InMemoryBinder()
    scheduler = Scheduler(binder, profiles, default_profile=name)
    for info in nodes:
        scheduler.set_node(info, 0.0)
    for pod in pods:
        if pod.scheduler_name == "default-scheduler":
            pod.scheduler_name = name
    scheduler.enqueue_batch(pods, 0.0)
    scheduler.run(0.0)
    arrays = scheduler.nodes
    free = {arrays.names[i]: {r: int(arrays.alloc[k, i] - arrays.requested[k, i]) for r, k in arrays.res_index.items()}
            for i in range(arrays.n)}
    pending = {pod.uid: binder.refusals.get(pod.uid, "not scheduled") for pod in pods if pod.uid not in binder.bound}
    return Placement(dict(binder.bound), pending, free)
