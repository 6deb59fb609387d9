"""Table cells of the RBAC kinds and ServiceAccount, as Kubernetes prints them: roles by creation time, bindings
by the role they grant (and, with ``-o wide``, their users, groups and ServiceAccounts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .timefmt import age

__all__ = ["role_cells", "binding_cells", "service_account_cells"]

Obj = dict[str, Any]


def role_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [(obj.get("metadata") or {}).get("creationTimestamp", "")]


def _subjects(obj: Obj, kind: str) -> str:
    subjects = [s for s in obj.get("subjects") or [] if s.get("kind") == kind]
    if kind == "ServiceAccount":
        return ", ".join(f"{s.get('namespace', '')}/{s.get('name', '')}" for s in subjects)
    return ", ".join(s.get("name", "") for s in subjects)


def binding_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    ref = obj.get("roleRef") or {}
    return [f"{ref.get('kind', '')}/{ref.get('name', '')}", age((obj.get("metadata") or {}).get("creationTimestamp"),
                                                               now),
            _subjects(obj, "User"), _subjects(obj, "Group"), _subjects(obj, "ServiceAccount")]


def service_account_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [len(obj.get("secrets") or []), age((obj.get("metadata") or {}).get("creationTimestamp"), now)]
