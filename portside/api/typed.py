"""Typed access: ``Pod.from_dict(d)`` and ``pod.to_dict()`` over the compiled schema.

Controllers, the agent and the scheduler read objects as attributes instead of nested ``dict.get`` chains.
Unknown fields are ignored on the way in and ``None`` fields are omitted on the way out, so
``Model.from_dict(d).to_dict() == d`` for any normalized ``d``.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["Model"]

M = TypeVar("M", bound="Model")


def _load(node: Any, value: Any) -> Any:
    kind = node.kind
    if kind == "object":
        return _load_object(node, value)
    if kind == "list":
        return [_load(node.item, v) for v in value]
    if kind == "map":
        return {k: _load(node.item, v) for k, v in value.items()}
    return value


def _load_object(node: Any, value: dict[str, Any]) -> Any:
    props = node.props
    kwargs = {props[k].attr: _load(props[k].node, v) for k, v in value.items() if k in props and v is not None}
    return node.cls(**kwargs)


def _dump(node: Any, value: Any) -> Any:
    kind = node.kind
    if kind == "object":
        out = {}
        for p in node.props.values():
            v = getattr(value, p.attr)
            if v is not None:
                out[p.json] = _dump(p.node, v)
        return out
    if kind == "list":
        return [_dump(node.item, v) for v in value]
    if kind == "map":
        return {k: _dump(node.item, v) for k, v in value.items()}
    return value


class Model:
    """Base of every API model: round-trips between the wire dict and typed attributes."""

    @classmethod
    def from_dict(cls: type[M], data: dict[str, Any]) -> M:
        from .schema import schema_of

        return _load_object(schema_of(cls), data)

    def to_dict(self) -> dict[str, Any]:
        from .schema import schema_of

        return _dump(schema_of(type(self)), self)
