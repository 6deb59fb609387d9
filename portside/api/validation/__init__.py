"""Validation by kind, in Kubernetes' words: ``validate(kind, obj)`` and ``validate_update(kind, new, old)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .autoscaling import validate_hpa
from .common import Errs, validate_label_selector, validate_labels, validate_meta
from .core import (
    validate_configmap,
    validate_endpoints,
    validate_event,
    validate_lease,
    validate_namespace,
    validate_node,
    validate_priorityclass,
    validate_secret,
    validate_service,
)
from .cronjob import validate_cronjob
from .daemonset import validate_controllerrevision, validate_daemonset
from .networking import validate_networkpolicy
from .pod import validate_pod, validate_pod_spec
from .policy import validate_pdb
from .quota import validate_limitrange, validate_resourcequota
from .statefulset import validate_statefulset
from .status import validate_status
from .storage import validate_pv, validate_pvc, validate_pvc_spec, validate_storageclass
from .update import validate_update
from .workloads import DEPENDS_ON, parse_depends_on, validate_deployment, validate_job, validate_replicaset

__all__ = [
    "Errs", "VALIDATORS", "validate", "validate_update", "validate_status", "validate_meta", "validate_labels",
    "validate_label_selector", "validate_pod_spec", "validate_pvc_spec", "parse_depends_on", "DEPENDS_ON",
]

VALIDATORS: dict[str, Callable[[dict[str, Any], Errs], None]] = {
    "Pod": validate_pod,
    "Deployment": validate_deployment,
    "ReplicaSet": validate_replicaset,
    "DaemonSet": validate_daemonset,
    "StatefulSet": validate_statefulset,
    "ControllerRevision": validate_controllerrevision,
    "Job": validate_job,
    "CronJob": validate_cronjob,
    "Service": validate_service,
    "Endpoints": validate_endpoints,
    "Namespace": validate_namespace,
    "Node": validate_node,
    "ConfigMap": validate_configmap,
    "Secret": validate_secret,
    "Event": validate_event,
    "PriorityClass": validate_priorityclass,
    "Lease": validate_lease,
    "PodDisruptionBudget": validate_pdb,
    "ResourceQuota": validate_resourcequota,
    "LimitRange": validate_limitrange,
    "HorizontalPodAutoscaler": validate_hpa,
    "PersistentVolume": validate_pv,
    "PersistentVolumeClaim": validate_pvc,
    "StorageClass": validate_storageclass,
    "NetworkPolicy": validate_networkpolicy,
}


def validate(kind: str, obj: dict[str, Any]) -> Errs:
    """All problems with a (normalized, defaulted) object; empty when it is valid."""
    errs = Errs()
    VALIDATORS[kind](obj, errs)
    return errs
