"""The server's ``Status`` failures as exceptions, one class per reason a caller branches on."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A non-2xx answer; ``status`` is the server's Status body (or a stand-in when it sent none)."""

    code = 0

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__(status.get("message") or f"HTTP {status.get('code')}")
        self.status = status
        self.code = status.get("code", self.code)
        self.reason = status.get("reason", "")

    @property
    def causes(self) -> list[dict[str, Any]]:
        return (self.status.get("details") or {}).get("causes") or []


class BadRequest(ApiError):
    code = 400


class Unauthorized(ApiError):
    code = 401


class Forbidden(ApiError):
    code = 403


class NotFound(ApiError):
    code = 404


class Conflict(ApiError):
    """409: a stale resourceVersion (reason Conflict) or, as the subclass, AlreadyExists."""

    code = 409


class AlreadyExists(Conflict):
    pass


class Gone(ApiError):
    """410: the revision asked for is compacted; list again."""

    code = 410


class Invalid(ApiError):
    code = 422


_BY_CODE = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 410: Gone,
            422: Invalid}


def from_status(status: dict[str, Any]) -> ApiError:
    if status.get("reason") == "AlreadyExists":
        return AlreadyExists(status)
    return _BY_CODE.get(status.get("code", 0), ApiError)(status)
