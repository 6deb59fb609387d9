"""Conversion between a kind's served versions and the version it is stored in (``ResourceInfo.storage_version``).

Only the HorizontalPodAutoscaler has two versions: autoscaling/v2 (stored) and autoscaling/v1. As in Kubernetes,
v1 shows the first CPU utilization target as ``targetCPUUtilizationPercentage`` and keeps whatever else v2 says
(other metrics, their current values, the conditions) in annotations, so that an object read in v1 and written
back loses nothing; a v1 object without any metric gets the old implicit target of 80 % CPU. ``behavior`` has no
v1 form: a v1 write keeps the stored one (Kubernetes' own v1 conversion drops it; a v1 client cannot mean to).

Both directions work on normalized wire dicts and return new dicts (the input is not changed).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .defaults import DEFAULT_CPU_UTILIZATION, cpu_utilization_target
from .resources import ResourceInfo

__all__ = ["to_stored", "from_stored", "METRICS_ANNOTATION", "CURRENT_METRICS_ANNOTATION",
           "CONDITIONS_ANNOTATION"]

Obj = dict[str, Any]
METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
_ROUND_TRIP = (METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION, BEHAVIOR_ANNOTATION)


def to_stored(info: ResourceInfo, obj: Obj, stored: Obj | None = None) -> Obj:
    """``obj`` (in ``info``'s version) in the stored version; ``stored`` is the object it replaces, if any."""
    if info.is_stored:
        return obj
    return _CONVERTERS[(info.group, info.kind, info.version)][0](obj, stored or {})


def from_stored(info: ResourceInfo, obj: Obj) -> Obj:
    """A stored object as ``info``'s version shows it."""
    if info.is_stored:
        return obj
    return _CONVERTERS[(info.group, info.kind, info.version)][1](obj)


# -- helpers ------------------------------------------------------------------------------------------------------

def _some(**fields: Any) -> Obj:
    """The fields that are set (Go's omitempty)."""
    return {k: v for k, v in fields.items() if v is not None}


def _cpu_utilization(metric: Obj) -> bool:
    resource = metric.get("resource") or {}
    return (metric.get("type") == "Resource" and resource.get("name") == "cpu"
            and (resource.get("target") or {}).get("averageUtilization") is not None)


def _annotation(meta: Obj, key: str) -> list[Obj] | None:
    """A round-trip annotation's list, taken out of ``meta``; None when absent or unreadable."""
    raw = (meta.get("annotations") or {}).pop(key, None)
    try:
        value = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return value if isinstance(value, list) else None


# -- v2 -> v1 -------------------------------------------------------------------------------------------------------

def _v2_to_v1(obj: Obj) -> Obj:
    meta = copy.deepcopy(obj.get("metadata") or {})
    spec, status = obj.get("spec") or {}, obj.get("status")
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _ROUND_TRIP}
    others = [_metric_to_v1(m) for m in spec.get("metrics") or [] if not _cpu_utilization(m)]
    current = (status or {}).get("currentMetrics") or []
    conditions = (status or {}).get("conditions") or []
    for key, value in ((METRICS_ANNOTATION, others), (CURRENT_METRICS_ANNOTATION, [_status_to_v1(m) for m in current]),
                       (CONDITIONS_ANNOTATION, conditions)):
        if value:
            annotations[key] = json.dumps(value, separators=(",", ":"))
    meta.pop("annotations", None)
    if annotations:
        meta["annotations"] = annotations
    out = {"apiVersion": "autoscaling/v1", "kind": obj.get("kind", "HorizontalPodAutoscaler"), "metadata": meta,
           "spec": _spec_to_v1(spec)}
    if status is not None:
        out["status"] = _status_v1(status)
    return out


def _spec_to_v1(spec: Obj) -> Obj:
    out = _some(scaleTargetRef=copy.deepcopy(spec.get("scaleTargetRef")), minReplicas=spec.get("minReplicas"),
                maxReplicas=spec.get("maxReplicas"))
    for metric in spec.get("metrics") or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            utilization = (resource.get("target") or {}).get("averageUtilization")
            if utilization is not None:
                out["targetCPUUtilizationPercentage"] = utilization
            break
    return out


def _status_v1(status: Obj) -> Obj:
    out = _some(observedGeneration=status.get("observedGeneration"), lastScaleTime=status.get("lastScaleTime"))
    out.update(currentReplicas=status.get("currentReplicas", 0), desiredReplicas=status.get("desiredReplicas", 0))
    for metric in status.get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            utilization = (resource.get("current") or {}).get("averageUtilization")
            if utilization is not None:
                out["currentCPUUtilizationPercentage"] = utilization
    return out


def _metric_to_v1(metric: Obj) -> Obj:
    """A v2 MetricSpec in the older form the v1 annotation holds (``targetAverageUtilization``...)."""
    out: Obj = {"type": metric.get("type", "")}
    if (r := metric.get("resource")) is not None:
        t = r.get("target") or {}
        out["resource"] = _some(name=r.get("name", ""), targetAverageUtilization=t.get("averageUtilization"),
                                targetAverageValue=t.get("averageValue"))
    if (c := metric.get("containerResource")) is not None:
        t = c.get("target") or {}
        out["containerResource"] = _some(name=c.get("name", ""), container=c.get("container", ""),
                                         targetAverageUtilization=t.get("averageUtilization"),
                                         targetAverageValue=t.get("averageValue"))
    if (p := metric.get("pods")) is not None:
        m, t = p.get("metric") or {}, p.get("target") or {}
        out["pods"] = _some(metricName=m.get("name", ""), selector=m.get("selector"),
                            targetAverageValue=t.get("averageValue", "0"))
    if (o := metric.get("object")) is not None:
        m, t = o.get("metric") or {}, o.get("target") or {}
        out["object"] = _some(target=o.get("describedObject") or {}, metricName=m.get("name", ""),
                              selector=m.get("selector"), targetValue=t.get("value", "0"),
                              averageValue=t.get("averageValue"))
    if (e := metric.get("external")) is not None:
        m, t = e.get("metric") or {}, e.get("target") or {}
        out["external"] = _some(metricName=m.get("name", ""), metricSelector=m.get("selector"),
                                targetValue=t.get("value"), targetAverageValue=t.get("averageValue"))
    return out


def _status_to_v1(metric: Obj) -> Obj:
    out: Obj = {"type": metric.get("type", "")}
    for key in ("resource", "containerResource"):
        if (r := metric.get(key)) is not None:
            cur = r.get("current") or {}
            out[key] = _some(name=r.get("name", ""), container=r.get("container"),
                             currentAverageUtilization=cur.get("averageUtilization"),
                             currentAverageValue=cur.get("averageValue", "0"))
    if (p := metric.get("pods")) is not None:
        m, cur = p.get("metric") or {}, p.get("current") or {}
        out["pods"] = _some(metricName=m.get("name", ""), selector=m.get("selector"),
                            currentAverageValue=cur.get("averageValue", "0"))
    if (o := metric.get("object")) is not None:
        m, cur = o.get("metric") or {}, o.get("current") or {}
        out["object"] = _some(target=o.get("describedObject") or {}, metricName=m.get("name", ""),
                              selector=m.get("selector"), currentValue=cur.get("value", "0"),
                              averageValue=cur.get("averageValue"))
    if (e := metric.get("external")) is not None:
        m, cur = e.get("metric") or {}, e.get("current") or {}
        out["external"] = _some(metricName=m.get("name", ""), metricSelector=m.get("selector"),
                                currentValue=cur.get("value", "0"), currentAverageValue=cur.get("averageValue"))
    return out


# -- v1 -> v2 -------------------------------------------------------------------------------------------------------

def _v1_to_v2(obj: Obj, stored: Obj) -> Obj:
    meta = copy.deepcopy(obj.get("metadata") or {})
    others = _annotation(meta, METRICS_ANNOTATION)
    current = _annotation(meta, CURRENT_METRICS_ANNOTATION)
    conditions = _annotation(meta, CONDITIONS_ANNOTATION)
    _annotation(meta, BEHAVIOR_ANNOTATION)
    if not meta.get("annotations"):
        meta.pop("annotations", None)
    spec = obj.get("spec") or {}
    metrics = [_metric_from_v1(m) for m in others or [] if isinstance(m, dict)]
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append(cpu_utilization_target(spec["targetCPUUtilizationPercentage"]))
    out_spec = _some(scaleTargetRef=copy.deepcopy(spec.get("scaleTargetRef")), minReplicas=spec.get("minReplicas"),
                     maxReplicas=spec.get("maxReplicas"))
    out_spec["metrics"] = metrics or [cpu_utilization_target(DEFAULT_CPU_UTILIZATION)]
    behavior = (stored.get("spec") or {}).get("behavior")
    if behavior is not None:
        out_spec["behavior"] = copy.deepcopy(behavior)
    out = {"apiVersion": "autoscaling/v2", "kind": obj.get("kind", "HorizontalPodAutoscaler"), "metadata": meta,
           "spec": out_spec}
    if obj.get("status") is not None:
        out["status"] = _status_v2(obj["status"], current, conditions)
    return out


def _status_v2(status: Obj, current: list[Obj] | None, conditions: list[Obj] | None) -> Obj:
    out = _some(observedGeneration=status.get("observedGeneration"), lastScaleTime=status.get("lastScaleTime"),
                currentReplicas=status.get("currentReplicas"))
    out["desiredReplicas"] = status.get("desiredReplicas", 0)
    if current is not None:  # the annotation has more than the CPU percentage: the raw values too
        out["currentMetrics"] = [_status_from_v1(m) for m in current if isinstance(m, dict)]
    elif status.get("currentCPUUtilizationPercentage") is not None:
        out["currentMetrics"] = [{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
    if conditions:
        out["conditions"] = [c for c in conditions if isinstance(c, dict)]
    return out


def _metric_from_v1(metric: Obj) -> Obj:
    out: Obj = {"type": metric.get("type", "")}
    for key in ("resource", "containerResource"):
        if (r := metric.get(key)) is not None:
            utilization = r.get("targetAverageUtilization")
            target = _some(type="Utilization" if utilization is not None else "AverageValue",
                           averageUtilization=utilization, averageValue=r.get("targetAverageValue"))
            out[key] = _some(name=r.get("name", ""), container=r.get("container"), target=target)
    if (p := metric.get("pods")) is not None:
        out["pods"] = {"metric": _some(name=p.get("metricName", ""), selector=p.get("selector")),
                       "target": {"type": "AverageValue", "averageValue": p.get("targetAverageValue", "0")}}
    if (o := metric.get("object")) is not None:
        average = o.get("averageValue")
        out["object"] = {"describedObject": o.get("target") or {},
                         "metric": _some(name=o.get("metricName", ""), selector=o.get("selector")),
                         "target": _some(type="AverageValue" if average is not None else "Value",
                                         value=o.get("targetValue"), averageValue=average)}
    if (e := metric.get("external")) is not None:
        value = e.get("targetValue")
        out["external"] = {"metric": _some(name=e.get("metricName", ""), selector=e.get("metricSelector")),
                           "target": _some(type="Value" if value is not None else "AverageValue", value=value,
                                           averageValue=e.get("targetAverageValue"))}
    return out


def _status_from_v1(metric: Obj) -> Obj:
    out: Obj = {"type": metric.get("type", "")}
    for key in ("resource", "containerResource"):
        if (r := metric.get(key)) is not None:
            out[key] = _some(name=r.get("name", ""), container=r.get("container"), current=_some(
                averageUtilization=r.get("currentAverageUtilization"), averageValue=r.get("currentAverageValue")))
    if (p := metric.get("pods")) is not None:
        out["pods"] = {"metric": _some(name=p.get("metricName", ""), selector=p.get("selector")),
                       "current": _some(averageValue=p.get("currentAverageValue"))}
    if (o := metric.get("object")) is not None:
        out["object"] = {"describedObject": o.get("target") or {},
                         "metric": _some(name=o.get("metricName", ""), selector=o.get("selector")),
                         "current": _some(value=o.get("currentValue"), averageValue=o.get("averageValue"))}
    if (e := metric.get("external")) is not None:
        out["external"] = {"metric": _some(name=e.get("metricName", ""), selector=e.get("metricSelector")),
                           "current": _some(value=e.get("currentValue"), averageValue=e.get("currentAverageValue"))}
    return out


# (group, kind, served version) -> (into the stored version, out of it)
_CONVERTERS = {("autoscaling", "HorizontalPodAutoscaler", "v1"): (_v1_to_v2, _v2_to_v1)}
