"""Per-kind table columns and cells, matching Kubernetes' printers (``pkg/printers/internalversion``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .printers_pod import pod_cells
from .printers_quota import limitrange_cells, quota_cells
from .selectors import format_label_selector
from .timefmt import age, human_duration, parse_time
from .volumes import DEFAULT_CLASS_ANNOTATION, access_modes_text

__all__ = ["Column", "Printer", "PRINTERS"]

Obj = dict[str, Any]


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0


@dataclass(frozen=True)
class Printer:
    columns: list[Column]
    cells: Callable[[Obj, dt.datetime], list[Any]]
    name: Callable[[Obj], str] | None = None  # the Name cell, when it says more than metadata.name


def _c(name: str, type_: str = "string", priority: int = 0) -> Column:
    return Column(name, type_, "", name, priority)


def _created(obj: Obj, now: dt.datetime) -> str:
    return age((obj.get("metadata") or {}).get("creationTimestamp"), now)


def _none(value: Any) -> Any:
    return "<none>" if value in (None, "", []) else value


def _containers_images(obj: Obj) -> list[str]:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = spec.get("containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def _wide_workload(obj: Obj) -> list[str]:
    selector = format_label_selector((obj.get("spec") or {}).get("selector"))
    return [*_containers_images(obj), _none(selector)]


_WIDE = [_c("Containers", priority=1), _c("Images", priority=1), _c("Selector", priority=1)]


def _deployment(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ready = f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}"
    return [ready, status.get("updatedReplicas", 0), status.get("availableReplicas", 0), _created(obj, now),
            *_wide_workload(obj)]


def _replicaset(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [spec.get("replicas", 0), status.get("replicas", 0), status.get("readyReplicas", 0),
            _created(obj, now), *_wide_workload(obj)]


def _daemonset(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return [status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>", _created(obj, now),
            *_wide_workload(obj)]


def _statefulset(obj: Obj, now: dt.datetime) -> list[Any]:
    """kubectl's: ready pods over the replicas asked for; wide adds containers and images (no selector)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}", _created(obj, now),
            *_containers_images(obj)]


def _cronjob(obj: Obj, now: dt.datetime) -> list[Any]:
    """kubectl's: the time zone or <none>, suspend as True/False (<unset> when absent), active Jobs counted."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    suspend = spec.get("suspend")
    last = status.get("lastScheduleTime")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    selector = format_label_selector(job_spec.get("selector"))
    return [spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "<unset>" if suspend is None else str(suspend), len(status.get("active") or []),
            age(last, now) if last else "<none>", _created(obj, now), *_containers_images({"spec": job_spec}), _none(selector)]


def _controllerrevision(obj: Obj, now: dt.datetime) -> list[Any]:
    owner = next((r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("controller")), None)
    group = (owner or {}).get("apiVersion", "").rpartition("/")[0]
    kind = (owner or {}).get("kind", "").lower() + (f".{group}" if group else "")
    return [f"{kind}/{owner.get('name', '')}" if owner else "<none>", obj.get("revision", 0), _created(obj, now)]


def _job_status(status: Obj, spec: Obj) -> str:
    for condition in status.get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed", "Suspended"):
            return condition["type"]
    return "Suspended" if spec.get("suspend") else "Running"


def _job(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    completions = f"{status.get('succeeded', 0)}/{spec['completions']}" if spec.get("completions") is not None \
        else f"{status.get('succeeded', 0)}/1 of {spec.get('parallelism', 1)}"
    start, end = status.get("startTime"), status.get("completionTime")
    duration = "" if not start else (age(start, now) if not end else _between(start, end))
    return [_job_status(status, spec), completions, duration, _created(obj, now), *_wide_workload(obj)]


def _between(start: str, end: str) -> str:
    a, b = parse_time(start), parse_time(end)
    return "" if a is None or b is None else human_duration((b - a).total_seconds())


def _external_ip(spec: Obj, status: Obj) -> str:
    kind = spec.get("type", "ClusterIP")
    external = list(spec.get("externalIPs") or [])
    if kind == "ExternalName":
        return spec.get("externalName", "")
    if kind == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname", "") for i in (status.get("loadBalancer") or {}).get("ingress") or []]
        return ",".join(ingress + external) if ingress + external else "<pending>"
    return ",".join(external) if external else "<none>"


def _ports(spec: Obj) -> str:
    out = []
    for p in spec.get("ports") or []:
        node = f":{p['nodePort']}" if p.get("nodePort") else ""
        out.append(f"{p.get('port')}{node}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _service(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [spec.get("type", "ClusterIP"), _none(spec.get("clusterIP")), _external_ip(spec, status), _ports(spec),
            _created(obj, now), _none(selector)]


def _endpoints(obj: Obj, now: dt.datetime) -> list[Any]:
    pairs = [f"{a.get('ip')}:{p.get('port')}" if p else a.get("ip", "")
             for s in obj.get("subsets") or [] for a in s.get("addresses") or [] for p in (s.get("ports") or [None])]
    shown = ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")
    return [shown or "<none>", _created(obj, now)]


def _node_status(obj: Obj) -> str:
    ready = next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    status = "Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")
    return status + (",SchedulingDisabled" if (obj.get("spec") or {}).get("unschedulable") else "")


def _node(obj: Obj, now: dt.datetime) -> list[Any]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    status = obj.get("status") or {}
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [_node_status(obj), ",".join(roles) or "<none>", _created(obj, now), info.get("kubeletVersion", ""),
            addresses.get("InternalIP", "<none>"), addresses.get("ExternalIP", "<none>"),
            info.get("osImage", "<unknown>"), info.get("kernelVersion", "<unknown>"),
            info.get("containerRuntimeVersion", "<unknown>"), (obj.get("spec") or {}).get("podCIDR") or "<none>"]


def _event(obj: Obj, now: dt.datetime) -> list[Any]:
    involved, source = obj.get("involvedObject") or {}, obj.get("source") or {}
    last = obj.get("lastTimestamp") or obj.get("eventTime") or (obj.get("metadata") or {}).get("creationTimestamp")
    target = f"{(involved.get('kind') or '').lower()}/{involved.get('name', '')}"
    return [age(last, now), obj.get("type", ""), obj.get("reason", ""), target, involved.get("fieldPath", ""),
            ", ".join(v for v in (source.get("component"), source.get("host")) if v), obj.get("message", ""),
            age(obj.get("firstTimestamp") or last, now), obj.get("count", 1), obj["metadata"].get("name", "")]


def _pdb(obj: Obj, now: dt.datetime) -> list[Any]:
    """N/A for the bound a budget does not set, as kubectl's printer shows it."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    return ["N/A" if low is None else str(low), "N/A" if high is None else str(high),
            status.get("disruptionsAllowed", 0), _created(obj, now)]


def _hpa_target(spec: Obj, status: Obj | None) -> str:
    """One metric as ``kubectl get hpa`` shows it: ``cpu: 42%/50%``, ``memory: 80Mi/100Mi``, ``<unknown>`` for a
    value not read yet; ``(avg)`` marks a per-pod target of an object or external metric."""
    kind = spec.get("type")
    field = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods", "Object": "object",
             "External": "external"}.get(kind or "")
    if field is None:
        return "<unknown type>"
    source, current = spec.get(field) or {}, ((status or {}).get(field) or {}).get("current")
    target = source.get("target") or {}
    if field in ("resource", "containerResource"):
        name = source.get("name", "")
        if target.get("averageValue") is not None:
            return f"{name}: {(current or {}).get('averageValue') or '<unknown>'}/{target['averageValue']}"
        now = (current or {}).get("averageUtilization")
        goal = target.get("averageUtilization")
        return f"{name}: {'<unknown>' if now is None else f'{now}%'}/{'<auto>' if goal is None else f'{goal}%'}"
    if field == "pods":
        return f"{(current or {}).get('averageValue') or '<unknown>'}/{target.get('averageValue', '')}"
    if target.get("averageValue") is not None:
        return f"{(current or {}).get('averageValue') or '<unknown>'}/{target['averageValue']} (avg)"
    return f"{(current or {}).get('value') or '<unknown>'}/{target.get('value', '')}"


def _hpa_targets(obj: Obj) -> str:
    """At most two metrics, then ``+ N more...``, as kubectl's printer cuts them."""
    specs = (obj.get("spec") or {}).get("metrics") or []
    statuses = (obj.get("status") or {}).get("currentMetrics") or []
    if not specs:
        return "<none>"
    shown = [_hpa_target(m, statuses[i] if i < len(statuses) else None) for i, m in enumerate(specs)]
    more = f" + {len(shown) - 2} more..." if len(shown) > 2 else ""
    return ", ".join(shown[:2]) + more


def _hpa(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    low = spec.get("minReplicas")
    return [f"{ref.get('kind', '')}/{ref.get('name', '')}", _hpa_targets(obj), "<unset>" if low is None else str(low),
            spec.get("maxReplicas", 0), status.get("currentReplicas", 0), _created(obj, now)]


def _pv(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if (obj.get("metadata") or {}).get("deletionTimestamp") else status.get("phase", "")
    ref = spec.get("claimRef")
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    return [(spec.get("capacity") or {}).get("storage", "0"), access_modes_text(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), phase, claim, spec.get("storageClassName", ""),
            spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""), _created(obj, now),
            spec.get("volumeMode") or "<unset>"]


def _pvc(obj: Obj, now: dt.datetime) -> list[Any]:
    """Capacity and access modes are the bound volume's, shown once the claim names one (as kubectl does)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if (obj.get("metadata") or {}).get("deletionTimestamp") else status.get("phase", "")
    bound = bool(spec.get("volumeName"))
    capacity = (status.get("capacity") or {}).get("storage", "0") if bound else ""
    modes = access_modes_text(status.get("accessModes")) if bound else ""
    return [phase, spec.get("volumeName", ""), capacity, modes, spec.get("storageClassName", ""),
            spec.get("volumeAttributesClassName") or "<unset>", _created(obj, now), spec.get("volumeMode") or "<unset>"]


def _storageclass(obj: Obj, now: dt.datetime) -> list[Any]:
    return [obj.get("provisioner", ""), obj.get("reclaimPolicy") or "Delete", obj.get("volumeBindingMode") or "Immediate",
            bool(obj.get("allowVolumeExpansion")), _created(obj, now)]


def _storageclass_name(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    default = (meta.get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"
    return meta.get("name", "") + (" (default)" if default else "")


def _simple(*getters: Callable[[Obj], Any]) -> Callable[[Obj, dt.datetime], list[Any]]:
    """Cells from plain getters followed by the Age column."""

    def cells(obj: Obj, now: dt.datetime) -> list[Any]:
        return [g(obj) for g in getters] + [_created(obj, now)]

    return cells


_POD_COLUMNS = [_c("Ready"), _c("Status"), _c("Restarts"), _c("Age"), _c("IP", priority=1),
                _c("Node", priority=1), _c("Nominated Node", priority=1), _c("Readiness Gates", priority=1)]

PRINTERS: dict[str, Printer] = {
    "Pod": Printer(_POD_COLUMNS, pod_cells),
    "Deployment": Printer([_c("Ready"), _c("Up-to-date", "integer"), _c("Available", "integer"), _c("Age"),
                           *_WIDE], _deployment),
    "ReplicaSet": Printer([_c("Desired", "integer"), _c("Current", "integer"), _c("Ready", "integer"), _c("Age"),
                           *_WIDE], _replicaset),
    "DaemonSet": Printer([_c("Desired", "integer"), _c("Current", "integer"), _c("Ready", "integer"),
                          _c("Up-to-date", "integer"), _c("Available", "integer"), _c("Node Selector"), _c("Age"),
                          *_WIDE], _daemonset),
    "StatefulSet": Printer([_c("Ready"), _c("Age"), _c("Containers", priority=1), _c("Images", priority=1)],
                           _statefulset),
    "ControllerRevision": Printer([_c("Controller"), _c("Revision", "integer"), _c("Age")], _controllerrevision),
    "Job": Printer([_c("Status"), _c("Completions"), _c("Duration"), _c("Age"), *_WIDE], _job),
    "CronJob": Printer([_c("Schedule"), _c("Timezone"), _c("Suspend", "boolean"), _c("Active", "integer"),
                        _c("Last Schedule"), _c("Age"), *_WIDE], _cronjob),
    "Service": Printer([_c("Type"), _c("Cluster-IP"), _c("External-IP"), _c("Port(s)"), _c("Age"),
                        _c("Selector", priority=1)], _service),
    "Endpoints": Printer([_c("Endpoints"), _c("Age")], _endpoints),
    "Node": Printer([_c("Status"), _c("Roles"), _c("Age"), _c("Version"), _c("Internal-IP", priority=1),
                     _c("External-IP", priority=1), _c("OS-Image", priority=1), _c("Kernel-Version", priority=1),
                     _c("Container-Runtime", priority=1), _c("Pod-CIDR", priority=1)], _node),
    "Namespace": Printer([_c("Status"), _c("Age")], _simple(lambda o: (o.get("status") or {}).get("phase", ""))),
    "ConfigMap": Printer([_c("Data", "integer"), _c("Age")],
                         _simple(lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))),
    "Secret": Printer([_c("Type"), _c("Data", "integer"), _c("Age")],
                      _simple(lambda o: o.get("type", ""), lambda o: len(o.get("data") or {}))),
    "Event": Printer([_c("Last Seen"), _c("Type"), _c("Reason"), _c("Object"), _c("Subobject", priority=1),
                      _c("Source", priority=1), _c("Message"), _c("First Seen", priority=1),
                      _c("Count", "integer", priority=1), _c("Name", priority=1)], _event),
    "PriorityClass": Printer([_c("Value", "integer"), _c("Global-Default", "boolean"), _c("Age"),
                              _c("PreemptionPolicy")], lambda o, now: [o.get("value", 0), bool(o.get("globalDefault")),
                                                                       _created(o, now), o.get("preemptionPolicy", "")]),
    "PodDisruptionBudget": Printer([_c("Min Available"), _c("Max Unavailable"),
                                    _c("Allowed Disruptions", "integer"), _c("Age")], _pdb),
    "ResourceQuota": Printer([_c("Age"), _c("Request"), _c("Limit")], quota_cells),
    "LimitRange": Printer([_c("Created At", "date")], limitrange_cells),
    "HorizontalPodAutoscaler": Printer([_c("Reference"), _c("Targets"), _c("MinPods"), _c("MaxPods", "integer"),
                                        _c("Replicas", "integer"), _c("Age")], _hpa),
    "PersistentVolume": Printer([_c("Capacity"), _c("Access Modes"), _c("Reclaim Policy"), _c("Status"), _c("Claim"),
                                 _c("StorageClass"), _c("VolumeAttributesClass"), _c("Reason"), _c("Age"),
                                 _c("VolumeMode", priority=1)], _pv),
    "PersistentVolumeClaim": Printer([_c("Status"), _c("Volume"), _c("Capacity"), _c("Access Modes"),
                                      _c("StorageClass"), _c("VolumeAttributesClass"), _c("Age"),
                                      _c("VolumeMode", priority=1)], _pvc),
    "StorageClass": Printer([_c("Provisioner"), _c("ReclaimPolicy"), _c("VolumeBindingMode"),
                             _c("AllowVolumeExpansion"), _c("Age")], _storageclass, _storageclass_name),
    "NetworkPolicy": Printer([_c("Pod-Selector"), _c("Age")], _simple(
        lambda o: format_label_selector((o.get("spec") or {}).get("podSelector")) or "<none>")),
    "Lease": Printer([_c("Holder"), _c("Age")], _simple(lambda o: (o.get("spec") or {}).get("holderIdentity", ""))),
}
