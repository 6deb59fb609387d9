"""Typed access: ``Pod.from_dict(d)`` and ``pod.to_dict()`` over the compiled schema.

Controllers, the agent and the scheduler read objects as attributes instead of nested ``dict.get`` chains.
Unknown fields are ignored on the way in and ``None`` fields are omitted on the way out, so
``Model.from_dict(d).to_dict() == d`` for any normalized ``d``.

Every watch event a component receives is decoded once, so decoding sits on the control plane's hot path. Each
schema position is therefore compiled once into a loader and a dumper closure: scalars (and lists and maps of
them) pass through untouched, and an object is built by filling its ``__dict__`` with the fields present on the
wire only, instead of calling a dataclass ``__init__`` with dozens of keyword defaults: an absent field reads
the class attribute the dataclass keeps for its default (None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Model"]

M = TypeVar("M", bound="Model")
Convert = Callable[[Any], Any] | None  # None: the value is taken as it is


def _loader(node: Any) -> Convert:
    cached = node.__dict__.get("_loader", False)
    if cached is not False:
        return cached
    kind = node.kind
    if kind == "object":
        return _object_loader(node)
    fn: Convert = None
    if kind in ("list", "map"):
        item = _loader(node.item)
        if item is not None and kind == "list":
            fn = lambda value: [item(v) for v in value]  # noqa: E731
        elif item is not None:
            fn = lambda value: {k: item(v) for k, v in value.items()}  # noqa: E731
    node._loader = fn
    return fn


def _object_loader(node: Any) -> Callable[[dict[str, Any]], Any]:
    cls, table = node.cls, {}
    new = object.__new__
    assert all(getattr(cls, p.attr) is None for p in node.props.values()), f"{cls.__name__}: a field without default"

    def load(value: dict[str, Any]) -> Any:
        fields = {}  # absent fields read the class's default (None), as every ``prop()`` declares
        for key, v in value.items():
            entry = table.get(key)
            if entry is not None and v is not None:
                fields[entry[0]] = v if entry[1] is None else entry[1](v)
        obj = new(cls)
        obj.__dict__ = fields
        return obj

    node._loader = load  # before the props: a model that contains itself finds this loader
    table.update({key: (p.attr, _loader(p.node)) for key, p in node.props.items()})
    return load


def _dumper(node: Any) -> Convert:
    cached = node.__dict__.get("_dumper", False)
    if cached is not False:
        return cached
    kind = node.kind
    if kind == "object":
        return _object_dumper(node)
    fn: Convert = None
    if kind in ("list", "map"):
        item = _dumper(node.item)
        if item is not None and kind == "list":
            fn = lambda value: [item(v) for v in value]  # noqa: E731
        elif item is not None:
            fn = lambda value: {k: item(v) for k, v in value.items()}  # noqa: E731
    node._dumper = fn
    return fn


def _object_dumper(node: Any) -> Callable[[Any], dict[str, Any]]:
    table: dict[str, tuple[str, Convert]] = {}

    def dump(value: Any) -> dict[str, Any]:
        out = {}
        for attr, v in value.__dict__.items():
            entry = table.get(attr) if v is not None else None
            if entry is not None:
                out[entry[0]] = v if entry[1] is None else entry[1](v)
        return out

    node._dumper = dump
    table.update({p.attr: (key, _dumper(p.node)) for key, p in node.props.items()})
    return dump


class Model:
    """Base of every API model: round-trips between the wire dict and typed attributes."""

    @classmethod
    def from_dict(cls: type[M], data: dict[str, Any]) -> M:
        load = cls.__dict__.get("_load")
        if load is None:
            from .schema import schema_of

            load = _loader(schema_of(cls))
            cls._load = staticmethod(load)  # type: ignore[attr-defined]
        return load(data)

    def to_dict(self) -> dict[str, Any]:
        dump = type(self).__dict__.get("_dump")
        if dump is None:
            from .schema import schema_of

            dump = _dumper(schema_of(type(self)))
            type(self)._dump = staticmethod(dump)  # type: ignore[attr-defined]
        return dump(self)
