"""Builders of small hand-built clusters: nodes, pods, and a scheduler to ask where a pod goes."""

from __future__ import annotations

from dataclasses import dataclass

from portside.api.selectors import selector_from_object, selector_from_set
from portside.scheduler import InMemoryBinder, NodeInfo, PodInfo, Scheduler
from portside.scheduler.model import Selector

GI = 1 << 30


def node(name: str, cpu: float = 4, mem_gi: int = 8, labels: dict | None = None, **kw) -> NodeInfo:
    alloc = {"cpu": int(cpu * 1000), "memory": mem_gi * GI, **kw.pop("extra", {})}
    return NodeInfo(name, alloc, dict(labels or {}), **kw)


def pod(name: str, cpu: float = 0.5, mem_gi: float = 0.5, **kw) -> PodInfo:
    """``node_selector`` may be given as a dict of labels."""
    requests = {"cpu": int(cpu * 1000), "memory": int(mem_gi * GI), **kw.pop("extra", {})}
    if isinstance(kw.get("node_selector"), dict):
        kw["node_selector"] = selector_from_set(kw["node_selector"])
    return PodInfo(name, requests=requests, **kw)


def match(**labels: str) -> Selector:
    """A labelSelector with these matchLabels, compiled as the API's selectors compile it."""
    return selector_from_object({"matchLabels": labels})


@dataclass
class Cluster:
    """A scheduler with an in-memory binder, and helpers to ask where a pod goes."""

    sched: Scheduler
    binder: InMemoryBinder
    profile: str = "default-scheduler"
    now: float = 0.0

    def run(self, *pods: PodInfo) -> None:
        for p in pods:
            p.scheduler_name = self.profile
            self.sched.enqueue(p, self.now)
        self.sched.run(self.now)

    def bind(self, p: PodInfo, node_name: str) -> None:
        """A pod already running on a node (placed by hand, not by the scheduler)."""
        self.sched.pod_bound(p, node_name, self.now)

    def place(self, p: PodInfo) -> str | None:
        self.run(p)
        return self.binder.bound.get(p.uid)

    def refusal(self, p: PodInfo) -> str:
        assert self.place(p) is None, f"{p.name} was placed"
        return self.binder.refusals[p.uid]


def make_cluster(nodes: list[NodeInfo], profile: str = "default-scheduler") -> Cluster:
    binder = InMemoryBinder()
    sched = Scheduler(binder, default_profile=profile)
    for info in nodes:
        sched.set_node(info, 0.0)
    return Cluster(sched, binder, profile)
