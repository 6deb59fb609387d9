"""``meta.k8s.io/v1`` Table responses (``Accept: application/json;as=Table``), so ``kubectl get`` prints the
same columns it prints against Kubernetes. Rows come from :mod:`.printers`; columns with priority 1 appear
only with ``-o wide``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .conversion import from_stored
from .printers import PRINTERS, Column
from .resources import ResourceInfo
from .timefmt import age, human_duration

__all__ = ["table", "human_duration", "age"]

_NAME = Column("Name", "string", "name", "Name must be unique within a namespace.")
_AGE_COLUMN = Column("Age", "string", "", "CreationTimestamp is a timestamp representing the server time when "
                     "this object was created.")


def _column_definition(column: Column) -> dict[str, Any]:
    return {"name": column.name, "type": column.type, "format": column.format,
            "description": column.description, "priority": column.priority}


def _row_object(obj: dict[str, Any], include_object: str) -> dict[str, Any] | None:
    if include_object == "Object":
        return obj
    if include_object == "None":
        return None
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def table(info: ResourceInfo, objs: list[dict[str, Any]], include_object: str = "Metadata",
          now: dt.datetime | None = None, resource_version: str = "") -> dict[str, Any]:
    """A Table of ``objs`` (as stored: the printers read the stored version, whichever ``info`` serves);
    ``include_object`` is the ``includeObject`` query value (None, Metadata, Object)."""
    now = now or dt.datetime.now(dt.UTC)
    printer = PRINTERS.get(info.kind)
    columns = [_NAME, *printer.columns] if printer else [_NAME, _AGE_COLUMN]
    rows = []
    for obj in objs:
        name = printer.name(obj) if printer and printer.name else (obj.get("metadata") or {}).get("name", "")
        cells = printer.cells(obj, now) if printer else [age((obj.get("metadata") or {}).get("creationTimestamp"), now)]
        row: dict[str, Any] = {"cells": [name, *cells]}
        embedded = _row_object(from_stored(info, obj) if include_object == "Object" else obj, include_object)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    metadata = {"resourceVersion": resource_version} if resource_version else {}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": [_column_definition(c) for c in columns], "rows": rows}
