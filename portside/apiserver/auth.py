"""Bearer-token authentication and the one authorization rule: the read-only token may only read.

Only the health and version endpoints answer without a token, as on a Kubernetes API server with anonymous
access limited to them. The exception is ``--insecure-http``: like Kubernetes' old insecure port it is loopback
only and unauthenticated, since clients (kubectl among them) do not send bearer tokens over plain HTTP.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from portside.apiserver import errors

ANONYMOUS_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
QUESTIONS = frozenset({"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"})  # POSTs that change nothing


@dataclass(frozen=True)
class User:
    name: str
    read_only: bool


USER = web.RequestKey("user", object)  # the caller (User, or None on an anonymous path), set before handlers run


class Authenticator:
    def __init__(self, admin_token: str, readonly_token: str, open_loopback: bool = False) -> None:
        self._tokens = ((admin_token, User("admin", False)), (readonly_token, User("readonly", True)))
        self._open = open_loopback

    def user(self, request: web.Request) -> User | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        for known, user in self._tokens:
            if hmac.compare_digest(known.encode(), token.strip().encode()):
                return user
        return None

    def check(self, request: web.Request) -> User | None:
        """The caller, or None for an anonymous endpoint; raises 401/403 as Kubernetes does."""
        if request.path in ANONYMOUS_PATHS:
            return None
        user = self.user(request)
        if user is None and self._open:
            return User("insecure-loopback", False)
        if user is None:
            raise errors.unauthorized()
        if user.read_only and request.method not in READ_METHODS and request.path not in QUESTIONS:
            raise errors.forbidden(f'User "{user.name}" cannot {request.method.lower()} {request.path}: the '
                                   f'read-only token may only get, list and watch')
        return user
