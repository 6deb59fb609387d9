"""Docker's query and body conventions, each with an error that names the parameter."""

from __future__ import annotations

import json

from aiohttp import web

from portside.dockerapi.errors import JSON, bad_parameter

TRUE, FALSE = frozenset({"1", "true", "True", "TRUE", "yes"}), frozenset({"", "0", "false", "False", "FALSE", "no"})


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    """docker's boolean query values: 1/true/True and 0/false/False (an empty value is false)."""
    value = request.query.get(name)
    if value is None:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise bad_parameter(f"invalid value for {name}: {value!r} is not a boolean (expected 1, true, 0 or false)")


def qint(request: web.Request, name: str, default: int | None = None) -> int | None:
    value = request.query.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise bad_parameter(f"invalid value for {name}: {value!r} is not an integer") from None


def qstr(request: web.Request, name: str, default: str = "") -> str:
    return request.query.get(name, default)


def filters(request: web.Request, allowed: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """The ``filters`` parameter: JSON ``{"name": ["a", "b"]}``, or the old ``{"name": {"a": true}}`` form, as
    a dict of lists; a filter the endpoint does not know is refused, as docker does."""
    raw = request.query.get("filters", "")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise bad_parameter(f"invalid filters: {raw!r} is not JSON ({exc.msg})") from None
    if not isinstance(parsed, dict):
        raise bad_parameter(f"invalid filters: expected a JSON object, got {raw!r}")
    out: dict[str, list[str]] = {}
    for key, values in parsed.items():
        if allowed and key not in allowed:
            raise bad_parameter(f"invalid filter '{key}'")
        if isinstance(values, dict):
            values = [v for v, on in values.items() if on]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise bad_parameter(f"invalid filter '{key}': expected a list of strings")
        out[key] = values
    return out


async def json_body(request: web.Request, required: bool = False) -> dict:
    """The request's JSON object ({} for an empty body unless ``required``), or a 400 that says what is wrong."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise bad_parameter("the request body is empty: expected a JSON object")
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_parameter(f"the request body is not valid JSON: {exc}") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_parameter(f"the request body must be a JSON object, got {type(body).__name__}")
    return body


def field(body: dict, key: str, kind: type, default):
    """``body[key]`` if it is a ``kind``, ``default`` when absent or null; else a 400 naming the field."""
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise bad_parameter(f"invalid {key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def string_map(body: dict, key: str, default=None) -> dict[str, str] | None:
    """``body[key]`` as an object of strings (labels, driver options); ``default`` when absent."""
    value = field(body, key, dict, default)
    if value and not all(isinstance(v, str) for v in value.values()):
        raise bad_parameter(f"invalid {key}: expected an object of strings")
    return value


def reply(data, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(data).encode(), headers=JSON)
