"""What an update may not change: selectors, a Service's cluster IP, most of a Pod's spec, immutable data."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .common import Errs
from .quota import validate_resourcequota_update
from .statefulset import update_statefulset
from .storage import update_pv, update_pvc, update_storageclass

__all__ = ["validate_update", "POD_UPDATE_MESSAGE"]

POD_UPDATE_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def _immutable(new: Any, old: Any, path: str, errs: Errs) -> None:
    if new != old:
        errs.invalid(path, new, "field is immutable")


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("spec") or {}


def _selector(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    _immutable(_spec(new).get("selector"), _spec(old).get("selector"), "spec.selector", errs)


def _mask_pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Blank out the fields a pod update may change, so what is left must be equal."""
    masked = copy.deepcopy(spec)
    for key in ("containers", "initContainers"):
        for c in masked.get(key) or []:
            c.pop("image", None)
    for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds", "schedulingGates"):
        masked.pop(key, None)
    return masked


def _pod(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    new_spec, old_spec = _spec(new), _spec(old)
    if _mask_pod_spec(new_spec) != _mask_pod_spec(old_spec):
        errs.forbidden("spec", POD_UPDATE_MESSAGE)
    old_tolerations = old_spec.get("tolerations") or []
    if any(t not in (new_spec.get("tolerations") or []) for t in old_tolerations):
        errs.forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")
    old_gates = {g.get("name") for g in old_spec.get("schedulingGates") or []}
    if any(g.get("name") not in old_gates for g in new_spec.get("schedulingGates") or []):
        errs.forbidden("spec.schedulingGates", "only deletion is allowed, but found new scheduling gate")


def _job(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    _selector(new, old, errs)
    _immutable(_spec(new).get("completions"), _spec(old).get("completions"), "spec.completions", errs)
    _immutable(_spec(new).get("completionMode"), _spec(old).get("completionMode"), "spec.completionMode", errs)
    if not _spec(old).get("suspend"):
        _immutable(_spec(new).get("template"), _spec(old).get("template"), "spec.template", errs)


def _service(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    old_ip, new_ip = _spec(old).get("clusterIP"), _spec(new).get("clusterIP")
    if old_ip and new_ip and _spec(new).get("type") != "ExternalName":
        _immutable(new_ip, old_ip, "spec.clusterIP", errs)


def _immutable_data(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    if not old.get("immutable"):
        return
    if not new.get("immutable"):
        errs.forbidden("immutable", "field is immutable when `immutable` is set")
    for key in ("data", "binaryData"):
        if new.get(key) != old.get(key):
            errs.forbidden(key, "field is immutable when `immutable` is set")


def _secret(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    _immutable(new.get("type"), old.get("type"), "type", errs)
    _immutable_data(new, old, errs)


def _priorityclass(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    if new.get("value") != old.get("value"):
        errs.forbidden("value", "may not be changed in an update.")
    _immutable(new.get("preemptionPolicy"), old.get("preemptionPolicy"), "preemptionPolicy", errs)


def _controllerrevision(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    _immutable(new.get("data"), old.get("data"), "data", errs)


_RULES: dict[str, Callable[[dict[str, Any], dict[str, Any], Errs], None]] = {
    "Pod": _pod,
    "Deployment": _selector,
    "ReplicaSet": _selector,
    "DaemonSet": _selector,
    "StatefulSet": update_statefulset,
    "ControllerRevision": _controllerrevision,
    "Job": _job,
    "Service": _service,
    "ConfigMap": _immutable_data,
    "Secret": _secret,
    "PriorityClass": _priorityclass,
    "ResourceQuota": validate_resourcequota_update,
    "PersistentVolume": update_pv,
    "PersistentVolumeClaim": update_pvc,
    "StorageClass": update_storageclass,
}


def validate_update(kind: str, new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    """Identity (name, namespace) never changes; then the kind's own immutable fields."""
    new_meta, old_meta = new.get("metadata") or {}, old.get("metadata") or {}
    for key in ("name", "namespace"):
        if old_meta.get(key) and new_meta.get(key) != old_meta.get(key):
            errs.invalid(f"metadata.{key}", new_meta.get(key), "field is immutable")
    rule = _RULES.get(kind)
    if rule is not None:
        rule(new, old, errs)
