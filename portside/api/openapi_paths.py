"""The REST operations of each resource, in the shape both OpenAPI renderings share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .openapi_schema import META
from .resources import ResourceInfo
from .schema import schema_of

__all__ = ["Operation", "resource_operations"]

_WRITE = ["dryRun", "fieldManager", "fieldValidation"]
_LIST = ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch",
         "watch", "allowWatchBookmarks", "sendInitialEvents", "timeoutSeconds"]
_DELETE = ["dryRun", "gracePeriodSeconds", "propagationPolicy", "orphanDependents"]
_TYPES = {"limit": "integer", "timeoutSeconds": "integer", "gracePeriodSeconds": "integer", "watch": "boolean",
          "allowWatchBookmarks": "boolean", "sendInitialEvents": "boolean", "orphanDependents": "boolean",
          "force": "boolean"}
_VERB = {"get": "read", "list": "list", "post": "create", "put": "replace", "patch": "patch", "delete": "delete",
         "deletecollection": "deleteCollection"}


@dataclass
class Operation:
    action: str
    operation_id: str
    description: str
    tag: str
    response: str
    gvk: dict[str, str]
    body: str = ""
    parameters: list[dict[str, Any]] = field(default_factory=list)


def _query(names: list[str]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "type": _TYPES.get(n, "string")} for n in names]


def _path_params(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True, "type": "string"} for n in names]


def _prefix(info: ResourceInfo) -> str:
    return f"/api/{info.version}" if not info.group else f"/apis/{info.group}/{info.version}"


def _operation_id(action: str, info: ResourceInfo, suffix: str, namespaced: bool) -> str:
    group = (info.group.split(".")[0] or "core").capitalize()
    scope = "Namespaced" if namespaced else ""
    return f"{_VERB[action]}{group}{info.version.capitalize()}{scope}{info.kind}{suffix}"


def _op(info: ResourceInfo, action: str, response: str, *, suffix: str = "", body: str = "",
        params: list[str] | None = None, gvk: dict[str, str] | None = None, namespaced: bool = True) -> Operation:
    tag = f"{(info.group.split('.')[0] or 'core')}_{info.version}"
    kind_gvk = gvk or {"group": info.group, "version": info.version, "kind": info.kind}
    return Operation(action, _operation_id(action, info, suffix, namespaced and info.namespaced),
                     f"{_VERB[action]} {suffix.lower() or info.kind}", tag, response, kind_gvk, body,
                     _query(params or []))


def _collection(info: ResourceInfo, kind: str) -> dict[str, Operation]:
    ops = {}
    if "list" in info.verbs:
        ops["get"] = _op(info, "list", kind + "List", params=_LIST)
    if "create" in info.verbs:
        ops["post"] = _op(info, "post", kind, body=kind, params=_WRITE)
    if "deletecollection" in info.verbs:
        ops["delete"] = _op(info, "deletecollection", f"{META}.Status", params=_DELETE + _LIST)
    return ops


def _item(info: ResourceInfo, kind: str) -> dict[str, Operation]:
    ops = {"get": _op(info, "get", kind)}
    if "update" in info.verbs:
        ops["put"] = _op(info, "put", kind, body=kind, params=_WRITE)
    if "patch" in info.verbs:
        ops["patch"] = _op(info, "patch", kind, params=_WRITE + ["force"])
    if "delete" in info.verbs:
        ops["delete"] = _op(info, "delete", f"{META}.Status", body=f"{META}.DeleteOptions", params=_DELETE)
    return ops


def _subresource(info: ResourceInfo, kind: str, sub: str) -> dict[str, Operation]:
    if sub == "binding":
        binding = schema_of(_model("Binding")).name
        return {"post": _op(info, "post", binding, suffix="Binding", body=binding, params=_WRITE,
                            gvk={"group": "", "version": "v1", "kind": "Binding"})}
    if sub == "eviction":
        eviction = schema_of(_model("Eviction")).name
        return {"post": _op(info, "post", eviction, suffix="Eviction", body=eviction, params=_WRITE,
                            gvk={"group": "policy", "version": "v1", "kind": "Eviction"})}
    if sub == "scale":
        scale = schema_of(_model("Scale")).name
        gvk = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
        return {m: _op(info, a, scale, suffix="Scale", body=scale if a != "get" else "", gvk=gvk,
                       params=(_WRITE + (["force"] if a == "patch" else [])) if a != "get" else [])
                for m, a in (("get", "get"), ("put", "put"), ("patch", "patch"))}
    actions = (("put", "put"),) if sub == "finalize" else (("get", "get"), ("put", "put"), ("patch", "patch"))
    return {m: _op(info, a, kind, suffix=sub.capitalize(), body=kind if a == "put" else "",
                   params=(_WRITE + (["force"] if a == "patch" else [])) if a != "get" else [])
            for m, a in actions}


def _model(name: str) -> type:
    from . import models

    return getattr(models, name)


def resource_operations(info: ResourceInfo) -> dict[str, tuple[list[dict[str, Any]], dict[str, Operation]]]:
    """path -> (path parameters, {http method: operation}) for one resource and its subresources."""
    kind = schema_of(info.model).name
    base = _prefix(info) + ("/namespaces/{namespace}" if info.namespaced else "") + f"/{info.plural}"
    scope = ("namespace",) if info.namespaced else ()
    paths = {base: (_path_params(*scope), _collection(info, kind)),
             base + "/{name}": (_path_params(*scope, "name"), _item(info, kind))}
    for sub in sorted(info.subresources):
        paths[f"{base}/{{name}}/{sub}"] = (_path_params(*scope, "name"), _subresource(info, kind, sub))
    if info.namespaced and "list" in info.verbs:
        everywhere = _op(info, "list", kind + "List", params=_LIST, suffix="ForAllNamespaces", namespaced=False)
        paths[f"{_prefix(info)}/{info.plural}"] = ([], {"get": everywhere})
    return paths
