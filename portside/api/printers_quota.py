"""The rows of ``kubectl get quota`` (AGE, REQUEST, LIMIT: ``used/hard`` per capped resource) and ``kubectl get
limits`` (CREATED AT), as Kubernetes prints them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .timefmt import age

__all__ = ["quota_cells", "limitrange_cells"]

Obj = dict[str, Any]


def quota_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    """Capped resources sorted by name, ``limits.*`` ones in the LIMIT column and the rest in REQUEST; a resource
    not counted yet shows 0."""
    status = obj.get("status") or {}
    used, hard = status.get("used") or {}, status.get("hard") or {}
    request, limit = [], []
    for name in sorted((obj.get("spec") or {}).get("hard") or {}):
        column = limit if name.split(".")[0] == "limits" and "." in name else request
        column.append(f"{name}: {used.get(name, '0')}/{hard.get(name, '0')}")
    created = (obj.get("metadata") or {}).get("creationTimestamp")
    return [age(created, now), ", ".join(request), ", ".join(limit)]


def limitrange_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [(obj.get("metadata") or {}).get("creationTimestamp", "")]
