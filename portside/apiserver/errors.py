"""Failures as ``metav1.Status`` bodies, worded as Kubernetes words them so kubectl prints the familiar lines.

kubectl shows ``Error from server (<reason>): <message>``; the reason and code decide its exit status and retry
behaviour, and ``details.causes`` carries field paths for 422s.

The bytes are Kubernetes' too: Go's encoder writes compact JSON in the struct's field order, leaves out empty
``omitempty`` fields (a core resource's ``group``, a cause's ``field``) and ends the body with a newline. Clients
compare error bodies as text, so the order below is Status's (``metav1/types.go``), not alphabetical.
"""

from __future__ import annotations

import json
from typing import Any

from portside import api


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict[str, Any]:
        """The Status object, keys in Kubernetes' order and empty optional fields left out."""
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message}
        if self.reason:  # omitempty: a Status a handler returns may carry only a code (eviction's 500)
            body["reason"] = self.reason
        details = _ordered_details(self.details or {})
        if details:
            body["details"] = details
        body["code"] = self.code
        return body

    def compact(self) -> bytes:
        """The Status as one line of compact JSON, as it appears inside a watch event."""
        return json.dumps(self.status(), separators=(",", ":")).encode()

    def body(self) -> bytes:
        """The response body: compact JSON and a trailing newline, byte for byte what Kubernetes sends."""
        return self.compact() + b"\n"


_DETAIL_ORDER = ("name", "group", "kind", "uid", "causes", "retryAfterSeconds")
_CAUSE_ORDER = ("reason", "message", "field")


def _present(obj: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """``obj``'s non-empty fields in ``order``: Go's ``omitempty`` drops "", 0 and empty lists."""
    return {k: obj[k] for k in order if obj.get(k) not in (None, "", 0, [])}


def _ordered_details(details: dict[str, Any]) -> dict[str, Any]:
    out = _present(details, _DETAIL_ORDER)
    if "causes" in out:
        out["causes"] = [_present(c, _CAUSE_ORDER) for c in out["causes"]]
    return out


def _qualified(info: api.ResourceInfo) -> str:
    return f"{info.plural}.{info.group}" if info.group else info.plural


def _details(info: api.ResourceInfo, name: str) -> dict[str, Any]:
    return {"name": name, "group": info.group, "kind": info.plural}


def not_found(info: api.ResourceInfo, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(info)} "{name}" not found', _details(info, name))


def already_exists(info: api.ResourceInfo, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{_qualified(info)} "{name}" already exists', _details(info, name))


def conflict(info: api.ResourceInfo, name: str, why: str) -> ApiError:
    message = f'Operation cannot be fulfilled on {_qualified(info)} "{name}": {why}'
    return ApiError(409, "Conflict", message, _details(info, name))


def stale(info: api.ResourceInfo, name: str) -> ApiError:
    return conflict(info, name, "the object has been modified; please apply your changes to the latest version "
                                "and try again")


def invalid(error: api.Invalid) -> ApiError:
    status = error.status()
    return ApiError(422, "Invalid", status["message"], status["details"])


def field_invalid(info: api.ResourceInfo, name: str, path: str, value: Any, detail: str) -> ApiError:
    cause = api.FieldError(path, "FieldValueInvalid", f"Invalid value: {json.dumps(value)}: {detail}")
    return invalid(api.Invalid(info.kind, name, [cause], group=info.group))


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(verb: str, info: api.ResourceInfo) -> ApiError:
    return ApiError(405, "MethodNotAllowed", f'the server does not allow this method on the requested resource '
                                             f'(verb {verb} on {_qualified(info)})')


def route_not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", f"the server could not find the requested resource (path {path})")


def unsupported_media(content_type: str, accepted: list[str]) -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types include: "
                    f"{', '.join(accepted)} (got {content_type or 'none'})")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "Forbidden", message)


def forbidden_object(info: api.ResourceInfo, name: str, reason: str) -> ApiError:
    """An admission plugin's refusal of one object: ``pods "x" is forbidden: <reason>`` (Kubernetes' NewForbidden)."""
    message = f'{_qualified(info)} "{name}" is forbidden: {reason}' if name else f"{_qualified(info)} is forbidden: {reason}"
    return ApiError(403, "Forbidden", message, _details(info, name))


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def timeout(message: str) -> ApiError:
    return ApiError(504, "Timeout", message)
