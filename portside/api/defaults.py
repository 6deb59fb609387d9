"""Defaults as Kubernetes applies them on create and update, so stored objects look like Kubernetes' own.

Each function fills only missing fields of a normalized wire dict, in place: applying defaults twice changes
nothing, which keeps updates and patches from drifting.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

from .limitrange import default_item

__all__ = ["apply_defaults", "pull_policy", "claim_spec", "DEFAULTERS", "SCALE_UP_RULES", "SCALE_DOWN_RULES",
           "DEFAULT_CPU_UTILIZATION", "cpu_utilization_target"]

_PROBE = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}


def pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or untagged images, ``IfNotPresent`` otherwise (digests pin the content)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _probe(probe: dict[str, Any] | None) -> None:
    if probe is None:
        return
    for key, value in _PROBE.items():
        probe.setdefault(key, value)
    if "httpGet" in probe:
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


def _resources(container: dict[str, Any]) -> None:
    """Requests default to limits for every resource that has a limit but no request."""
    resources = container.setdefault("resources", {})
    limits = resources.get("limits")
    if limits:
        requests = resources.setdefault("requests", {})
        for name, amount in limits.items():
            requests.setdefault(name, amount)


def _container(c: dict[str, Any]) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("imagePullPolicy", pull_policy(c.get("image", "")))
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for var in c.get("env") or []:
        field_ref = (var.get("valueFrom") or {}).get("fieldRef")
        if field_ref is not None:
            field_ref.setdefault("apiVersion", "v1")
    _resources(c)
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(key))


def _volume(vol: dict[str, Any]) -> None:
    if not any(k for k in vol if k != "name"):
        vol["emptyDir"] = {}
    for kind in ("configMap", "secret", "downwardAPI"):
        if kind in vol:
            vol[kind].setdefault("defaultMode", 0o644)
    if "hostPath" in vol:
        vol["hostPath"].setdefault("type", "")


def pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        _container(c)
    for vol in spec.get("volumes") or []:
        _volume(vol)


def _template(obj: dict[str, Any]) -> None:
    template = obj.setdefault("spec", {}).setdefault("template", {})
    template.setdefault("metadata", {})
    pod_spec(template.setdefault("spec", {}))


def _pod(obj: dict[str, Any]) -> None:
    pod_spec(obj.setdefault("spec", {}))


def _deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(obj)


def _replicaset(obj: dict[str, Any]) -> None:
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    _template(obj)


def _daemonset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(obj)


def _statefulset(obj: dict[str, Any]) -> None:
    """Kubernetes' defaults: an unset strategy becomes RollingUpdate with partition 0 (a RollingUpdate named without
    ``rollingUpdate`` stays without it), claims are retained, and each claim template gets a claim's defaults."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        strategy.setdefault("rollingUpdate", {})
    if strategy["type"] == "RollingUpdate" and strategy.get("rollingUpdate") is not None:
        strategy["rollingUpdate"].setdefault("partition", 0)
    retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    spec.setdefault("revisionHistoryLimit", 10)
    for claim in spec.get("volumeClaimTemplates") or []:
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        claim_spec(claim.setdefault("spec", {}))
    _template(obj)


def _cronjob(obj: dict[str, Any]) -> None:
    """Only the CronJob's own fields and the pod template's: the Job's defaults come when a Job is made."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = spec.setdefault("jobTemplate", {}).setdefault("spec", {})
    job_spec.setdefault("template", {}).setdefault("metadata", {})
    pod_spec(job_spec["template"].setdefault("spec", {}))


def _job(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    _template(obj)


def _service(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))


def _endpoints(obj: dict[str, Any]) -> None:
    for subset in obj.get("subsets") or []:
        for port in subset.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _secret(obj: dict[str, Any]) -> None:
    """``stringData`` is a write-only convenience: fold it into base64 ``data``, as the API server does."""
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None) or {}
    data = obj.setdefault("data", {}) if string_data else obj.get("data")
    for key, value in string_data.items():
        data[key] = base64.b64encode(value.encode()).decode()  # type: ignore[index]


def _namespace(obj: dict[str, Any]) -> None:
    meta = obj.setdefault("metadata", {})
    if meta.get("name"):
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]


def _limitrange(obj: dict[str, Any]) -> None:
    for item in (obj.get("spec") or {}).get("limits") or []:
        default_item(item)
# What ``behavior`` fills in for a direction it leaves out, or for the fields of one it names (Kubernetes' v2
# defaults). Scale-down has no default window here: the controller supplies its
# --horizontal-pod-autoscaler-downscale-stabilization (300 s), so that flag keeps applying to such objects.
SCALE_UP_RULES = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                  "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                               {"type": "Percent", "value": 100, "periodSeconds": 15}]}
SCALE_DOWN_RULES = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


DEFAULT_CPU_UTILIZATION = 80  # the target of an autoscaler that names no metric


def cpu_utilization_target(percent: int) -> dict[str, Any]:
    """The v2 metric for "hold the pods' CPU at ``percent`` of their requests"."""
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                       "averageUtilization": percent}}}


def _scaling_rules(given: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any]:
    rules = copy.deepcopy(defaults)
    for key in ("stabilizationWindowSeconds", "selectPolicy", "policies"):
        if given is not None and key in given:
            rules[key] = given[key]
    return rules


def _hpa(obj: dict[str, Any]) -> None:
    """minReplicas 1; no metric means 80 % CPU; a ``behavior`` given is completed in both directions."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [cpu_utilization_target(DEFAULT_CPU_UTILIZATION)]
    behavior = spec.get("behavior")
    if behavior is not None:
        behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), SCALE_UP_RULES)
        behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), SCALE_DOWN_RULES)


def _priorityclass(obj: dict[str, Any]) -> None:
    obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


def claim_spec(spec: dict[str, Any]) -> None:
    """A claim's (or a claim template's) spec."""
    spec.setdefault("volumeMode", "Filesystem")


def _pvc(obj: dict[str, Any]) -> None:
    claim_spec(obj.setdefault("spec", {}))


def _pv(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    if "hostPath" in spec:
        spec["hostPath"].setdefault("type", "")


def _storageclass(obj: dict[str, Any]) -> None:
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def _networkpolicy(obj: dict[str, Any]) -> None:
    """As ``SetDefaults_NetworkPolicy``: every policy isolates for ingress, and for egress too when it has egress
    rules, unless it names its types; ports are TCP unless they say otherwise; a missing podSelector is the
    empty one (every pod of the namespace), which the API always shows."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("podSelector", {})
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for port in rule.get("ports") or []:
                port.setdefault("protocol", "TCP")


DEFAULTERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "Pod": _pod,
    "Deployment": _deployment,
    "ReplicaSet": _replicaset,
    "DaemonSet": _daemonset,
    "StatefulSet": _statefulset,
    "Job": _job,
    "CronJob": _cronjob,
    "Service": _service,
    "Endpoints": _endpoints,
    "Secret": _secret,
    "Namespace": _namespace,
    "PriorityClass": _priorityclass,
    "LimitRange": _limitrange,
    "HorizontalPodAutoscaler": _hpa,
    "PersistentVolume": _pv,
    "PersistentVolumeClaim": _pvc,
    "StorageClass": _storageclass,
    "NetworkPolicy": _networkpolicy,
}


def apply_defaults(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Fill in Kubernetes' defaults for ``kind`` (in place) and return the object."""
    defaulter = DEFAULTERS.get(kind)
    if defaulter is not None:
        defaulter(obj)
    return obj
