"""Errors in docker's shape: ``{"message": "..."}`` with the status code clients branch on.

docker-py raises ``NotFound`` on 404 and ``APIError`` otherwise, compose retries on some 409s, and the docker CLI
prints the message after "Error response from daemon:". So the status says what kind of failure it was (404 no
such object, 409 a conflict with current state, 400 a bad parameter, 500 the engine failed) and the message says
which field or object, as the engine's own exceptions already do.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from portside.runtime.errors import Conflict, ContainerNotFound, InvalidArgument, NotFound, PortsideError

log = logging.getLogger("portside.dockerapi")

# exactly this, without aiohttp's "; charset=utf-8": the docker CLI compares the header whole before it decodes
# an error's message
JSON = {"Content-Type": "application/json"}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_parameter(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def status_of(exc: PortsideError) -> int:
    """404, 409 or 400 for the engine's errors that are the caller's; 500 for the rest (runc failed, say)."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidArgument):
        return 400
    return 500


def docker_message(exc: PortsideError) -> str:
    """dockerd's words where clients and scripts match on them; the engine's own message otherwise."""
    if isinstance(exc, ContainerNotFound):
        return f"No such container: {exc.ref}"
    return str(exc)


def error_response(status: int, message: str) -> web.Response:
    return web.Response(status=status, body=json.dumps({"message": message}).encode() + b"\n", headers=JSON)


@web.middleware
async def docker_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message)
    except PortsideError as exc:
        return error_response(status_of(exc), docker_message(exc))
    except web.HTTPNotFound:
        return error_response(404, "page not found")
    except web.HTTPMethodNotAllowed:
        return error_response(405, f"method {request.method} not allowed for {request.path}")
    except web.HTTPException:
        raise
    except Exception as exc:  # a bug of ours: the client gets a 500 in docker's shape, the log the traceback
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, f"{type(exc).__name__}: {exc}")
