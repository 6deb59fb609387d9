"""Label selectors (equality and set-based) and field selectors, as the list and watch calls take them.

The string grammar is Kubernetes'::

    selector    ::= requirement ("," requirement)*
    requirement ::= "!" KEY | KEY [ ("=" | "==" | "!=") VALUE | ("in" | "notin") "(" VALUE ("," VALUE)* ")"
                                  | (">" | "<") INTEGER ]

``!=`` and ``notin`` also match objects that lack the key, which is what makes ``env!=prod`` select unlabelled
objects.
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


def selector_from_object(label_selector_obj: dict[str, Any] | None) -> Selector:
    """A ``metav1.LabelSelector`` (matchLabels + matchExpressions); ``None`` selects nothing, ``{}`` everything."""
    if label_selector_obj is None:
        return Selector(nothing=True)
    where = "selector"
    reqs = [_make(k, "In", [v], where) for k, v in (label_selector_obj.get("matchLabels") or {}).items()]
    for expr in label_selector_obj.get("matchExpressions") or []:
        op = _OBJECT_OPS.get(expr.get("operator", ""))
        if op is None:
            raise SelectorError(f"{expr.get('operator')!r} is not a valid label selector operator")
        values = list(expr.get("values") or [])
        if op in ("Exists", "DoesNotExist") and values:
            raise SelectorError(f"values must be empty for operator {op}")
        reqs.append(_make(expr.get("key", ""), op, values, where))
    return Selector(tuple(reqs))



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
