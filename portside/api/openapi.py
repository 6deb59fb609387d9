"""The OpenAPI documents kubectl reads: ``/openapi/v3`` (index), ``/openapi/v3/<gv>`` and ``/openapi/v2``.

kubectl 1.32 asks the v3 document of a group-version whether the PATCH operation of a kind (found by its
``x-kubernetes-group-version-kind`` extension) takes a ``fieldValidation`` query parameter: if it does, validation
happens on the server (unknown fields come back as errors or warnings) and no client-side schema check runs.
Client-side apply looks for ``application/strategic-merge-patch+json`` in that operation's request body and then
reads merge keys from ``components.schemas``. Documents are generated once and cached; callers must not mutate them.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from . import models
from .openapi_paths import Operation, resource_operations
from .openapi_schema import META, definitions
from .resources import RESOURCES, ResourceInfo

__all__ = ["openapi_v2", "openapi_v3", "openapi_v3_index", "group_version_key"]

_INFO = {"title": "Kubernetes", "version": "v1.32.0"}
_PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json", "application/apply-patch+yaml"]


def group_version_key(group: str, version: str) -> str:
    """The index key of a group-version: ``api/v1`` or ``apis/<group>/<version>``."""
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _v3_ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _v2_ref(name: str) -> str:
    return f"#/definitions/{name}"


def _roots(infos: list[ResourceInfo]) -> list[type]:
    roots = [i.model for i in infos]
    if any("scale" in i.subresources for i in infos):
        roots.append(models.Scale)
    if any("binding" in i.subresources for i in infos):
        roots.append(models.Binding)
    if any("eviction" in i.subresources for i in infos):
        roots.append(models.Eviction)
    return roots


def _v3_parameter(param: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in param.items() if k not in ("type",)}
    out["schema"] = {"type": param["type"], "uniqueItems": True}
    return out


def _v3_operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tags": [op.tag], "description": op.description, "operationId": op.operation_id,
        "parameters": [_v3_parameter(p) for p in op.parameters],
        "responses": {"200": {"description": "OK", "content": {
            "application/json": {"schema": {"$ref": _v3_ref(op.response)}}}},
            "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": op.action, "x-kubernetes-group-version-kind": op.gvk,
    }
    if op.action == "patch":
        schema = {"$ref": _v3_ref(f"{META}.Patch")}
        out["requestBody"] = {"content": {t: {"schema": schema} for t in _PATCH_TYPES}, "required": True}
    elif op.body:
        out["requestBody"] = {"content": {"*/*": {"schema": {"$ref": _v3_ref(op.body)}}}, "required": True}
    return out


def _v2_operation(op: Operation) -> dict[str, Any]:
    params = [dict(p, uniqueItems=True) for p in op.parameters]
    out: dict[str, Any] = {
        "tags": [op.tag], "description": op.description, "operationId": op.operation_id,
        "consumes": _PATCH_TYPES if op.action == "patch" else ["*/*"],
        "produces": ["application/json", "application/yaml"], "schemes": ["https"], "parameters": params,
        "responses": {"200": {"description": "OK", "schema": {"$ref": _v2_ref(op.response)}},
                      "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": op.action, "x-kubernetes-group-version-kind": op.gvk,
    }
    body = f"{META}.Patch" if op.action == "patch" else op.body
    if body:
        params.insert(0, {"name": "body", "in": "body", "required": True, "schema": {"$ref": _v2_ref(body)}})
    return out


def _paths(infos: list[ResourceInfo], v3: bool) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for info in infos:
        for path, (path_params, ops) in resource_operations(info).items():
            render = _v3_operation if v3 else _v2_operation
            item: dict[str, Any] = {method: render(op) for method, op in ops.items()}
            item["parameters"] = [_v3_parameter(p) if v3 else p for p in path_params]
            paths[path] = item
    return paths


@functools.cache
def _v3_documents() -> dict[str, dict[str, Any]]:
    docs = {}
    for key in dict.fromkeys(group_version_key(i.group, i.version) for i in RESOURCES):
        infos = [i for i in RESOURCES if group_version_key(i.group, i.version) == key]
        docs[key] = {"openapi": "3.0.0", "info": _INFO, "paths": _paths(infos, True),
                     "components": {"schemas": definitions(_roots(infos), _v3_ref, True)}}
    return docs


def openapi_v3(group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI 3.0 document of one group-version (``None`` when it is not served)."""
    return _v3_documents().get(group_version_key(group, version))


@functools.cache
def openapi_v3_index() -> dict[str, Any]:
    """``GET /openapi/v3``: where each group-version document lives; the hash changes when the document does."""
    paths = {}
    for key, doc in _v3_documents().items():
        digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


@functools.cache
def openapi_v2() -> dict[str, Any]:
    """The Swagger 2.0 document (JSON) of everything served."""
    return {"swagger": "2.0", "info": _INFO, "paths": _paths(RESOURCES, False),
            "definitions": definitions(_roots(RESOURCES), _v2_ref, False)}
