"""One registry, one repository set: HTTP requests that authenticate themselves.

Every request first carries the ``Authorization`` that worked last; a ``401`` is answered once (basic credentials,
or a bearer token for the union of our scopes and the challenge's) and the request is repeated. A second ``401``
is the user's to fix, so it becomes ``Unauthorized`` naming ``portside login``. Connection failures become
``RegistryUnreachable``; a registry's JSON error body becomes its first error's code and message.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import aiohttp
import yarl

from portside.image.registry.auth import Challenge, fetch_token, merge_scope, parse_challenge
from portside.image.registry.credentials import Credentials
from portside.image.registry.errors import RegistryError, RegistryUnreachable, Unauthorized

Body = bytes | Callable[[], Any] | None
TIMEOUT = aiohttp.ClientTimeout(total=None, connect=15, sock_connect=15, sock_read=120)


class Transport:
    def __init__(self, session: aiohttp.ClientSession, registry: str, api_host: str, *, insecure: bool,
                 credentials: Credentials | None) -> None:
        self.session = session
        self.registry = registry
        self.insecure = insecure
        self.base = yarl.URL(f"{'http' if insecure else 'https'}://{api_host}/v2/")
        self.credentials = credentials
        self.scopes: list[str] = []
        self._authorization: str | None = None
        self._auth_lock = asyncio.Lock()

    def add_scope(self, scope: str) -> None:
        self.scopes = merge_scope(self.scopes, scope)

    def url(self, path: str) -> yarl.URL:
        """``path`` relative to ``/v2/``, or a Location header (relative or absolute) the registry sent."""
        return self.base.join(yarl.URL(path))

    async def request(self, method: str, url: yarl.URL, *, body: Body = None,
                      headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        """Send, authenticating on a ``401``; the caller owns (and must release) the response."""
        sent_with = self._authorization
        resp = await self._send(method, url, body, headers)
        if resp.status != 401:
            return resp
        challenge = resp.headers.get("WWW-Authenticate", "")
        resp.release()
        # Parallel layer requests all meet the first 401 together; one of them fetches the token, the others
        # find it changed once they hold the lock and simply retry with it.
        async with self._auth_lock:
            if self._authorization == sent_with:
                await self._authenticate(parse_challenge(challenge) if challenge else None)
        resp = await self._send(method, url, body, headers)
        if resp.status == 401:
            detail = await error_text(resp)
            raise Unauthorized(self.registry, self.credentials is not None, detail)
        return resp

    async def _send(self, method: str, url: yarl.URL, body: Body, headers: dict[str, str] | None):
        all_headers = dict(headers or {})
        if self._authorization:
            all_headers["Authorization"] = self._authorization
        data = body() if callable(body) else body
        try:
            return await self.session.request(method, url, data=data, headers=all_headers, timeout=TIMEOUT)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RegistryUnreachable(self.registry, self._reason(exc)) from None

    def _reason(self, exc: BaseException) -> str:
        reason = str(exc) or type(exc).__name__
        if not self.insecure and isinstance(getattr(exc, "os_error", exc), ssl.SSLError):
            reason += " (a plain-HTTP registry needs --insecure or an entry in the insecure-registries list)"
        return reason

    async def _authenticate(self, challenge: Challenge | None) -> None:
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            raise Unauthorized(self.registry, self.credentials is not None, "unsupported challenge")
        if challenge.scheme == "basic":
            if self.credentials is None:
                raise Unauthorized(self.registry, False)
            self._authorization = self.credentials.header()
            return
        for scope in challenge.params.get("scope", "").split():
            self.add_scope(scope)
        token = await fetch_token(self.session, self.registry, challenge, self.scopes, self.credentials)
        self._authorization = "Bearer " + token


async def error_text(resp: aiohttp.ClientResponse) -> str:
    """The registry's own words for a failed request: its first ``errors[]`` entry, else the HTTP status."""
    try:
        body = await resp.json(content_type=None)
        first = body["errors"][0]
        return f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")
    except (ValueError, KeyError, IndexError, TypeError, aiohttp.ClientError):
        return f"HTTP {resp.status} {resp.reason or ''}".strip()
    finally:
        resp.release()


async def expect(resp: aiohttp.ClientResponse, what: str, *statuses: int) -> aiohttp.ClientResponse:
    """Return ``resp`` when its status is one of ``statuses``; otherwise raise with the registry's message."""
    if resp.status in statuses:
        return resp
    raise RegistryError(f"{what}: {await error_text(resp)}")
