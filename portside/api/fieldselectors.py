"""Field selectors: ``metadata.name=web,status.phase!=Running``.

Only the fields Kubernetes supports for a kind are allowed; asking for another is an error (``field label not
supported: spec.foo``), not an empty result, so typos surface instead of silently matching nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .selectors import SelectorError

__all__ = ["FieldSelector", "FieldTerm", "field_selector", "FIELD_LABELS"]

_COMMON = frozenset({"metadata.name", "metadata.namespace"})
FIELD_LABELS: dict[str, frozenset[str]] = {
    "Pod": _COMMON
    | {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    },
    "Event": _COMMON
    | {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    },
    "Secret": _COMMON | {"type"},
    "Node": _COMMON | {"spec.unschedulable"},
    "Namespace": _COMMON | {"status.phase"},
    "ReplicaSet": _COMMON | {"status.replicas"},
    "Job": _COMMON | {"status.successful"},
}
# Field labels whose value lives somewhere other than the dotted path they are named by.
_PATHS = {"source": "source.component"}


@dataclass(frozen=True, slots=True)
class FieldTerm:
    field: str
    value: str
    negate: bool = False

    def matches(self, obj: dict[str, Any]) -> bool:
        return (field_value(obj, self.field) == self.value) != self.negate


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A conjunction of ``field=value`` / ``field!=value`` terms over one kind's supported fields."""

    terms: tuple[FieldTerm, ...] = ()

    def matches(self, obj: dict[str, Any]) -> bool:
        return all(t.matches(obj) for t in self.terms)

    def empty(self) -> bool:
        return not self.terms

    def exact(self, name: str) -> str | None:
        """The value a ``name=value`` term pins, so a store can narrow a list before filtering."""
        return next((t.value for t in self.terms if t.field == name and not t.negate), None)


def field_value(obj: dict[str, Any], name: str) -> str:
    """The string a field label compares against; absent fields read as "" (so ``spec.nodeName=`` works)."""
    value: Any = obj
    for part in _PATHS.get(name, name).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside backslash escapes, keeping escapes for the next stage."""
    parts, current, escaped = [], [], False
    for ch in text:
        if escaped:
            current += ["\\", ch]
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if escaped:
        raise SelectorError(f"invalid field selector {text!r}: dangling escape")
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    out, escaped = [], False
    for ch in text:
        if escaped or ch != "\\":
            out.append(ch)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def _term(text: str, allowed: frozenset[str]) -> FieldTerm:
    for op, negate in (("!=", True), ("==", False), ("=", False)):
        key, sep, value = text.partition(op)
        if sep and "=" not in key and "!" not in key:
            key = key.strip()
            if key not in allowed:
                raise SelectorError(f"field label not supported: {key}")
            return FieldTerm(key, _unescape(value), negate)
    raise SelectorError(f"invalid selector: '{text}'; can't understand '{text}'")


def field_selector(text: str | None, kind: Any) -> FieldSelector:
    """Parse a field selector for ``kind`` (a kind name or anything with a ``kind`` attribute)."""
    if not text or not text.strip():
        return FieldSelector()
    kind_name = kind if isinstance(kind, str) else getattr(kind, "kind", "")
    allowed = FIELD_LABELS.get(kind_name, _COMMON)
    return FieldSelector(tuple(_term(part, allowed) for part in _split(text, ",") if part.strip()))
