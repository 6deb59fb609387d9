"""PersistentVolume, PersistentVolumeClaim and StorageClass rules (Kubernetes' ``ValidatePersistentVolume``,
``ValidatePersistentVolumeClaim``, ``ValidateStorageClass``), and what their updates may not change.

Kubernetes' wording, but this server's paths: a quantity map is addressed as ``spec.resources.requests.storage``
(as the decoder reports a malformed quantity there), so one field has one path whatever is wrong with it.
Volume sources are the two a node can serve here, ``hostPath`` and ``local``; block volumes and the deprecated
Recycle policy are refused with the values that are supported.
"""

from __future__ import annotations

from typing import Any

from ..names import is_dns1123_subdomain, is_qualified_name
from ..quantity import QuantityError, parse_quantity
from ..volumes import ACCESS_MODES, BINDING_MODES, RECLAIM_POLICIES
from .common import Errs, child, index, validate_label_selector, validate_meta
from .placement import validate_node_selector

__all__ = ["validate_pv", "validate_pvc", "validate_pvc_spec", "validate_storageclass", "update_pv", "update_pvc",
           "update_storageclass", "VOLUME_MODES", "validate_local_path"]

VOLUME_MODES = ["Filesystem"]  # raw block devices are not served
_SOURCES = ("hostPath", "local")
_HOST_PATH_TYPES = ["", "DirectoryOrCreate", "Directory"]
_MAX_PARAMETERS = 512


def _positive_storage(value: Any, path: str, errs: Errs) -> None:
    try:
        if parse_quantity(value) <= 0:
            errs.invalid(path, value, "must be greater than zero")
    except QuantityError:
        pass  # the decoder has already reported the malformed quantity at this path


def _access_modes(modes: list[str] | None, path: str, errs: Errs) -> None:
    if not modes:
        errs.required(path)
        return
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.unsupported(path, mode, ACCESS_MODES)
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.forbidden(path, "may not use ReadWriteOncePod with other access modes")


def _class_name(name: str | None, path: str, errs: Errs) -> None:
    if name:
        errs.each(path, name, is_dns1123_subdomain(name))


def validate_local_path(path: str, where: str, errs: Errs) -> None:
    """An absolute path without ``..`` steps: a node resolves it on its own file system."""
    if not path:
        errs.required(where)
    elif not path.startswith("/"):
        errs.invalid(where, path, "must be an absolute path")
    elif ".." in path.split("/"):
        errs.invalid(where, path, "must not contain '..'")


def _source(spec: dict[str, Any], errs: Errs) -> None:
    present = [k for k in _SOURCES if k in spec]
    if not present:
        errs.required("spec", "must specify a volume type (hostPath or local: other volume sources are not "
                              "supported)")
    for extra in present[1:]:
        errs.forbidden(child("spec", extra), "may not specify more than 1 volume type")
    if "hostPath" in spec:
        validate_local_path(spec["hostPath"].get("path", ""), "spec.hostPath.path", errs)
        errs.enum("spec.hostPath.type", spec["hostPath"].get("type"), _HOST_PATH_TYPES)
    if "local" in spec:
        validate_local_path(spec["local"].get("path", ""), "spec.local.path", errs)
        if not ((spec.get("nodeAffinity") or {}).get("required")):
            errs.required("spec.nodeAffinity", "Local volume requires node affinity")


def _capacity(capacity: dict[str, Any] | None, errs: Errs) -> None:
    if not capacity:
        errs.required("spec.capacity")
        return
    for name in capacity:
        if name != "storage":
            errs.unsupported("spec.capacity", name, ["storage"])
    if "storage" not in capacity:
        errs.required("spec.capacity.storage")
    else:
        _positive_storage(capacity["storage"], "spec.capacity.storage", errs)


def _claim_ref(ref: dict[str, Any] | None, errs: Errs) -> None:
    if ref is None:
        return
    if not ref.get("name"):
        errs.required("spec.claimRef.name")
    if not ref.get("namespace"):
        errs.required("spec.claimRef.namespace")


def validate_pv(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, False, is_dns1123_subdomain, errs)
    spec = obj.get("spec") or {}
    _capacity(spec.get("capacity"), errs)
    _access_modes(spec.get("accessModes"), "spec.accessModes", errs)
    errs.enum("spec.persistentVolumeReclaimPolicy", spec.get("persistentVolumeReclaimPolicy"), RECLAIM_POLICIES)
    _class_name(spec.get("storageClassName"), "spec.storageClassName", errs)
    errs.enum("spec.volumeMode", spec.get("volumeMode"), VOLUME_MODES)
    _source(spec, errs)
    required = (spec.get("nodeAffinity") or {}).get("required")
    if "nodeAffinity" in spec and required is None:
        errs.required("spec.nodeAffinity.required")
    elif required is not None:
        validate_node_selector(required, "spec.nodeAffinity.required", errs)
    _claim_ref(spec.get("claimRef"), errs)


def validate_pvc_spec(spec: dict[str, Any], path: str, errs: Errs) -> None:
    """A claim's spec; also what a workload's claim templates are checked with (StatefulSet's)."""
    _access_modes(spec.get("accessModes"), child(path, "accessModes"), errs)
    validate_label_selector(spec.get("selector"), child(path, "selector"), errs)
    requests = (spec.get("resources") or {}).get("requests") or {}
    where = child(path, "resources.requests.storage")
    if "storage" not in requests:
        errs.required(where, "the size of the volume to claim, e.g. 1Gi")
    else:
        _positive_storage(requests["storage"], where, errs)
    _class_name(spec.get("storageClassName"), child(path, "storageClassName"), errs)
    errs.enum(child(path, "volumeMode"), spec.get("volumeMode"), VOLUME_MODES)
    if spec.get("volumeName"):
        errs.each(child(path, "volumeName"), spec["volumeName"], is_dns1123_subdomain(spec["volumeName"]))


def validate_pvc(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    validate_pvc_spec(obj.get("spec") or {}, "spec", errs)


def _topologies(terms: list[dict[str, Any]], errs: Errs) -> None:
    for i, term in enumerate(terms):
        here = index("allowedTopologies", i)
        expressions = term.get("matchLabelExpressions") or []
        if not expressions:
            errs.required(child(here, "matchLabelExpressions"), "must have at least one label requirement")
        for j, req in enumerate(expressions):
            there = index(child(here, "matchLabelExpressions"), j)
            errs.each(child(there, "key"), req.get("key", ""), is_qualified_name(req.get("key", "")))
            if not req.get("values"):
                errs.required(child(there, "values"), "must specify as least one value")


def validate_storageclass(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, False, is_dns1123_subdomain, errs)
    provisioner = obj.get("provisioner")
    if not provisioner:
        errs.required("provisioner")
    else:
        errs.each("provisioner", provisioner, is_qualified_name(provisioner.lower()))
    errs.enum("reclaimPolicy", obj.get("reclaimPolicy"), RECLAIM_POLICIES)
    errs.enum("volumeBindingMode", obj.get("volumeBindingMode"), BINDING_MODES)
    if len(obj.get("parameters") or {}) > _MAX_PARAMETERS:
        errs.invalid("parameters", len(obj["parameters"]), f"must have at most {_MAX_PARAMETERS} parameters")
    _topologies(obj.get("allowedTopologies") or [], errs)


# -- updates -----------------------------------------------------------------------------------------------------


def _same(new: Any, old: Any, path: str, errs: Errs) -> None:
    if new != old:
        errs.invalid(path, new, "field is immutable")


def update_pv(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    """The storage a volume stands for never changes: its source, mode and (once set) node affinity."""
    spec, was = new.get("spec") or {}, old.get("spec") or {}
    for key in _SOURCES:
        if spec.get(key) != was.get(key):
            errs.forbidden(child("spec", key), "spec.persistentvolumesource is immutable after creation")
    _same(spec.get("volumeMode"), was.get("volumeMode"), "spec.volumeMode", errs)
    if was.get("nodeAffinity") is not None:
        _same(spec.get("nodeAffinity"), was.get("nodeAffinity"), "spec.nodeAffinity", errs)


def _claim_spec_fixed(spec: dict[str, Any]) -> dict[str, Any]:
    """What may change in a claim's spec is left out: volumeName (binding sets it once) and storageClassName
    while unset (the default class is given to claims made before one existed)."""
    return {k: v for k, v in spec.items() if k not in ("volumeName", "storageClassName")}


def update_pvc(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    spec, was = new.get("spec") or {}, old.get("spec") or {}
    old_request = ((was.get("resources") or {}).get("requests") or {}).get("storage")
    new_request = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if new_request != old_request:
        errs.forbidden("spec.resources.requests.storage", "volume expansion is not supported: the size of a claim "
                                                          "cannot change after creation")
    elif _claim_spec_fixed(spec) != _claim_spec_fixed(was):
        errs.forbidden("spec", "spec is immutable after creation except resources.requests and volumeName "
                               "(for binding)")
    if was.get("volumeName"):
        _same(spec.get("volumeName"), was.get("volumeName"), "spec.volumeName", errs)
    if was.get("storageClassName") is not None:
        _same(spec.get("storageClassName"), was.get("storageClassName"), "spec.storageClassName", errs)


def update_storageclass(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    for key in ("provisioner", "parameters", "reclaimPolicy"):
        if new.get(key) != old.get(key):
            errs.forbidden(key, f"updates to {key} are forbidden.")
    _same(new.get("volumeBindingMode"), old.get("volumeBindingMode"), "volumeBindingMode", errs)

