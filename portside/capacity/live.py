"""The cluster's own usage history as a ``Trace``: pure functions over what ``source.LiveSource`` fetched.

Inputs: each node's pod history (its agent's ``/stats/history``: per pod, buckets of one step with the mean CPU
and the peak memory, and the pod's controller as it was when sampled) and the API's current Pods,
ReplicaSets, Deployments and Jobs.

Pods are grouped into workloads by their controller: a ReplicaSet's pods belong to the Deployment that owns it
(a ReplicaSet deleted since, an old revision, is still recognised by its name, which a Deployment makes as its
own name, a dash and the template hash), a Job's to the Job, a pod without a controller is a workload of its
own. Only workloads that exist now are kept: a plan is for what will run. Per step, a workload's usage is the
sum over its pods and its replicas are the pods that were running; a pod missing from a step between its first
and last sample (a sample that fell into the next bucket, a node that did not answer for a while) counts with
its previous value, so the sum does not dip. Requests per replica come from the workload's current pod
template (the pod's own spec for a bare pod), OOM kills from the current pods' last terminations.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from portside.capacity.trace import Trace, WorkloadSeries

__all__ = ["STEPS", "Objects", "WorkloadKey", "assemble", "pick_step"]

STEPS = (10, 15, 20, 30, 60, 100, 150, 300)  # divisors of the 5-minute rollup, finest first
TARGET_BUCKETS = 300  # a young history is read at the finest step that keeps it near this many buckets
_HASH = re.compile(r"[a-z0-9]+")


def pick_step(span_s: float) -> int:
    """The step to read a history of ``span_s`` seconds at: the rollup's 5 minutes for a day or more (what the
    agents keep for 35 days), finer for a younger cluster, so that an hour of history is not one sample."""
    return next((s for s in STEPS if span_s / s <= TARGET_BUCKETS), STEPS[-1])


@dataclass(frozen=True, order=True)
class WorkloadKey:
    namespace: str
    kind: str  # Deployment, Job, ReplicaSet, Pod, or another controller's kind
    name: str


@dataclass
class Objects:
    """The API's current objects, typed models (``portside.api.models``)."""

    pods: list = field(default_factory=list)
    replicasets: list = field(default_factory=list)
    deployments: list = field(default_factory=list)
    jobs: list = field(default_factory=list)


def _controller(meta) -> tuple[str, str]:
    ref = next((r for r in meta.owner_references or [] if r.controller), None)
    return (ref.kind, ref.name) if ref else ("", "")


def _key(meta) -> tuple[str, str]:
    return meta.namespace or "default", meta.name


class _Owners:
    """Which workload a pod belongs to, from the current objects."""

    def __init__(self, objects: Objects) -> None:
        self.pods = {_key(p.metadata): p for p in objects.pods}
        self.replicasets = {_key(r.metadata): r for r in objects.replicasets}
        self.deployments = {_key(d.metadata): d for d in objects.deployments}
        self.jobs = {_key(j.metadata): j for j in objects.jobs}

    def workload(self, namespace: str, pod: str, recorded: tuple[str, str]) -> WorkloadKey:
        current = self.pods.get((namespace, pod))
        kind, name = _controller(current.metadata) if current is not None else recorded
        if kind == "ReplicaSet":
            return self._of_replicaset(namespace, name)
        if not kind:
            return WorkloadKey(namespace, "Pod", pod)
        return WorkloadKey(namespace, kind, name)

    def _of_replicaset(self, namespace: str, name: str) -> WorkloadKey:
        rs = self.replicasets.get((namespace, name))
        if rs is not None:
            kind, owner = _controller(rs.metadata)
            return WorkloadKey(namespace, kind, owner) if kind else WorkloadKey(namespace, "ReplicaSet", name)
        made = [d for ns, d in self.deployments if ns == namespace and name.startswith(d + "-")
                and _HASH.fullmatch(name[len(d) + 1:])]
        if made:
            return WorkloadKey(namespace, "Deployment", max(made, key=len))
        return WorkloadKey(namespace, "ReplicaSet", name)

    def exists(self, w: WorkloadKey) -> bool:
        table = {"Deployment": self.deployments, "Job": self.jobs, "ReplicaSet": self.replicasets,
                 "Pod": self.pods}.get(w.kind)
        return table is None or (w.namespace, w.name) in table

    def template(self, w: WorkloadKey):
        """The pod spec the workload's replicas are made from now (None when unknown)."""
        found = {"Deployment": self.deployments, "Job": self.jobs, "ReplicaSet": self.replicasets}.get(w.kind)
        if found is not None:
            obj = found.get((w.namespace, w.name))
            return obj.spec.template.spec if obj is not None and obj.spec and obj.spec.template else None
        pod = self.pods.get((w.namespace, w.name)) if w.kind == "Pod" else None
        return pod.spec if pod is not None else None


def _requests(spec) -> tuple[float, float]:
    """Per replica: cores and bytes requested (NaN when the spec is unknown or requests nothing of it)."""
    from portside.scheduler.wire import WireError, pod_requests

    if spec is None:
        return math.nan, math.nan
    try:
        got = pod_requests(spec, "spec")
    except WireError:
        return math.nan, math.nan
    return (got["cpu"] / 1000 if got.get("cpu") else math.nan,
            float(got["memory"]) if got.get("memory") else math.nan)


def _oom_killed(pod) -> bool:
    for status in (pod.status.container_statuses if pod.status else None) or []:
        for state in (status.last_state, status.state):
            terminated = state.terminated if state is not None else None
            if terminated is not None and terminated.reason == "OOMKilled":
                return True
    return False


@dataclass
class _PodSeries:
    t: np.ndarray
    cpu: np.ndarray
    memory: np.ndarray


def _on_grid(pods: list[_PodSeries], grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums over ``pods`` on ``grid``, each pod counted from its first to its last sample with its latest value."""
    cpu, memory, replicas = np.zeros(len(grid)), np.zeros(len(grid)), np.zeros(len(grid))
    for p in pods:
        alive = (grid >= p.t[0]) & (grid <= p.t[-1])
        latest = np.clip(np.searchsorted(p.t, grid, side="right") - 1, 0, len(p.t) - 1)
        cpu += np.where(alive, p.cpu[latest], 0.0)
        memory += np.where(alive, p.memory[latest], 0.0)
        replicas += alive
    return cpu, memory, replicas


def _names(keys: list[WorkloadKey]) -> dict[WorkloadKey, str]:
    """``NAMESPACE/NAME``, with the kind added where two workloads of one namespace share a name."""
    count = defaultdict(int)
    for k in keys:
        count[(k.namespace, k.name)] += 1
    return {k: f"{k.namespace}/{k.name}" + (f" ({k.kind})" if count[(k.namespace, k.name)] > 1 else "")
            for k in keys}


def assemble(histories: list[dict], objects: Objects, step: float, namespace: str | None = None) -> Trace:
    """The trace of every current workload (of ``namespace`` only, when given) from the nodes' histories."""
    owners = _Owners(objects)
    grouped: dict[WorkloadKey, list[_PodSeries]] = defaultdict(list)
    for history in histories:
        for pod in history.get("pods") or []:
            ns = pod.get("namespace") or "default"
            if (namespace and ns != namespace) or not pod.get("t"):
                continue
            owner = pod.get("owner") or {}
            key = owners.workload(ns, pod.get("name", ""), (owner.get("kind", ""), owner.get("name", "")))
            if owners.exists(key):
                grouped[key].append(_PodSeries(np.asarray(pod["t"], dtype=float),
                                               np.asarray(pod["cpu"], dtype=float),
                                               np.asarray(pod["memory"], dtype=float)))
    names = _names(sorted(grouped))
    kills = defaultdict(int)
    for p in objects.pods:
        if _oom_killed(p):
            ns, name = _key(p.metadata)
            kills[owners.workload(ns, name, ("", ""))] += 1
    trace = Trace(step_s=float(step))
    for key, pods in sorted(grouped.items()):
        grid = np.unique(np.concatenate([p.t for p in pods]))
        cpu, memory, replicas = _on_grid(pods, grid)
        cpu_request, memory_request = _requests(owners.template(key))
        oom = np.zeros(len(grid))
        oom[-1] = kills[key]
        trace.workloads[names[key]] = WorkloadSeries(
            names[key], grid, cpu, memory, replicas, np.full(len(grid), cpu_request),
            np.full(len(grid), memory_request), oom)
    return trace
