"""How many replicas a resource metric asks for: Kubernetes' replica calculator, pure (pods and samples in, a
proposal out; the controller in ``horizontal.py`` does the reading).

The rule is ``desired = ceil(current_pods * usage / target)``, with usage and target both averages per pod:
a utilization is the pods' summed usage over their summed requests, in whole percent (rounded down, as
Kubernetes computes it); a raw target is the average usage. Within a tolerance of 1 (10 % by default) the
count stays as it is, so that noise does not make the target flap.

Not every matching pod has a trustworthy sample, and the calculation leans the safe way, as Kubernetes does:

* pods being deleted and failed pods are ignored;
* pending pods, and for CPU pods that are not Ready, or still starting (within the CPU initialization period
  after their start, a sample from before one full window after they turned Ready), are *unready*: their usage is
  left out; should the others ask for a scale-up, the unready ones count as using nothing (0 %), which damps it;
* pods without a sample are *missing*: on a scale-down they count as using their whole request (or the target,
  when it is above 100 %), on a scale-up as using nothing;
* once those fill-ins are in, a result that would cross to the other direction, or stay within tolerance, is
  no change at all.

Values are integers in milli-units (millicores, millibytes), as Kubernetes' ``MilliValue``; float arithmetic
follows Kubernetes' own, so both round alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from portside.api import models
from portside.api.quantity import parse_quantity
from portside.controllers.pods import condition, seconds

__all__ = ["PodMetric", "Timing", "Groups", "Proposal", "MetricError", "group_pods", "requests_of",
           "utilization_ratio", "resource_replicas", "raw_replicas", "DEFAULT_TOLERANCE", "milli"]

DEFAULT_TOLERANCE = 0.1


class MetricError(Exception):
    """No proposal can be made; the message says why, in Kubernetes' words (it lands in Events and conditions)."""


@dataclass(frozen=True)
class PodMetric:
    value: int  # milli-units over the pod's containers (or the one container asked for)
    timestamp: float  # the end of the sampled window, epoch seconds
    window: float  # the window's length, seconds


@dataclass(frozen=True)
class Timing:
    """When a pod's CPU sample can be trusted (kube-controller-manager's flags of the same names)."""

    cpu_initialization_period: float = 300.0
    initial_readiness_delay: float = 30.0


@dataclass
class Groups:
    ready: int = 0
    unready: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Proposal:
    replicas: int
    average: int  # the pods' average usage, milli-units
    utilization: int | None = None  # percent of the requests, for a utilization target


def milli(quantity: str) -> int:
    """A quantity in milli-units, rounded up as Kubernetes' ``MilliValue``."""
    return math.ceil(parse_quantity(quantity) * 1000)


def _unready_cpu(pod: models.Pod, metric: PodMetric, now: float, timing: Timing) -> bool:
    ready = condition(pod, "Ready")
    start = seconds(pod.status.start_time if pod.status else None)
    if ready is None or start is None:
        return True
    turned = seconds(ready.last_transition_time) or start
    if start + timing.cpu_initialization_period > now:  # still starting: its first samples include the start
        return ready.status == "False" or metric.timestamp < turned + metric.window
    # long started: left out only if it never was Ready since it started
    return ready.status == "False" and start + timing.initial_readiness_delay > turned


def group_pods(pods: list[models.Pod], metrics: dict[str, PodMetric], resource: str, now: float,
               timing: Timing = Timing()) -> Groups:
    out = Groups()
    for pod in pods:
        name, phase = pod.metadata.name or "", pod.status.phase if pod.status else None
        if pod.metadata.deletion_timestamp or phase == "Failed":
            out.ignored.add(name)
        elif phase == "Pending" or phase is None:
            out.unready.add(name)
        elif name not in metrics:
            out.missing.add(name)
        elif resource == "cpu" and _unready_cpu(pod, metrics[name], now, timing):
            out.unready.add(name)
        else:
            out.ready += 1
    return out


def _containers(pod: models.Pod) -> list[models.Container]:
    """The containers whose usage a pod's sample sums: its containers and its sidecars (restartable inits)."""
    spec = pod.spec or models.PodSpec()
    sidecars = [c for c in spec.init_containers or [] if c.restart_policy == "Always"]
    return [*(spec.containers or []), *sidecars]


def requests_of(pods: list[models.Pod], resource: str, container: str = "") -> dict[str, int]:
    """Each pod's request of ``resource`` (milli-units): its containers' sum, or the one named ``container``."""
    out = {}
    for pod in pods:
        total, found = 0, False
        for c in _containers(pod):
            if container and c.name != container:
                continue
            request = ((c.resources.requests if c.resources else None) or {}).get(resource)
            if request is None:
                raise MetricError(f"missing request for {resource} in container {c.name} of Pod {pod.metadata.name}")
            total, found = total + milli(request), True
        if container and not found:
            raise MetricError(f"container {container} not found in Pod {pod.metadata.name}")
        out[pod.metadata.name or ""] = total
    return out


def utilization_ratio(usage: dict[str, int], requests: dict[str, int], target: int) -> tuple[float, int, int]:
    """(usage / target, utilization in whole percent, average usage) over the pods that have both."""
    used = [(value, requests[name]) for name, value in usage.items() if name in requests]
    total_request = sum(r for _, r in used)
    if total_request == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = sum(v for v, _ in used) * 100 // total_request
    return utilization / target, utilization, sum(v for v, _ in used) // len(used)


def _within(ratio: float, tolerance: float) -> bool:
    return abs(1.0 - ratio) <= tolerance


def _usable(pods: list[models.Pod], metrics: dict[str, PodMetric], resource: str, now: float,
            timing: Timing) -> tuple[Groups, dict[str, int]]:
    """The groups, and the usage of the pods whose samples count as they are."""
    if not pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    groups = group_pods(pods, metrics, resource, now, timing)
    usage = {n: m.value for n, m in metrics.items() if n not in groups.ignored and n not in groups.unready}
    if not usage:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    return groups, usage


def _settle(current: int, ratio: float, groups: Groups, usage: dict[str, int], missing_on_scale_down: dict[str, int],
            ratio_of: Callable[[dict[str, int]], float], tolerance: float) -> int:
    """The count, once unready and missing pods are filled in when there are any."""
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        return current if _within(ratio, tolerance) else math.ceil(ratio * groups.ready)
    filled = dict(usage)
    if ratio < 1.0:
        filled.update(missing_on_scale_down)
    elif ratio > 1.0:
        filled.update(dict.fromkeys(groups.missing, 0))
    if scale_up_with_unready:
        filled.update(dict.fromkeys(groups.unready, 0))
    new_ratio = ratio_of(filled)
    if _within(new_ratio, tolerance) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current  # too small a change, or the fill-ins turned the direction round
    replicas = math.ceil(new_ratio * len(filled))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current  # counting more pods turned the direction round
    return replicas


def resource_replicas(current: int, target_utilization: int, resource: str, pods: list[models.Pod],
                      metrics: dict[str, PodMetric], *, container: str = "", now: float,
                      tolerance: float = DEFAULT_TOLERANCE, timing: Timing = Timing()) -> Proposal:
    """The count for a Utilization target (percent of the pods' requests)."""
    groups, usage = _usable(pods, metrics, resource, now, timing)
    requests = requests_of(pods, resource, container)
    ratio, utilization, average = utilization_ratio(usage, requests, target_utilization)
    as_used = max(100, target_utilization)  # a missing pod on a scale-down: its whole request, or the target
    missing = {name: requests[name] * as_used // 100 for name in groups.missing}
    replicas = _settle(current, ratio, groups, usage, missing,
                       lambda filled: utilization_ratio(filled, requests, target_utilization)[0], tolerance)
    return Proposal(replicas, average, utilization)


def raw_replicas(current: int, target_average: int, resource: str, pods: list[models.Pod],
                 metrics: dict[str, PodMetric], *, now: float, tolerance: float = DEFAULT_TOLERANCE,
                 timing: Timing = Timing()) -> Proposal:
    """The count for an AverageValue target (milli-units per pod); a missing pod counts as the target."""
    groups, usage = _usable(pods, metrics, resource, now, timing)

    def ratio_of(values: dict[str, int]) -> float:
        return (sum(values.values()) // len(values)) / target_average

    average = sum(usage.values()) // len(usage)
    replicas = _settle(current, ratio_of(usage), groups, usage, dict.fromkeys(groups.missing, target_average),
                       ratio_of, tolerance)
    return Proposal(replicas, average)
