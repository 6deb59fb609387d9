"""An autoscaler's metrics, each turned into a replica proposal and a status entry; pure (the controller fetches
the pods and the ``metrics.k8s.io`` samples and hands them in).

As in Kubernetes, every metric proposes a count and the highest wins. A metric that cannot be read says why in
a ``Failure`` (the reason becomes an Event and, if nothing could be read, the ScalingActive condition); when some
metrics fail, the others still scale the target up, but never down, since the failed ones might have objected.
Only resource metrics have a source here: Pods, Object and External metrics need a custom or external metrics
API, which this cluster does not serve, so they fail the way Kubernetes fails without one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from portside.api import models
from portside.api.quantity import format_quantity
from portside.controllers.pods import seconds
from portside.controllers.replicacalc import (
    MetricError,
    PodMetric,
    Proposal,
    Timing,
    milli,
    raw_replicas,
    resource_replicas,
)

__all__ = ["Sample", "Failure", "Outcome", "pod_usage", "evaluate", "duration"]

Samples = list[models.PodMetrics] | MetricError  # the metrics API's answer, or why there is none
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_REASONS = {"Resource": "FailedGetResourceMetric", "ContainerResource": "FailedGetContainerResourceMetric",
            "Pods": "FailedGetPodsMetric", "Object": "FailedGetObjectMetric", "External": "FailedGetExternalMetric"}


@dataclass(frozen=True)
class Sample:
    """One metric read: what it proposes, what it is called in an Event, and its status entry."""

    replicas: int
    name: str
    status: models.MetricStatus


@dataclass(frozen=True)
class Failure:
    reason: str  # FailedGetResourceMetric, ...: the Event's reason and the ScalingActive condition's
    message: str  # the Event's message
    wrapped: str  # the same, as the sync's overall error quotes it


@dataclass
class Outcome:
    """All metrics of one sync. ``replicas`` is -1 when nothing may be done (``error`` says why)."""

    replicas: int = 0
    name: str = ""
    statuses: list[models.MetricStatus] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    error: str = ""


def duration(text: str | None) -> float:
    """A Go duration (``"10s"``, ``"1m30s"``, ``"1.5s"``) in seconds; 0 for none."""
    return sum(float(n) * _UNIT_S[unit] for n, unit in _DURATION.findall(text or ""))


def pod_usage(samples: list[models.PodMetrics], resource: str, container: str = "") -> dict[str, PodMetric]:
    """Each pod's usage of ``resource`` (its containers' sum, or the named one's); a pod some container of which
    lacks the resource is left out, as if it had no sample."""
    out = {}
    for sample in samples:
        containers = [c for c in sample.containers or [] if not container or c.name == container]
        values = [(c.usage or {}).get(resource) for c in containers]
        if not values or None in values:
            continue
        out[sample.metadata.name or ""] = PodMetric(sum(milli(v) for v in values),
                                                    seconds(sample.timestamp) or 0.0, duration(sample.window))
    return out


def _quantity(value: int) -> str:
    return format_quantity(Fraction(value, 1000))


def _resource(metric: models.MetricSpec, source, current: int, pods: list[models.Pod], samples: Samples,
              container: str, now: float, tolerance: float, timing: Timing) -> Sample:
    target = source.target or models.MetricTarget()
    resource = source.name or ""
    if target.average_value is not None:
        verb, name = "usage", f"{resource} resource"
    elif target.average_utilization is not None:
        verb = "utilization"
        kind = "container resource" if container else "resource"
        name = f"{resource} {kind} utilization (percentage of request)"
    else:
        raise MetricError("invalid resource metric source: neither an average utilization target nor an average "
                          "value (usage) target was set")
    try:
        proposal = _propose(target, resource, current, pods, samples, container, now, tolerance, timing)
    except MetricError as exc:
        raise MetricError(f"failed to get {resource} {verb}: {exc}") from None
    value = models.MetricValueStatus(average_value=_quantity(proposal.average),
                                     average_utilization=proposal.utilization)
    if container:
        status = models.MetricStatus(type="ContainerResource", container_resource=models.ContainerResourceMetricStatus(
            name=resource, container=container, current=value))
    else:
        status = models.MetricStatus(type="Resource", resource=models.ResourceMetricStatus(name=resource, current=value))
    return Sample(proposal.replicas, name, status)


def _propose(target: models.MetricTarget, resource: str, current: int, pods: list[models.Pod], samples: Samples,
             container: str, now: float, tolerance: float, timing: Timing) -> Proposal:
    if isinstance(samples, MetricError):
        raise MetricError(f"unable to get metrics for resource {resource}: {samples}")
    usage = pod_usage(samples, resource, container)
    if target.average_value is not None:
        return raw_replicas(current, milli(target.average_value), resource, pods, usage, now=now,
                            tolerance=tolerance, timing=timing)
    return resource_replicas(current, target.average_utilization, resource, pods, usage, container=container,
                             now=now, tolerance=tolerance, timing=timing)


def _unserved(metric: models.MetricSpec, namespace: str) -> MetricError:
    """Why a custom or external metric cannot be read here."""
    if metric.type == "External":
        name = ((metric.external.metric if metric.external else None) or models.MetricIdentifier()).name
        return MetricError(f"unable to get external metric {namespace}/{name}: unable to fetch metrics from "
                           f"external metrics API: no external metrics API (external.metrics.k8s.io) registered")
    source = metric.pods if metric.type == "Pods" else metric.object
    name = ((source.metric if source else None) or models.MetricIdentifier()).name
    return MetricError(f"unable to get metric {name}: unable to fetch metrics from custom metrics API: no custom "
                       f"metrics API (custom.metrics.k8s.io) registered")


def _wrapped(metric: models.MetricSpec, message: str) -> str:
    """The error as Kubernetes' computeReplicasForMetric words it for the overall failure."""
    if metric.type == "Resource":
        return f"failed to get {(metric.resource or models.ResourceMetricSource()).name} resource metric value: " \
               f"{message}"
    if metric.type == "ContainerResource":
        source = metric.container_resource or models.ContainerResourceMetricSource()
        return f"failed to get {source.container} container metric value: {message}"
    if metric.type == "External":
        name = ((metric.external.metric if metric.external else None) or models.MetricIdentifier()).name
        return f"failed to get {name} external metric value: {message}"
    return f"failed to get {(metric.type or '').lower()} metric value: {message}"


def _one(metric: models.MetricSpec, current: int, pods: list[models.Pod], samples: Samples, namespace: str,
         now: float, tolerance: float, timing: Timing) -> Sample:
    if metric.type == "Resource" and metric.resource is not None:
        return _resource(metric, metric.resource, current, pods, samples, "", now, tolerance, timing)
    if metric.type == "ContainerResource" and metric.container_resource is not None:
        source = metric.container_resource
        return _resource(metric, source, current, pods, samples, source.container or "", now, tolerance, timing)
    if metric.type in ("Pods", "Object", "External"):
        raise _unserved(metric, namespace)
    raise MetricError(f'unknown metric source type "{metric.type}"')


def evaluate(metrics: list[models.MetricSpec], current: int, pods: list[models.Pod], samples: Samples,
             namespace: str, *, now: float, tolerance: float, timing: Timing = Timing()) -> Outcome:
    """Every metric's proposal; the highest, unless the failures forbid acting (see the module's doc)."""
    out = Outcome()
    for metric in metrics:
        try:
            sample = _one(metric, current, pods, samples, namespace, now, tolerance, timing)
        except MetricError as exc:
            reason = _REASONS.get(metric.type or "", "InvalidMetricSourceType")
            out.failures.append(Failure(reason, str(exc), _wrapped(metric, str(exc))))
            out.statuses.append(models.MetricStatus(type=""))  # Kubernetes leaves the failed one's entry empty
            continue
        out.statuses.append(sample.status)
        if out.replicas == 0 or sample.replicas > out.replicas:
            out.replicas, out.name = sample.replicas, sample.name
    if out.failures:
        out.error = (f"invalid metrics ({len(out.failures)} invalid out of {len(metrics)}), first error is: "
                     f"{out.failures[0].wrapped}")
        if len(out.failures) >= len(metrics) or out.replicas < current:
            out.replicas = -1
    return out
