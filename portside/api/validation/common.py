"""Shared checks: the error collector, metadata, labels, selectors and numeric ranges.

Validation runs on normalized wire dicts (types already checked by the schema), so rules only test meaning.
Paths are built the way Kubernetes builds them (``spec.containers[0].ports[1].name``) because users paste them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import errors
from ..errors import FieldError
from ..names import is_dns1123_label, is_dns1123_subdomain, is_label_value, is_qualified_name

__all__ = [
    "Errs", "child", "index", "validate_meta", "validate_labels", "validate_label_selector",
    "validate_annotations", "NameCheck", "path_segment_name",
]

NameCheck = Callable[[str], list[str]]
_TOTAL_ANNOTATION_BYTES = 256 * 1024


def child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


class Errs(list[FieldError]):
    """An error list with Kubernetes' constructors as methods, so rules read as one line each."""

    def required(self, path: str, detail: str = "") -> None:
        self.append(errors.required(path, detail))

    def invalid(self, path: str, value: Any, detail: str) -> None:
        self.append(errors.invalid(path, value, detail))

    def unsupported(self, path: str, value: Any, supported: list[str]) -> None:
        self.append(errors.unsupported(path, value, supported))

    def duplicate(self, path: str, value: Any) -> None:
        self.append(errors.duplicate(path, value))

    def forbidden(self, path: str, detail: str) -> None:
        self.append(errors.forbidden(path, detail))

    def not_found(self, path: str, value: Any) -> None:
        self.append(FieldError(path, "FieldValueNotFound", f"Not found: {errors.format_value(value)}"))

    def each(self, path: str, value: Any, problems: list[str]) -> None:
        for problem in problems:
            self.invalid(path, value, problem)

    def enum(self, path: str, value: Any, supported: list[str], *, required: bool = False) -> None:
        if value is None:
            if required:
                self.required(path)
        elif value not in supported:
            self.unsupported(path, value, supported)

    def nonnegative(self, path: str, value: int | None) -> None:
        if value is not None and value < 0:
            self.invalid(path, value, "must be greater than or equal to 0")

    def positive(self, path: str, value: int | None) -> None:
        if value is not None and value <= 0:
            self.invalid(path, value, "must be greater than 0")


def path_segment_name(name: str) -> list[str]:
    """Names that only need to be usable in a URL path (Events)."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def validate_labels(labels: dict[str, str] | None, path: str, errs: Errs) -> None:
    for key, value in (labels or {}).items():
        errs.each(path, key, is_qualified_name(key))
        errs.each(path, value, is_label_value(value))


def validate_annotations(annotations: dict[str, str] | None, path: str, errs: Errs) -> None:
    total = 0
    for key, value in (annotations or {}).items():
        errs.each(path, key, is_qualified_name(key.lower()))
        total += len(key) + len(value)
    if total > _TOTAL_ANNOTATION_BYTES:
        errs.append(FieldError(path, "FieldValueTooLong", f"Too long: must have at most {_TOTAL_ANNOTATION_BYTES} bytes"))


_SELECTOR_OPS = ["In", "NotIn", "Exists", "DoesNotExist"]


def validate_label_selector(selector: dict[str, Any] | None, path: str, errs: Errs) -> None:
    if not selector:
        return
    validate_labels(selector.get("matchLabels"), child(path, "matchLabels"), errs)
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        here = index(child(path, "matchExpressions"), i)
        op, values = expr.get("operator"), expr.get("values") or []
        errs.enum(child(here, "operator"), op, _SELECTOR_OPS, required=True)
        if op in ("In", "NotIn") and not values:
            errs.required(child(here, "values"), "must be specified when `operator` is 'In' or 'NotIn'")
        if op in ("Exists", "DoesNotExist") and values:
            errs.forbidden(child(here, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        errs.each(child(here, "key"), expr.get("key", ""), is_qualified_name(expr.get("key", "")))


def _validate_owner_refs(refs: list[dict[str, Any]] | None, path: str, errs: Errs) -> None:
    controllers = 0
    for ref in refs or []:
        for key, what in (("apiVersion", "version"), ("kind", "kind"), ("name", "name"), ("uid", "uid")):
            if not ref.get(key):
                errs.invalid(child(path, key), ref.get(key, ""), f"{what} must not be empty")
        controllers += bool(ref.get("controller"))
    if controllers > 1:
        errs.invalid(path, refs, "Only one reference can have Controller set to true")


def _validate_name(meta: dict[str, Any], check: NameCheck, errs: Errs) -> None:
    name, generate = meta.get("name"), meta.get("generateName")
    if not name and not generate:
        errs.required("metadata.name", "name or generateName is required")
    elif name:
        errs.each("metadata.name", name, check(name))
    if generate:
        errs.each("metadata.generateName", generate, check(generate.rstrip("-") or "a"))


def validate_meta(obj: dict[str, Any], namespaced: bool, check: NameCheck, errs: Errs) -> None:
    """ObjectMeta rules: name (or generateName), namespace by scope, labels, annotations, owners, finalizers."""
    meta = obj.get("metadata") or {}
    _validate_name(meta, check, errs)
    namespace = meta.get("namespace")
    if namespaced and not namespace:
        errs.required("metadata.namespace")
    elif namespaced:
        errs.each("metadata.namespace", namespace, is_dns1123_label(namespace))
    elif namespace:
        errs.forbidden("metadata.namespace", "not allowed on this type")
    validate_labels(meta.get("labels"), "metadata.labels", errs)
    validate_annotations(meta.get("annotations"), "metadata.annotations", errs)
    _validate_owner_refs(meta.get("ownerReferences"), "metadata.ownerReferences", errs)
    for i, finalizer in enumerate(meta.get("finalizers") or []):
        errs.each(index("metadata.finalizers", i), finalizer, is_qualified_name(finalizer))


def subdomain(value: str) -> list[str]:
    return is_dns1123_subdomain(value)
