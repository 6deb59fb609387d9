"""The API server's write path for one object: decode, default, validate - ``prepare_create``/``prepare_update``.

A version that is served but not stored (autoscaling/v1) is decoded against its own schema, then converted to the
stored version, which the rest of the path sees: these functions return the object as it will be stored.

Order matters and follows Kubernetes: the body is decoded against the schema first (wrong JSON types and unknown
fields are reported before any rule runs), then the create/update strategy resets what clients may not set
(status on kinds with a status subresource), then defaults, then validation. Generation, resourceVersion,
timestamps and IP allocation belong to the server, which owns the store.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from .conversion import to_stored
from .defaults import apply_defaults
from .errors import FieldError, Invalid, invalid
from .resources import ResourceInfo, lookup
from .schema import normalize, schema_of
from .status import reset_status_on_create
from .validation import Errs, validate, validate_status, validate_update

__all__ = ["UnknownFields", "decode", "prepare_create", "prepare_update", "prepare_status_update", "spec_changed"]

_NOT_SPEC = frozenset({"metadata", "status", "apiVersion", "kind"})


class UnknownFields(Exception):
    """Strict field validation refused fields the schema does not know (the server answers 400)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        super().__init__("strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in paths))


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        return ""
    return meta.get("name") or meta.get("generateName") or ""


def _raise(info: ResourceInfo, obj: dict[str, Any], causes: list[FieldError]) -> None:
    if causes:
        raise Invalid(info.kind, _name(obj), list(causes), group=info.group)


def _check_type_meta(info: ResourceInfo, obj: dict[str, Any], errs: list[FieldError]) -> None:
    for key, expected in (("apiVersion", info.api_version), ("kind", info.kind)):
        value = obj.setdefault(key, expected)
        if value != expected:
            errs.append(invalid(key, value, f"must be {expected}"))


def decode(info: ResourceInfo, obj: Any, warnings: list[str] | None = None, strict: bool = False) -> dict[str, Any]:
    """Type-check and prune ``obj`` against the kind's schema; unknown field paths are appended to ``warnings``."""
    errs: list[FieldError] = []
    unknown: list[str] = []
    clean = normalize(schema_of(info.model), obj, "", errs, unknown)
    if clean is None:
        raise Invalid(info.kind, "", errs, group=info.group)
    _check_type_meta(info, clean, errs)
    _raise(info, clean, errs)
    if strict and unknown:
        raise UnknownFields(unknown)
    if warnings is not None:
        warnings.extend(f'unknown field "{p}"' for p in unknown)
    return clean


def _job_selector(obj: dict[str, Any], errs: Errs) -> None:
    """Jobs get a selector on their own uid unless ``manualSelector`` is true, as Kubernetes generates it."""
    spec = obj.get("spec") or {}
    if spec.get("manualSelector"):
        return
    if spec.get("selector") is not None:
        errs.invalid("spec.selector", spec["selector"], "`selector` will be auto-generated")
        return
    meta = obj.setdefault("metadata", {})
    uid = meta.setdefault("uid", str(uuid.uuid4()))
    labels = {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid}
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
    template_labels = template_meta.setdefault("labels", {})
    template_labels.update(labels)
    if meta.get("name"):
        template_labels.update({"batch.kubernetes.io/job-name": meta["name"], "job-name": meta["name"]})


def _stored(info: ResourceInfo, obj: Any, old: dict[str, Any] | None, warnings: list[str] | None,
            strict: bool) -> tuple[ResourceInfo, dict[str, Any]]:
    """A served version's object in the stored version, and that version's resource (as they are for a stored
    one). Decoding first reports bad fields by the paths the client sent."""
    if info.is_stored:
        return info, obj
    stored_info = lookup(info.group, info.storage_version, info.plural)
    assert stored_info is not None, f"{info.plural}.{info.group}: no stored version {info.storage_version}"
    return stored_info, to_stored(info, decode(info, obj, warnings, strict), old)


def prepare_create(info: ResourceInfo, obj: dict[str, Any], warnings: list[str] | None = None,
                   strict: bool = False) -> dict[str, Any]:
    """A new object as it will be stored (minus server-owned metadata); raises :class:`Invalid`."""
    info, obj = _stored(info, obj, None, warnings, strict)
    clean = decode(info, obj, warnings, strict)
    reset_status_on_create(info.kind, clean)
    errs = Errs()
    if info.kind == "Job":
        _job_selector(clean, errs)
    apply_defaults(info.kind, clean)
    errs.extend(validate(info.kind, clean))
    _raise(info, clean, errs)
    return clean


def _keep_server_fields(info: ResourceInfo, new: dict[str, Any], old: dict[str, Any]) -> None:
    """Carry what clients cannot change through an update: server-owned metadata, status, allocations."""
    new_meta, old_meta = new.setdefault("metadata", {}), old.get("metadata") or {}
    for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
        if key in old_meta:
            new_meta[key] = old_meta[key]
        else:
            new_meta.pop(key, None)
    for key in ("name", "namespace"):
        new_meta.setdefault(key, old_meta.get(key))
    if "status" in info.subresources:
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    if info.kind == "Service":
        _keep_allocations(new.get("spec") or {}, old.get("spec") or {})


def _keep_allocations(new: dict[str, Any], old: dict[str, Any]) -> None:
    """An update that omits the cluster IP or node ports keeps the allocated ones (kubectl apply omits them)."""
    if new.get("type", "ClusterIP") == "ExternalName":
        return
    for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "healthCheckNodePort"):
        if key in old and not new.get(key):
            new[key] = copy.deepcopy(old[key])
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p for p in old.get("ports") or []}
    for port in new.get("ports") or []:
        previous = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
        if previous and previous.get("nodePort") and not port.get("nodePort"):
            port["nodePort"] = previous["nodePort"]


def prepare_update(info: ResourceInfo, new: dict[str, Any], old: dict[str, Any],
                   warnings: list[str] | None = None, strict: bool = False) -> dict[str, Any]:
    """The replacement for ``old``; immutable fields are checked and status is kept from ``old``."""
    info, new = _stored(info, new, old, warnings, strict)
    clean = decode(info, new, warnings, strict)
    _keep_server_fields(info, clean, old)
    apply_defaults(info.kind, clean)
    errs = validate(info.kind, clean)
    validate_update(info.kind, clean, old, errs)
    _raise(info, clean, errs)
    return clean


def prepare_status_update(info: ResourceInfo, new: dict[str, Any], old: dict[str, Any],
                          warnings: list[str] | None = None) -> dict[str, Any]:
    """A ``/status`` write: everything from ``old`` except ``status``, which comes from ``new``."""
    info, new = _stored(info, new, old, warnings, False)
    clean = decode(info, new, warnings)
    _raise(info, clean, validate_status(info.kind, clean))
    result = copy.deepcopy(old)
    if "status" in clean:
        result["status"] = clean["status"]
    else:
        result.pop("status", None)
    return result


def spec_changed(info: ResourceInfo, new: dict[str, Any], old: dict[str, Any]) -> bool:
    """True when anything but metadata and status differs: the change that bumps ``metadata.generation``."""
    keys = (set(new) | set(old)) - _NOT_SPEC
    return any(new.get(k) != old.get(k) for k in keys)
