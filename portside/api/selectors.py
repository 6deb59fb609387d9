"""Label selectors (equality and set-based) and field selectors, as the list and watch calls take them.

The string grammar is Kubernetes'::

    selector    ::= requirement ("," requirement)*
    requirement ::= "!" KEY | KEY [ ("=" | "==" | "!=") VALUE | ("in" | "notin") "(" VALUE ("," VALUE)* ")"
                                  | (">" | "<") INTEGER ]

``!=`` and ``notin`` also match objects that lack the key, which is what makes ``env!=prod`` select unlabelled
objects.

Whether a missing selector selects everything or nothing depends on the field, as in Kubernetes; every part of
portside compiles selectors through the function named here for its field, so the rule lives in one place:

=========================================================  ==========================  ===============================
field                                                      missing (``None``)          empty (``{}`` / ``[]``)
=========================================================  ==========================  ===============================
``metav1.LabelSelector``: pod (anti-)affinity term         nothing                     everything
``labelSelector``, topologySpreadConstraints               (``selector_from_object``)
``labelSelector``, PodDisruptionBudget (policy/v1),
ReplicaSet/Deployment/Job ``selector``
pod ``spec.nodeSelector`` (``selector_from_set``)          everything                  everything
Service ``spec.selector`` (``service_selector``)           nothing (endpoints are      nothing
                                                           managed by someone else)
required node affinity (``node_selector_from_object``)     no constraint (``None``)    ``nodeSelectorTerms: []``
                                                                                       matches no node
one ``NodeSelectorTerm`` (``node_term_from_object``)       -                           matches no node
=========================================================  ==========================  ===============================

Workload selectors are required and non-empty by validation, so their empty case never reaches a controller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .names import is_label_value, is_qualified_name

__all__ = [
    "Requirement",
    "Selector",
    "SelectorError",
    "label_selector",
    "selector_from_object",
    "selector_from_set",
    "service_selector",
    "NodeSelectorTerm",
    "NodeSelector",
    "node_term_from_object",
    "node_selector_from_object",
    "NODE_NAME_FIELD",
    "format_selector",
    "format_label_selector",
]

_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|<|>|[^\s=!(),<>]+)")
_SET_OPS = {"in": "In", "notin": "NotIn"}
_EQ_OPS = {"=": "In", "==": "In", "!=": "NotIn"}


class SelectorError(ValueError):
    """A selector string or object that does not parse; the message names the part that is wrong."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One clause: ``key`` ``operator`` (In, NotIn, Exists, DoesNotExist, Gt, Lt) ``values``."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        op = self.operator
        if op == "Exists" or op == "DoesNotExist":
            return present == (op == "Exists")
        if op == "In":
            return present and labels[self.key] in self.values
        if op == "NotIn":
            return not present or labels[self.key] not in self.values
        return present and _compare(labels[self.key], op, int(self.values[0]))


def _compare(value: str, op: str, bound: int) -> bool:
    try:
        number = int(value)
    except ValueError:
        return False
    return number > bound if op == "Gt" else number < bound


@dataclass(frozen=True, slots=True)
class Selector:
    """A conjunction of requirements; the empty selector matches everything, ``nothing`` matches nothing."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: dict[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements and not self.nothing


def _check_key(key: str, where: str) -> None:
    problems = is_qualified_name(key)
    if problems:
        raise SelectorError(f"invalid label key {key!r} in {where}: {'; '.join(problems)}")


def _check_value(value: str, where: str) -> None:
    problems = is_label_value(value)
    if problems:
        raise SelectorError(f"invalid label value {value!r} in {where}: {'; '.join(problems)}")


def _make(key: str, operator: str, values: list[str], where: str) -> Requirement:
    _check_key(key, where)
    if operator in ("Gt", "Lt"):
        if len(values) != 1 or not re.fullmatch(r"-?\d+", values[0]):
            raise SelectorError(f"{where}: operator {operator} needs a single integer value")
    else:
        for value in values:
            _check_value(value, where)
    if operator in ("In", "NotIn") and not values:
        raise SelectorError(f"{where}: operator {operator} needs at least one value")
    return Requirement(key, operator, tuple(sorted(set(values))))


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = [m.group(1) for m in _TOKEN.finditer(text) if m.group(1)]
        if "".join(self.items) != re.sub(r"\s+", "", text):
            raise SelectorError(f"invalid label selector {text!r}: unexpected characters")
        self.pos = 0

    def peek(self) -> str | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def take(self) -> str | None:
        tok = self.peek()
        self.pos += 1
        return tok

    def fail(self, expected: str) -> SelectorError:
        found = self.peek()
        got = "end of string" if found is None else repr(found)
        return SelectorError(f"invalid label selector {self.text!r}: expected {expected}, found {got}")


def _identifier(tokens: _Tokens, what: str) -> str:
    tok = tokens.peek()
    if tok is None or tok in "=!(),<>" or tok in ("==", "!="):
        raise tokens.fail(what)
    return tokens.take() or ""


def _value(tokens: _Tokens) -> str:
    """A value may be empty (``env=``), so an operator or the end is not an error here."""
    tok = tokens.peek()
    if tok is None or tok in (",", ")"):
        return ""
    return _identifier(tokens, "a value")


def _value_set(tokens: _Tokens) -> list[str]:
    if tokens.take() != "(":
        tokens.pos -= 1
        raise tokens.fail("'('")
    values = [_value(tokens)]
    while tokens.peek() == ",":
        tokens.take()
        values.append(_value(tokens))
    if tokens.take() != ")":
        tokens.pos -= 1
        raise tokens.fail("')' or ','")
    return values


def _requirement(tokens: _Tokens) -> Requirement:
    where = f"label selector {tokens.text!r}"
    if tokens.peek() == "!":
        tokens.take()
        return _make(_identifier(tokens, "a key after '!'"), "DoesNotExist", [], where)
    key = _identifier(tokens, "a key")
    op = tokens.peek()
    if op is None or op == ",":
        return _make(key, "Exists", [], where)
    tokens.take()
    if op in _EQ_OPS:
        return _make(key, _EQ_OPS[op], [_value(tokens)], where)
    if op in _SET_OPS:
        return _make(key, _SET_OPS[op], _value_set(tokens), where)
    if op in ("<", ">"):
        return _make(key, "Lt" if op == "<" else "Gt", [_identifier(tokens, "an integer")], where)
    tokens.pos -= 1
    raise tokens.fail("'=', '==', '!=', 'in', 'notin', '<' or '>'")


def label_selector(text: str | None) -> Selector:
    """Parse ``app=web,tier in (a,b),!legacy``; an empty string selects everything."""
    if not text or not text.strip():
        return Selector()
    tokens = _Tokens(text)
    requirements = [_requirement(tokens)]
    while tokens.peek() == ",":
        tokens.take()
        requirements.append(_requirement(tokens))
    if tokens.peek() is not None:
        raise tokens.fail("','")
    return Selector(tuple(requirements))


_OBJECT_OPS = {"In": "In", "NotIn": "NotIn", "Exists": "Exists", "DoesNotExist": "DoesNotExist"}
_NODE_OPS = {**_OBJECT_OPS, "Gt": "Gt", "Lt": "Lt"}
NODE_NAME_FIELD = "metadata.name"


def _get(obj: Any, json_name: str, attr: str) -> Any:
    """A field of the wire dict or of the typed model (``portside.api.models``): selectors accept either."""
    return obj.get(json_name) if isinstance(obj, dict) else getattr(obj, attr, None)


def _expression(expr: Any, ops: dict[str, str], where: str) -> Requirement:
    op = ops.get(_get(expr, "operator", "operator") or "")
    if op is None:
        raise SelectorError(f"{where}.operator: {_get(expr, 'operator', 'operator')!r} is not a valid label selector "
                            f"operator (expected one of {', '.join(ops)})")
    values = list(_get(expr, "values", "values") or [])
    if op in ("Exists", "DoesNotExist") and values:
        raise SelectorError(f"{where}: values must be empty for operator {op}")
    return _make(_get(expr, "key", "key") or "", op, values, where)


def selector_from_object(label_selector_obj: Any, where: str = "selector") -> Selector:
    """A ``metav1.LabelSelector`` (dict or typed model): matchLabels and matchExpressions ANDed.

    ``None`` selects nothing and ``{}`` everything, as ``metav1.LabelSelectorAsSelector`` does: a pod affinity
    term or a spread constraint without a selector counts no pods."""
    if label_selector_obj is None:
        return Selector(nothing=True)
    match_labels = _get(label_selector_obj, "matchLabels", "match_labels") or {}
    reqs = [_make(k, "In", [v], where) for k, v in match_labels.items()]
    for i, expr in enumerate(_get(label_selector_obj, "matchExpressions", "match_expressions") or []):
        reqs.append(_expression(expr, _OBJECT_OPS, f"{where}.matchExpressions[{i}]"))
    return Selector(tuple(reqs))


def selector_from_set(labels: dict[str, str] | None, where: str = "nodeSelector") -> Selector:
    """An equality map such as a pod's ``nodeSelector``: every pair must match; missing or empty selects everything."""
    return Selector(tuple(_make(k, "In", [v], where) for k, v in sorted((labels or {}).items())))


def service_selector(labels: dict[str, str] | None) -> Selector:
    """A Service's ``spec.selector``: missing or empty selects nothing, since such a Service's endpoints are
    managed outside the endpoints controller."""
    return selector_from_set(labels, "spec.selector") if labels else Selector(nothing=True)


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    """One term of a node affinity: label requirements and ``metadata.name`` field requirements, ANDed.

    A term with no requirements at all matches no node (Kubernetes drops such terms)."""

    requirements: tuple[Requirement, ...] = ()
    fields: tuple[Requirement, ...] = ()

    def empty(self) -> bool:
        return not self.requirements and not self.fields

    def matches(self, labels: dict[str, str] | None, name: str = "") -> bool:
        if self.empty():
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements) and \
            all(r.matches({NODE_NAME_FIELD: name}) for r in self.fields)


@dataclass(frozen=True, slots=True)
class NodeSelector:
    """Required node affinity: terms ORed; no terms (or only empty ones) match no node."""

    terms: tuple[NodeSelectorTerm, ...] = ()

    def matches(self, labels: dict[str, str] | None, name: str = "") -> bool:
        return any(t.matches(labels, name) for t in self.terms)


def node_term_from_object(term: Any, where: str = "nodeSelectorTerm") -> NodeSelectorTerm:
    """A ``NodeSelectorTerm`` (dict or typed model); matchFields may only name ``metadata.name`` with In/NotIn."""
    if term is None:
        return NodeSelectorTerm()
    reqs = tuple(_expression(e, _NODE_OPS, f"{where}.matchExpressions[{i}]")
                 for i, e in enumerate(_get(term, "matchExpressions", "match_expressions") or []))
    fields = []
    for i, f in enumerate(_get(term, "matchFields", "match_fields") or []):
        here = f"{where}.matchFields[{i}]"
        key, op = _get(f, "key", "key"), _get(f, "operator", "operator")
        values = list(_get(f, "values", "values") or [])
        if key != NODE_NAME_FIELD:
            raise SelectorError(f"{here}.key: only {NODE_NAME_FIELD!r} is supported, got {key!r}")
        if op not in ("In", "NotIn") or len(values) != 1:
            raise SelectorError(f"{here}: operator In or NotIn with exactly one value expected")
        fields.append(Requirement(key, op, tuple(values)))
    return NodeSelectorTerm(reqs, tuple(fields))


def node_selector_from_object(selector: Any, where: str = "nodeSelector") -> NodeSelector | None:
    """A ``NodeSelector`` (required node affinity): ``None`` is no constraint, ``nodeSelectorTerms: []`` no node."""
    if selector is None:
        return None
    terms = _get(selector, "nodeSelectorTerms", "node_selector_terms") or []
    return NodeSelector(tuple(node_term_from_object(t, f"{where}.nodeSelectorTerms[{i}]")
                              for i, t in enumerate(terms)))


def _format_requirement(r: Requirement) -> str:
    if r.operator == "Exists":
        return r.key
    if r.operator == "DoesNotExist":
        return "!" + r.key
    if r.operator in ("In", "NotIn") and len(r.values) == 1:
        return f"{r.key}{'=' if r.operator == 'In' else '!='}{r.values[0]}"
    if r.operator in ("Gt", "Lt"):
        return f"{r.key}{'>' if r.operator == 'Gt' else '<'}{r.values[0]}"
    return f"{r.key} {r.operator.lower()} ({','.join(r.values)})"


def format_selector(selector: Selector) -> str:
    """The string form (``app=web,tier in (a,b)``), sorted by key as Kubernetes prints it."""
    return ",".join(_format_requirement(r) for r in sorted(selector.requirements, key=lambda r: r.key))


def format_label_selector(label_selector_obj: dict[str, Any] | None) -> str:
    """A LabelSelector object as a selector string (the Scale subresource and ``kubectl get -o wide`` use it)."""
    if not label_selector_obj:
        return ""
    return format_selector(selector_from_object(label_selector_obj))
