"""Strategic merge patch: JSON merge patch that knows which lists are keyed maps.

Semantics follow k8s.io/apimachinery/pkg/util/strategicpatch, for the directives kubectl sends:

* lists whose field declares ``patchStrategy: merge`` merge element by element on ``patchMergeKey``
  (``containers`` by ``name``, ``ports`` by ``containerPort``...); lists of scalars with that strategy union;
  every other list is replaced;
* ``{"$patch": "delete", <key>: v}`` in a list removes that element; ``{"$patch": "replace"}`` in a list or map
  replaces it wholesale; ``"$patch": "delete"`` in a map removes the map;
* ``$setElementOrder/<field>`` fixes the order of a merged list (patch-listed items in that order, items only the
  server has keep their relative place), ``$deleteFromPrimitiveList/<field>`` removes scalars,
  ``$retainKeys`` drops keys of the original map that are not listed (union fields such as a Deployment
  strategy or a volume source);
* ``null`` deletes a key.
"""

from __future__ import annotations

import copy
from typing import Any

from .schema import Node

__all__ = ["strategic_merge", "PatchError"]

_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


class PatchError(ValueError):
    """A patch that cannot be applied; ``code`` is the HTTP status the API server answers with."""

    def __init__(self, message: str, code: int = 422) -> None:
        super().__init__(message)
        self.code = code


def _child(node: Node | None, key: str) -> tuple[Node | None, str, str]:
    """Schema node, merge key and strategy of ``key`` under ``node`` (unknown fields merge like JSON)."""
    if node is None:
        return None, "", ""
    if node.kind == "map":
        return node.item, "", ""
    spec = node.props.get(key) if node.kind == "object" else None
    if spec is None:
        return None, "", ""
    return spec.node, spec.merge_key, spec.strategy


def strip_directives(value: Any) -> Any:
    """A patch value taken as-is (no original to merge with), minus any directives it carries."""
    if isinstance(value, dict):
        if value.get("$patch") == "delete":
            return None
        return {k: strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        items = [strip_directives(v) for v in value if not (isinstance(v, dict) and "$patch" in v
                                                            and len(v) == 1)]
        return [v for v in items if v is not None]
    return value


def strategic_merge(original: dict[str, Any], patch: dict[str, Any], node: Node | None) -> dict[str, Any]:
    """``patch`` applied to a copy of ``original``; ``node`` is the kind's schema."""
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object", 400)
    result = _merge_map(copy.deepcopy(original), patch, node)
    return result if result is not None else {}


def _map_directive(original: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None | bool:
    directive = patch.get("$patch")
    if directive == "replace":
        return strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return None
    if directive is not None:
        raise PatchError(f'unknown patch type: "{directive}" in map: {patch}', 400)
    return False


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    keep = patch.get("$retainKeys")
    if keep is None:
        return
    if not isinstance(keep, list):
        raise PatchError("$retainKeys must be a list of field names", 400)
    for key in [k for k in original if k not in keep]:
        del original[key]


def _merge_map(original: dict[str, Any], patch: dict[str, Any], node: Node | None) -> dict[str, Any] | None:
    replaced = _map_directive(original, patch)
    if replaced is not False:
        return replaced  # type: ignore[return-value]
    _retain_keys(original, patch)
    orders = {k[len(_ORDER):]: v for k, v in patch.items() if k.startswith(_ORDER)}
    before = {k: _identities(original.get(k), _child(node, k)[1]) for k in orders}
    for key, value in patch.items():
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE):]
            if isinstance(original.get(field), list):
                original[field] = [v for v in original[field] if v not in value]
        elif not key.startswith("$"):
            _merge_key(original, key, value, node)
    for key, order in orders.items():
        if isinstance(original.get(key), list):
            original[key] = _ordered(original[key], order, _child(node, key)[1], before[key])
    return original


def _merge_key(original: dict[str, Any], key: str, value: Any, node: Node | None) -> None:
    if value is None:
        original.pop(key, None)
        return
    child, merge_key, strategy = _child(node, key)
    current = original.get(key)
    if isinstance(current, dict) and isinstance(value, dict) and "replace" not in strategy.split(","):
        merged = _merge_map(current, value, child)
    elif isinstance(current, list) and isinstance(value, list) and "merge" in strategy.split(","):
        merged = _merge_list(current, value, child, merge_key)
    else:
        merged = strip_directives(value)
    if merged is None:
        original.pop(key, None)
    else:
        original[key] = merged


def _merge_list(original: list[Any], patch: list[Any], node: Node | None, merge_key: str) -> list[Any]:
    item_node = node.item if node is not None else None
    server_order = _identities(original, merge_key)
    if not any(isinstance(v, dict) for v in original + patch):
        merged = list(original)
        merged += [v for v in patch if v not in merged]
        return _ordered(merged, patch, "", server_order)
    if not merge_key:
        raise PatchError("cannot merge lists without merge key", 400)
    original, patch = _special_elements(original, patch, merge_key)
    for element in patch:
        if merge_key not in element:
            raise PatchError(f"map: {element} does not contain declared merge key: {merge_key}", 422)
        found = next((i for i, o in enumerate(original) if o.get(merge_key) == element[merge_key]), None)
        if found is None:
            original.append(strip_directives(element))
        else:
            original[found] = _merge_map(original[found], element, item_node) or {}
    return _ordered(original, patch, merge_key, server_order)


def _special_elements(original: list[Any], patch: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Apply ``$patch: delete`` elements and detect ``$patch: replace``; return what is left to merge."""
    plain, replace = [], False
    for element in patch:
        directive = element.get("$patch") if isinstance(element, dict) else None
        if directive is None:
            plain.append(element)
        elif directive == "delete":
            if merge_key not in element:
                raise PatchError(f"map: {element} does not contain declared merge key: {merge_key}", 422)
            original = [o for o in original if o.get(merge_key) != element[merge_key]]
        elif directive == "replace":
            replace = True
        else:
            raise PatchError(f'unknown patch type: "{directive}" in list element: {element}', 400)
    return ([], plain) if replace else (original, plain)


def _identity(item: Any, merge_key: str) -> Any:
    return item.get(merge_key) if merge_key and isinstance(item, dict) else item


def _identities(items: Any, merge_key: str) -> list[Any]:
    return [_identity(i, merge_key) for i in items] if isinstance(items, list) else []


def _ordered(merged: list[Any], order: list[Any], merge_key: str, server_order: list[Any]) -> list[Any]:
    """Patch-listed items in ``order``; server-only items keep their place relative to the original.

    A merge of two sorted runs, as Kubernetes does it: a server-only item goes first only when both it and the
    next patch item were in the original and it came earlier there.
    """
    wanted = [_identity(o, merge_key) for o in order]
    in_patch = [m for m in merged if _identity(m, merge_key) in wanted]
    server_only = [m for m in merged if _identity(m, merge_key) not in wanted]
    in_patch.sort(key=lambda m: wanted.index(_identity(m, merge_key)))
    out: list[Any] = []
    while in_patch or server_only:
        if not in_patch or (server_only and _before(server_only[0], in_patch[0], server_order, merge_key)):
            out.append(server_only.pop(0))
        else:
            out.append(in_patch.pop(0))
    return out


def _before(server_item: Any, patch_item: Any, server_order: list[Any], merge_key: str) -> bool:
    left, right = _identity(server_item, merge_key), _identity(patch_item, merge_key)
    return left in server_order and right in server_order and server_order.index(left) < server_order.index(right)
