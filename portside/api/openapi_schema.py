"""OpenAPI schemas generated from the models: one definition per model class, Kubernetes' naming and extensions.

kubectl reads these for ``explain``, for client-side apply (``x-kubernetes-patch-merge-key``/``-strategy`` on the
property, object references as ``allOf: [$ref]`` the way its v3 patch-meta resolver expects), and finds each kind's
schema by ``x-kubernetes-group-version-kind``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .resources import RESOURCES
from .schema import Node, Prop, schema_of

__all__ = ["definitions", "reachable", "META_DEFINITIONS", "gvk_of"]

_SCALARS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "format": "int64"},
    "number": {"type": "number", "format": "double"},
    "boolean": {"type": "boolean"},
    "date-time": {"type": "string", "format": "date-time"},
    "int-or-string": {"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": True},
    "quantity": {"type": "string", "description": "Quantity is a fixed-point representation of a number, "
                 "e.g. 100m, 128Mi, 1.5Gi."},
    "any": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
}
_EXTRA_GVK = {"Scale": ("autoscaling", "v1"), "Binding": ("", "v1"), "Eviction": ("policy", "v1")}
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
META_DEFINITIONS: dict[str, dict[str, Any]] = {
    f"{META}.ListMeta": {"type": "object", "properties": {
        "resourceVersion": {"type": "string"}, "continue": {"type": "string"},
        "remainingItemCount": {"type": "integer", "format": "int64"}, "selfLink": {"type": "string"}}},
    f"{META}.Status": {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "status": {"type": "string"},
        "message": {"type": "string"}, "reason": {"type": "string"}, "code": {"type": "integer", "format": "int32"},
        "details": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
    f"{META}.Patch": {"type": "object", "description": "Patch is provided to give a concrete name and type to "
                      "the Kubernetes PATCH request body."},
    f"{META}.DeleteOptions": {"type": "object", "properties": {
        "gracePeriodSeconds": {"type": "integer", "format": "int64"}, "propagationPolicy": {"type": "string"},
        "dryRun": {"type": "array", "items": {"type": "string"}},
        "preconditions": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
}


def gvk_of(cls: type) -> dict[str, str] | None:
    for info in RESOURCES:
        if info.model is cls:
            return {"group": info.group, "kind": info.kind, "version": info.version}
    if cls.__name__ in _EXTRA_GVK:
        group, version = _EXTRA_GVK[cls.__name__]
        return {"group": group, "kind": cls.__name__, "version": version}
    return None


def _ref(node: Node, ref: Callable[[str], str], v3: bool) -> dict[str, Any]:
    target = {"$ref": ref(node.name)}
    return {"allOf": [target], "default": {}} if v3 else target


def _type(node: Node, ref: Callable[[str], str], v3: bool) -> dict[str, Any]:
    if node.kind == "object":
        return _ref(node, ref, v3)
    if node.kind == "list":
        assert node.item is not None
        return {"type": "array", "items": _type(node.item, ref, v3)}
    if node.kind == "map":
        assert node.item is not None
        return {"type": "object", "additionalProperties": _type(node.item, ref, v3)}
    return dict(_SCALARS[node.kind])


def _property(prop: Prop, ref: Callable[[str], str], v3: bool) -> dict[str, Any]:
    out = _type(prop.node, ref, v3)
    doc = prop.doc or (_description(prop.node.cls) if prop.node.cls is not None else "")
    if doc:
        out["description"] = doc
    extensions = {"x-kubernetes-patch-merge-key": prop.merge_key, "x-kubernetes-patch-strategy": prop.strategy,
                  "x-kubernetes-list-type": prop.list_type}
    out.update({k: v for k, v in extensions.items() if v})
    if prop.map_keys:
        out["x-kubernetes-list-map-keys"] = list(prop.map_keys)
    return out


def _description(cls: type) -> str:
    """The class docstring's first paragraph; dataclasses invent a signature when there is none, skip that."""
    doc = (cls.__doc__ or "").strip()
    return "" if doc.startswith(cls.__name__ + "(") else doc.split("\n\n")[0].replace("\n", " ")


def _definition(node: Node, ref: Callable[[str], str], v3: bool) -> dict[str, Any]:
    assert node.cls is not None
    out: dict[str, Any] = {"type": "object", "description": _description(node.cls),
                           "properties": {name: _property(p, ref, v3) for name, p in node.props.items()}}
    required = [name for name, p in node.props.items() if p.required]
    if required:
        out["required"] = required
    gvk = gvk_of(node.cls)
    if gvk is not None:
        out["x-kubernetes-group-version-kind"] = [gvk]
    return out


def reachable(roots: list[type]) -> list[Node]:
    """Every model node reachable from ``roots``, each once."""
    seen: dict[int, Node] = {}
    stack = [schema_of(cls) for cls in roots]
    while stack:
        node = stack.pop()
        if node.kind == "object" and id(node) not in seen:
            seen[id(node)] = node
            stack.extend(p.node for p in node.props.values())
        elif node.kind in ("list", "map") and node.item is not None:
            stack.append(node.item)
    return sorted(seen.values(), key=lambda n: n.name)


def _list_definition(name: str, ref: Callable[[str], str], info_kind: str, gvk: dict[str, str]) -> dict[str, Any]:
    return {"type": "object", "description": f"{info_kind}List is a list of {info_kind} objects.",
            "required": ["items"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "items": {"type": "array", "items": {"$ref": ref(name)}},
                           "metadata": {"$ref": ref(f"{META}.ListMeta")}},
            "x-kubernetes-group-version-kind": [gvk]}


def definitions(roots: list[type], ref: Callable[[str], str], v3: bool) -> dict[str, dict[str, Any]]:
    """Definitions for ``roots`` and everything they embed, plus their List kinds and meta/v1 helpers."""
    out = {n.name: _definition(n, ref, v3) for n in reachable(roots)}
    for cls in roots:
        gvk = gvk_of(cls)
        if gvk is not None and cls.__name__ not in _EXTRA_GVK:
            node = schema_of(cls)
            list_gvk = {**gvk, "kind": gvk["kind"] + "List"}
            out[node.name + "List"] = _list_definition(node.name, ref, gvk["kind"], list_gvk)
    out.update(META_DEFINITIONS)
    return out
