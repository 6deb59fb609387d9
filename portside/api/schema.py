"""Typed models declared once, read four ways: validation, pruning, typed access and OpenAPI.

A model is a plain dataclass whose fields carry their wire name and patch metadata. :func:`schema_of` compiles a
model into a tree of :class:`Node` once; the tree drives

* :func:`normalize` - the API server's decode step over wire dicts: JSON types checked with exact field paths,
  unknown fields dropped and reported (Kubernetes prunes them; kubectl asks for a warning or a strict error),
  ``null`` fields dropped, quantities rewritten in canonical form;
* ``Model.from_dict`` / ``Model.to_dict`` - typed access for controllers, the agent and the scheduler;
* :mod:`.openapi` and the strategic merge patch (``x-kubernetes-patch-merge-key``/``-strategy``).

The server keeps objects as dicts (they are what the store holds and what clients send), so validation works on
dicts and never builds dataclasses on the hot path.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Union

from . import errors
from .quantity import QuantityError, canonical

__all__ = [
    "Node",
    "Prop",
    "prop",
    "model",
    "QuantityValue",
    "IntOrString",
    "Time",
    "RawObject",
    "schema_of",
    "normalize",
]

QuantityValue = Annotated[str, "quantity"]
IntOrString = Annotated[int | str, "int-or-string"]
Time = Annotated[str, "date-time"]
RawObject = Annotated[dict[str, Any], "any"]
_SCALARS = {str: "string", int: "integer", bool: "boolean", float: "number"}
_ACRONYMS = {"ip": "IP", "ips": "IPs", "uid": "UID", "id": "ID", "uuid": "UUID", "cidr": "CIDR", "cidrs": "CIDRs"}


def prop(json: str | None = None, *, doc: str = "", merge_key: str = "", strategy: str = "",
         list_type: str = "", map_keys: tuple[str, ...] = (), required: bool = False) -> Any:
    """Declare a model field: wire name (derived from the attribute when omitted) and patch metadata."""
    meta = {"json": json, "doc": doc, "merge_key": merge_key, "strategy": strategy,
            "list_type": list_type, "map_keys": map_keys, "required": required}
    return dataclasses.field(default=None, metadata=meta)


def model(package: str, suffix: str = "") -> Callable[[type], type]:
    """Class decorator: a keyword-only dataclass plus the OpenAPI package its definition lives in.

    ``suffix`` is for a kind served in two versions: its older version's classes carry the suffix in Python
    (``HorizontalPodAutoscalerV1`` beside the v2 ``HorizontalPodAutoscaler``) and drop it in their definition's
    name (``io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler``)."""

    def wrap(cls: type) -> type:
        cls.__openapi_package__ = package  # type: ignore[attr-defined]
        cls.__openapi_name__ = cls.__name__.removesuffix(suffix) if suffix else cls.__name__  # type: ignore
        return dataclass(kw_only=True)(cls)

    return wrap


def _camel(attr: str) -> str:
    head, *rest = attr.split("_")
    return head + "".join(_ACRONYMS.get(p, p.capitalize()) for p in rest)


@dataclass(eq=False)
class Node:
    """One schema position: ``kind`` is object/list/map or a scalar kind (string, integer, quantity...)."""

    kind: str
    cls: type | None = None
    item: Node | None = None
    props: dict[str, Prop] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        assert self.cls is not None
        return f"{self.cls.__openapi_package__}.{self.cls.__openapi_name__}"  # type: ignore[attr-defined]


@dataclass(eq=False)
class Prop:
    attr: str
    json: str
    node: Node
    doc: str = ""
    merge_key: str = ""
    strategy: str = ""
    list_type: str = ""
    map_keys: tuple[str, ...] = ()
    required: bool = False


def _node_for(tp: Any) -> Node:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return Node(tp.__metadata__[0])
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _node_for(args[0])
    if origin is list:
        return Node("list", item=_node_for(typing.get_args(tp)[0]))
    if origin is dict:
        return Node("map", item=_node_for(typing.get_args(tp)[1]))
    if tp in _SCALARS:
        return Node(_SCALARS[tp])
    if dataclasses.is_dataclass(tp):
        return schema_of(tp)
    raise TypeError(f"no schema for {tp!r}")


_CACHE: dict[type, Node] = {}


def schema_of(cls: type) -> Node:
    """The compiled schema of a model class (cached; recursive models resolve to the same node)."""
    if cls in _CACHE:
        return _CACHE[cls]
    node = _CACHE[cls] = Node("object", cls=cls)
    hints = typing.get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        meta = dict(f.metadata)
        name = meta.pop("json", None) or _camel(f.name)
        node.props[name] = Prop(f.name, name, _node_for(hints[f.name]), **meta)
    return node


def normalize(node: Node, value: Any, path: str, errs: list[errors.FieldError], unknown: list[str]) -> Any:
    """Check JSON types against ``node`` and return a cleaned copy; problems go to ``errs`` and ``unknown``."""
    return _NORMALIZERS[node.kind](node, value, path, errs, unknown)


def _object(node: Node, value: Any, path: str, errs: list, unknown: list) -> Any:
    if not isinstance(value, dict):
        errs.append(errors.type_invalid(path, value, "object"))
        return None
    out = {}
    props = node.props
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        spec = props.get(key)
        if spec is None:
            unknown.append(child)
        elif item is not None:
            out[key] = _NORMALIZERS[spec.node.kind](spec.node, item, child, errs, unknown)
    return out


def _list(node: Node, value: Any, path: str, errs: list, unknown: list) -> Any:
    if not isinstance(value, list):
        errs.append(errors.type_invalid(path, value, "array"))
        return None
    item = node.item
    assert item is not None
    fn = _NORMALIZERS[item.kind]
    return [fn(item, v, f"{path}[{i}]", errs, unknown) for i, v in enumerate(value)]


def _map(node: Node, value: Any, path: str, errs: list, unknown: list) -> Any:
    if not isinstance(value, dict):
        errs.append(errors.type_invalid(path, value, "object"))
        return None
    item = node.item
    assert item is not None
    fn = _NORMALIZERS[item.kind]
    if item.kind == "quantity":  # resource lists read as ``limits.memory``, the form Kubernetes users quote
        return {k: fn(item, v, f"{path}.{k}", errs, unknown) for k, v in value.items()}
    return {k: fn(item, v, f"{path}[{k}]", errs, unknown) for k, v in value.items()}


def _scalar(expected: str, check: Callable[[Any], bool]) -> Callable[..., Any]:
    def normalize_scalar(node: Node, value: Any, path: str, errs: list, unknown: list) -> Any:
        if not check(value):
            errs.append(errors.type_invalid(path, value, expected))
        return value

    return normalize_scalar


def _quantity(node: Node, value: Any, path: str, errs: list, unknown: list) -> Any:
    try:
        return canonical(value)
    except QuantityError as exc:
        errs.append(errors.invalid(path, value, str(exc)))
        return value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_NORMALIZERS: dict[str, Callable[..., Any]] = {
    "object": _object,
    "list": _list,
    "map": _map,
    "string": _scalar("string", lambda v: isinstance(v, str)),
    "date-time": _scalar("string", lambda v: isinstance(v, str)),
    "integer": _scalar("integer", _is_int),
    "number": _scalar("number", lambda v: _is_int(v) or isinstance(v, float)),
    "boolean": _scalar("boolean", lambda v: isinstance(v, bool)),
    "int-or-string": _scalar("integer or string", lambda v: _is_int(v) or isinstance(v, str)),
    "quantity": _quantity,
    "any": lambda node, value, path, errs, unknown: value,
}

