"""PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch, and apply.

``apply_patch`` only computes the patched object; the server then passes it through ``prepare_update`` like any
other update, so a patch can never store what a PUT could not.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonpatch
import yaml

from .resources import ResourceInfo
from .schema import schema_of
from .strategic import PatchError, strategic_merge

__all__ = ["apply_patch", "merge_patch", "PatchError", "PATCH_TYPES"]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PatchError(f"invalid JSON in patch body: {exc}", 400) from exc


def _json_patch(info: ResourceInfo, original: dict[str, Any], body: bytes) -> Any:
    ops = _json(body)
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations", 400)
    try:
        return jsonpatch.JsonPatch(ops).apply(original)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise PatchError(f"the JSON patch test failed: {exc}", 422) from exc
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise PatchError(f"the JSON patch could not be applied: {exc}", 422) from exc
    except (TypeError, KeyError, AttributeError) as exc:
        raise PatchError(f"malformed JSON patch operation: {exc}", 400) from exc


def _merge(info: ResourceInfo, original: dict[str, Any], body: bytes) -> Any:
    patch = _json(body)
    if not isinstance(patch, dict):
        raise PatchError("a merge patch must be a JSON object", 400)
    return merge_patch(original, patch)


def _strategic(info: ResourceInfo, original: dict[str, Any], body: bytes) -> Any:
    return strategic_merge(original, _json(body), schema_of(info.model))


def _apply(info: ResourceInfo, original: dict[str, Any], body: bytes) -> Any:
    """Server-side apply without field ownership: the applied configuration is merged strategically.

    Fields the configuration omits are kept (there is no managedFields bookkeeping to know who set them).
    """
    try:
        config = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise PatchError(f"invalid YAML in apply body: {exc}", 400) from exc
    if not isinstance(config, dict):
        raise PatchError("an apply body must be an object", 400)
    return strategic_merge(original, config, schema_of(info.model))


_APPLIERS: dict[str, Callable[[ResourceInfo, dict[str, Any], bytes], Any]] = {
    JSON_PATCH: _json_patch,
    MERGE_PATCH: _merge,
    STRATEGIC_PATCH: _strategic,
    APPLY_PATCH: _apply,
}


def apply_patch(info: ResourceInfo, original: dict[str, Any], patch: bytes, content_type: str) -> dict[str, Any]:
    """The object after ``patch``; raises :class:`PatchError` (``.code`` 400 or 422, or 415 for the type)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    applier = _APPLIERS.get(kind)
    if applier is None:
        supported = ", ".join(PATCH_TYPES)
        raise PatchError(f"the body of the request was in an unknown format - accepted media types include: "
                         f"{supported}", 415)
    result = applier(info, original, patch)
    if not isinstance(result, dict):
        raise PatchError("the patched object must be a JSON object", 422)
    return result
