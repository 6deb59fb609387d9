"""Answering a registry's ``401``: basic auth, or a bearer token from the realm the challenge names.

The distribution token spec: a ``401`` carries ``WWW-Authenticate: Bearer realm="...",service="...",scope="..."``;
the client asks the realm for a token (``GET realm?service=..&scope=..``, with basic credentials when it has
some), and repeats the request with ``Authorization: Bearer TOKEN``. Tokens are cached per scope set, so a pull
of many layers asks once. Parsing is pure; only ``fetch_token`` does I/O.
"""

from __future__ import annotations

import dataclasses
import re

import aiohttp

from portside.image.registry.credentials import Credentials
from portside.image.registry.errors import RegistryError, Unauthorized

_PARAM = re.compile(r'\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


@dataclasses.dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "basic" or "bearer"
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge:
    """Parse one ``WWW-Authenticate`` value; registries send a single challenge."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if not match or match.end() == pos:
            break
        quoted, bare = match.group(2), match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        pos = match.end()
    return Challenge(scheme.lower(), params)


def repository_scope(repository: str, actions: str) -> str:
    return f"repository:{repository}:{actions}"


def merge_scope(scopes: list[str], scope: str) -> list[str]:
    """Add ``scope`` to ``scopes``, joining actions on the same resource (``pull`` + ``pull,push``), so a token
    request names each repository once, as docker's does."""
    resource, _, actions = scope.rpartition(":")
    for i, known in enumerate(scopes):
        known_resource, _, known_actions = known.rpartition(":")
        if known_resource == resource:
            merged = list(dict.fromkeys(known_actions.split(",") + actions.split(",")))
            return scopes[:i] + [f"{resource}:{','.join(merged)}"] + scopes[i + 1:]
    return scopes + [scope]


async def fetch_token(session: aiohttp.ClientSession, registry: str, challenge: Challenge,
                      scopes: list[str], credentials: Credentials | None) -> str:
    """Ask the challenge's realm for a token covering ``scopes``."""
    realm = challenge.params.get("realm")
    if not realm:
        raise RegistryError(f"{registry}: bearer challenge without a realm")
    query = [("service", challenge.params["service"])] if "service" in challenge.params else []
    query += [("scope", scope) for scope in scopes]
    headers = {"Authorization": credentials.header()} if credentials else {}
    try:
        async with session.get(realm, params=query, headers=headers) as resp:
            if resp.status in (401, 403):
                raise Unauthorized(registry, credentials is not None, f"token server {resp.status}")
            if resp.status != 200:
                raise RegistryError(f"{registry}: token server {realm} answered HTTP {resp.status}")
            body = await resp.json(content_type=None)
    except aiohttp.ClientError as exc:
        raise RegistryError(f"{registry}: token server {realm} is unreachable: {exc}") from None
    token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
    if not token:
        raise RegistryError(f"{registry}: token server {realm} sent no token")
    return token
