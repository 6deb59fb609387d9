"""Bearer-token authentication and the coarse authorization rules: the read-only token may only read; a node's
credential is confined by the Node authorizer (``nodeauth``), applied per request once the target is known.

Only the health and version endpoints (and the join endpoints, which check the join token themselves) answer
without a token, as on a Kubernetes API server with anonymous
access limited to them. The exception is ``--insecure-http``: like Kubernetes' old insecure port it is loopback
only and unauthenticated, since clients (kubectl among them) do not send bearer tokens over plain HTTP.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from portside.apiserver import errors
from portside.apiserver.bootstrap import NODE_USER_PREFIX, NODES_GROUP, NodeCredentials
from portside.client.join import CA_PATH, CREDENTIAL_PATH

ANONYMOUS_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", CA_PATH, CREDENTIAL_PATH})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
QUESTIONS = frozenset({"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"})  # POSTs that change nothing


@dataclass(frozen=True)
class User:
    name: str
    read_only: bool
    groups: tuple[str, ...] = ()

    @property
    def node(self) -> str:
        """The node name of a node credential's user (``system:node:NAME``), else ""."""
        return self.name.removeprefix(NODE_USER_PREFIX) if NODES_GROUP in self.groups else ""


USER = web.RequestKey("user", object)  # the caller (User, or None on an anonymous path), set before handlers run


class Authenticator:
    def __init__(self, admin_token: str, readonly_token: str, open_loopback: bool = False,
                 nodes: NodeCredentials | None = None) -> None:
        self._tokens = ((admin_token, User("admin", False)), (readonly_token, User("readonly", True)))
        self._open = open_loopback
        self._nodes = nodes

    def user(self, request: web.Request) -> User | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        for known, user in self._tokens:
            if hmac.compare_digest(known.encode(), token.strip().encode()):
                return user
        node = self._nodes.node(token.strip()) if self._nodes is not None else None
        return User(NODE_USER_PREFIX + node, False, (NODES_GROUP,)) if node else None

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
