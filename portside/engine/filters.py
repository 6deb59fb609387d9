"""docker's ``--filter`` semantics, shared by the CLI and the Docker API: a filter is a dict of names to lists of
terms; terms of one name are alternatives (any may match), names must all match; ``label`` terms are the
exception, which must all match (docker's ``MatchKVList``).
"""

from __future__ import annotations

import re

from portside.runtime.errors import InvalidArgument

TRUE, FALSE = ("true", "1"), ("false", "0")


def parse(items: list[str] | tuple[str, ...], allowed: tuple[str, ...], what: str = "--filter") -> dict[str, list[str]]:
    """``KEY=VALUE`` flags as a filter dict; an unknown key is refused with docker's words."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            raise InvalidArgument(f"invalid {what} {item!r}: bad format of filter (expected name=value)")
        check_names({key: []}, allowed)
        out.setdefault(key, []).append(value)
    return out


def check_names(filters: dict[str, list[str]], allowed: tuple[str, ...]) -> None:
    for key in filters:
        if key not in allowed:
            raise InvalidArgument(f"invalid filter '{key}'")


def labels_match(labels: dict[str, str] | None, terms: list[str]) -> bool:
    """Every ``KEY`` or ``KEY=VALUE`` term holds for ``labels``."""
    labels = labels or {}
    for term in terms:
        key, eq, value = term.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


def labels_exclude(labels: dict[str, str] | None, terms: list[str]) -> bool:
    """``label!``: true when none of the terms holds (docker's prune filters)."""
    return not any(labels_match(labels, [term]) for term in terms)


def text_matches(text: str, terms: list[str]) -> bool:
    """docker's ``Match``: any term found in ``text`` as a regular expression (a plain name as a substring)."""
    for term in terms:
        try:
            if re.search(term, text):
                return True
        except re.error:
            if term in text:
                return True
    return False


def boolean(filters: dict[str, list[str]], key: str) -> bool | None:
    """A boolean filter's value (None when absent); a value other than true/false/1/0 is refused."""
    values = filters.get(key)
    if not values:
        return None
    if any(v.lower() not in TRUE + FALSE for v in values):
        raise InvalidArgument(f"invalid filter '{key}={values[0]}': expected true or false")
    return values[-1].lower() in TRUE
