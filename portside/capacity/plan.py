"""Capacity plans: how many nodes of one shape the forecast demand needs, asked of the real scheduler.

Demand becomes pods. Each workload's pod count at the target percentile is what carries that percentile of its
forecast demand at its recommended request per replica (``histogram``), as a HorizontalPodAutoscaler aiming at
100 % of requests would scale it: ``n = max(1, ceil(D_cpu / r_cpu), ceil(D_mem / r_mem))``; each of the ``n``
pods requests ``D / n`` (``analysis.demands``). Every pod is then submitted at once to the scheduler (``scheduler.sim.place``) over
``n`` simulated nodes; the plan is the smallest ``n`` that leaves no pod pending, plus ``spare`` nodes for node
failures. Placement, not division: per-pod granularity, the pods-per-node limit and whatever the profile's
filters and scores do decide the count, and a what-if answer carries the scheduler's own refusal message.
The profile is ``binpack`` unless asked otherwise: the question is how few nodes suffice, and the spreading
``default`` profile, offered every pod at once, strands room on every node (on 300 workloads it needs about 30 %
more nodes than the packing bound, ``binpack`` one more).

The search starts at the bound no placement can beat (the larger of total cpu, total memory and pod count over
one node's allocatable) and walks up; from there a greedy scheduler usually succeeds within a node or two, and
after a few misses the step doubles and a bisection finds the first count that fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from portside.scheduler.model import NodeInfo, PodInfo
from portside.scheduler.sim import Placement, place
from portside.scheduler.simspec import SimInputError, parse_node_spec

__all__ = ["Demand", "Fit", "NodeShape", "fragmentation", "headroom", "lower_bound", "pods_for", "replicas_for",
           "smallest_fit", "try_fit"]

LINEAR_TRIES = 4


@dataclass(frozen=True)
class NodeShape:
    """One node's allocatable, in the scheduler's integer units (millicores, bytes)."""

    spec: str
    allocatable: dict[str, int]

    @classmethod
    def parse(cls, spec: str) -> NodeShape:
        """``cpu=8,memory=32Gi[,pods=110]``; errors name the field, as ``portside sim --nodes`` does."""
        try:
            (node,) = parse_node_spec(f"1x{spec}")
        except SimInputError as err:
            raise SimInputError(str(err).replace("--nodes: group 1 '1x", "--node-shape: '")) from None
        return cls(spec, dict(node.allocatable))

    def nodes(self, count: int) -> list[NodeInfo]:
        return [NodeInfo(f"node-{i + 1:05d}", dict(self.allocatable)) for i in range(count)]


@dataclass
class Demand:
    """A workload's pods for one instant: ``pods`` replicas of ``cpu`` cores and ``memory`` bytes each."""

    name: str
    pods: int
    cpu: float
    memory: float

    def requests(self) -> dict[str, int]:
        return {"cpu": max(1, math.ceil(self.cpu * 1000 - 1e-9)), "memory": max(1, math.ceil(self.memory))}


def pods_for(demands: list[Demand]) -> list[PodInfo]:
    pods = []
    for d in demands:
        namespace, _, name = d.name.rpartition("/")
        requests = d.requests()
        pods += [PodInfo(f"{name}-{k}", namespace or "default", labels={"app": name}, requests=dict(requests))
                 for k in range(d.pods)]
    return pods


def replicas_for(cpu_demand: float, memory_demand: float, cpu_request: float, memory_request: float) -> int:
    return max(1, math.ceil(cpu_demand / cpu_request - 1e-9), math.ceil(memory_demand / memory_request - 1e-9))


@dataclass
class Fit:
    nodes: int
    placement: Placement
    probes: int

    @property
    def pending(self) -> int:
        return len(self.placement.pending)


def try_fit(shape: NodeShape, count: int, pods: list[PodInfo], profile: str = "binpack") -> Placement:
    for pod in pods:  # a PodInfo carries the profile it was given; each probe starts from the default
        pod.scheduler_name = "default-scheduler"
    return place(shape.nodes(count), pods, profile)


def lower_bound(shape: NodeShape, pods: list[PodInfo]) -> int:
    need = {"cpu": 0, "memory": 0, "pods": len(pods)}
    for pod in pods:
        need["cpu"] += pod.requests.get("cpu", 0)
        need["memory"] += pod.requests.get("memory", 0)
    return max(1, *(math.ceil(v / shape.allocatable[r]) for r, v in need.items() if shape.allocatable.get(r)))


def smallest_fit(shape: NodeShape, pods: list[PodInfo], profile: str = "binpack", limit: int = 100_000) -> Fit:
    """The smallest node count on which the scheduler places every pod, with that placement."""
    probes = 0

    def attempt(n: int) -> Placement:
        nonlocal probes
        probes += 1
        return try_fit(shape, n, pods, profile)

    low = lower_bound(shape, pods) - 1  # known not to fit (or zero)
    n, step = low + 1, 1
    while True:
        placed = attempt(n)
        if not placed.pending:
            break
        if n >= limit:
            raise SimInputError(f"the demand does not fit on {limit} nodes of {shape.spec}: "
                                f"{next(iter(placed.pending.values()))}")
        low = n
        if probes >= LINEAR_TRIES:
            step *= 2
        n = min(n + step, limit)
    high, best = n, placed
    while high - low > 1:  # first count that fits between a miss and a fit
        mid = (low + high) // 2
        placed = attempt(mid)
        if placed.pending:
            low = mid
        else:
            high, best = mid, placed
    return Fit(high, best, probes)


def headroom(placement: Placement, demands: list[Demand]) -> dict[str, int]:
    """Per workload: how many more replicas of its shape fit in the room left on the nodes."""
    free = np.array([[f.get("cpu", 0), f.get("memory", 0), f.get("pods", 0)] for f in placement.free.values()],
                    dtype=float).reshape(-1, 3)
    out = {}
    for d in demands:
        r = d.requests()
        per_node = np.minimum(np.minimum(free[:, 0] // r["cpu"], free[:, 1] // r["memory"]), free[:, 2])
        out[d.name] = int(np.maximum(per_node, 0).sum())
    return out


def fragmentation(placement: Placement, demands: list[Demand]) -> dict[str, float]:
    """Free room on nodes where no workload's pod shape fits any more: capacity no typical pod can use."""
    shapes = np.array([[d.requests()["cpu"], d.requests()["memory"]] for d in demands], dtype=float).reshape(-1, 2)
    stranded_cpu = stranded_mem = free_cpu = free_mem = 0.0
    for f in placement.free.values():
        cpu, mem = f.get("cpu", 0), f.get("memory", 0)
        free_cpu, free_mem = free_cpu + cpu, free_mem + mem
        usable = f.get("pods", 0) > 0 and bool(((shapes[:, 0] <= cpu) & (shapes[:, 1] <= mem)).any())
        if not usable:
            stranded_cpu, stranded_mem = stranded_cpu + cpu, stranded_mem + mem
    return {"free_cpu": free_cpu / 1000, "free_memory": free_mem, "stranded_cpu": stranded_cpu / 1000,
            "stranded_memory": stranded_mem,
            "stranded_cpu_share": round(stranded_cpu / free_cpu, 4) if free_cpu else 0.0}
