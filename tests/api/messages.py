"""The API's validation messages as kubectl prints them: ``path: message`` for each cause of an Invalid error."""

from __future__ import annotations

import copy
from typing import Any

from portside import api

KINDS = {r.kind: r for r in api.RESOURCES if r.is_stored}  # a kind served in two versions: the stored one

def messages(obj: dict[str, Any]) -> list[str]:
    """Every cause of the Invalid error creating ``obj`` raises, as ``path: message`` strings ([] when valid)."""
    try:
        api.prepare_create(KINDS[obj["kind"]], copy.deepcopy(obj))
    except api.Invalid as exc:
        return [str(c) for c in exc.causes]
    return []


def update_messages(new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    info = KINDS[new["kind"]]
    stored = api.prepare_create(info, copy.deepcopy(old))
    try:
        api.prepare_update(info, copy.deepcopy(new), stored)
    except api.Invalid as exc:
        return [str(c) for c in exc.causes]
    return []
