"""Field errors in Kubernetes' words, and the 422 ``Invalid`` that carries them.

Kubernetes formats each cause as ``<path>: <type>: <detail>`` (``spec.replicas: Invalid value: -1: must be greater
than or equal to 0``) and kubectl prints those strings verbatim, so the wording here follows
k8s.io/apimachinery/pkg/util/validation/field exactly: users can search the message and find Kubernetes' docs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FieldError",
    "Invalid",
    "required",
    "invalid",
    "unsupported",
    "duplicate",
    "forbidden",
    "too_long",
    "type_invalid",
    "format_value",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad field: ``path`` as Kubernetes writes it, ``reason`` (a StatusCause reason), ``message``."""

    path: str
    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def cause(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.path}


def _go_map(value: dict[str, Any]) -> str:
    if all(isinstance(v, str) for v in value.values()):
        body = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + body + "}"
    return json.dumps(value, sort_keys=True)


def format_value(value: Any) -> str:
    """Render a bad value as Go's ``%#v`` would, which is what Kubernetes messages show."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return _go_map(value)
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[]" + json.dumps(value)
    return str(value)


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(path, "FieldValueRequired", "Required value" + (f": {detail}" if detail else ""))


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(path, "FieldValueInvalid", f"Invalid value: {format_value(value)}: {detail}")


def unsupported(path: str, value: Any, supported: list[str]) -> FieldError:
    values = ", ".join(json.dumps(s) for s in supported)
    return FieldError(
        path, "FieldValueNotSupported", f"Unsupported value: {format_value(value)}: supported values: {values}"
    )


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(path, "FieldValueDuplicate", f"Duplicate value: {format_value(value)}")


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(path, "FieldValueForbidden", f"Forbidden: {detail}")


def too_long(path: str, limit: int) -> FieldError:
    return FieldError(path, "FieldValueTooLong", f"Too long: may not be more than {limit} bytes")


def type_invalid(path: str, value: Any, expected: str) -> FieldError:
    """The OpenAPI-style type error the API server gives for a field of the wrong JSON type."""
    got = _json_type(value)
    detail = f"{path} in body must be of type {expected}: {json.dumps(got)}"
    return FieldError(path, "FieldValueTypeInvalid", f"Invalid value: {json.dumps(got)}: {detail}")


def _json_type(value: Any) -> str:
    for types, name in ((bool, "boolean"), ((int, float), "number"), (str, "string"), (list, "array"), (dict, "object")):
        if isinstance(value, types):
            return name
    return "null"


@dataclass
class Invalid(Exception):
    """An object that failed validation: the API server answers 422 with :meth:`status`."""

    kind: str
    name: str
    causes: list[FieldError] = field(default_factory=list)
    group: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def message(self) -> str:
        detail = ", ".join(str(c) for c in self.causes)
        if len(self.causes) > 1:
            detail = f"[{detail}]"
        return f"{self.qualified_kind} {json.dumps(self.name)} is invalid: {detail}"

    def __str__(self) -> str:
        return self.message

    def status(self) -> dict[str, Any]:
        """The ``Status`` body Kubernetes returns for a 422 Unprocessable Entity."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": "Invalid",
            "details": {
                "name": self.name,
                "group": self.group,
                "kind": self.kind,
                "causes": [c.cause() for c in self.causes],
            },
            "code": 422,
        }
