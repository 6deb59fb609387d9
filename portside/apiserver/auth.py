"""Authentication: who a request comes from. What that caller may do is the authorizers' question (``authz``).

A request is authenticated by the first of these that knows its credential, as kube-apiserver's union does:

- a client certificate the TLS handshake verified against the cluster CA: the user is its Common Name, its
  groups its Organizations (``portside kubeconfig --user`` mints them; the control plane's components use them);
- a bearer token: the admin token (group ``system:masters``), the read-only token (the user ``readonly``, bound to
  ``view``), a token of ``--token-auth-file``, a node's credential (``system:node:NAME`` in ``system:nodes``) or a
  ServiceAccount token (a signed JWT, ``serviceaccounts``).

Every authenticated user is also in ``system:authenticated``. A request without credentials is the anonymous
user (``system:anonymous`` in ``system:unauthenticated``), which RBAC lets read the health and version endpoints
only; anything else it asks is answered 401, as before RBAC. A bearer token that no authenticator knows is 401 at
once. The join endpoints check the join token themselves and skip both steps. ``--insecure-http`` (loopback
only, like Kubernetes' old insecure port) treats every request as ``system:masters``: clients, kubectl among
them, send no bearer token over plain HTTP.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from portside.apiserver import errors
from portside.apiserver.bootstrap import NODE_USER_PREFIX, NODES_GROUP, NodeCredentials
from portside.client.join import CA_PATH, CREDENTIAL_PATH

SELF_AUTHENTICATING = frozenset({CA_PATH, CREDENTIAL_PATH})  # they check the join token themselves
MASTERS, AUTHENTICATED, UNAUTHENTICATED = "system:masters", "system:authenticated", "system:unauthenticated"
ANONYMOUS_NAME = "system:anonymous"
CERT_CACHE = 4096


@dataclass(frozen=True)
class User:
    """An authenticated caller. ``read_only`` marks the legacy read-only token's user (RBAC binds it to ``view``)."""

    name: str
    read_only: bool = False
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (key, values) pairs, hashable

    @property
    def node(self) -> str:
        """The node name of a node credential's user (``system:node:NAME``), else ""."""
        return self.name.removeprefix(NODE_USER_PREFIX) if NODES_GROUP in self.groups else ""

    @property
    def anonymous(self) -> bool:
        return UNAUTHENTICATED in self.groups


ANONYMOUS = User(ANONYMOUS_NAME, groups=(UNAUTHENTICATED,))
USER = web.RequestKey("user", object)  # the caller (a User; ANONYMOUS without credentials), set before handlers run
# The same caller, for code below the handlers (admission's escalation check); None: the server's own writes.
CALLER: contextvars.ContextVar[User | None] = contextvars.ContextVar("caller", default=None)


def authenticated(name: str, groups: tuple[str, ...] = (), uid: str = "", read_only: bool = False,
                  extra: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> User:
    """A user with ``system:authenticated`` added to its groups, as every authenticator's answer gets it."""
    groups = tuple(dict.fromkeys((*groups, AUTHENTICATED)))
    return User(name, read_only, groups, uid, extra)


def digest(token: str) -> str:
    """Tokens are looked up by their SHA-256: a hash table lookup on the secret itself could leak by timing."""
    return hashlib.sha256(token.encode()).hexdigest()


def certificate_user(peercert: dict | None) -> User | None:
    """The user of a client certificate the handshake verified (``ssl``'s decoded form): CN and Organizations."""
    if not peercert:
        return None
    fields = [pair for rdn in peercert.get("subject", ()) for pair in rdn]
    names = [v for k, v in fields if k == "commonName"]
    if not names or not names[0]:
        return None
    return authenticated(names[0], tuple(v for k, v in fields if k == "organizationName"))


TokenAuthenticator = Callable[[str], Awaitable["User | None"]]


class Authenticator:
    def __init__(self, admin_token: str, readonly_token: str, open_loopback: bool = False,
                 nodes: NodeCredentials | None = None, static: dict[str, User] | None = None) -> None:
        """``static``: more bearer tokens and their users (``--token-auth-file``)."""
        self._tokens = {digest(token): user for token, user in (static or {}).items()}
        self._tokens[digest(admin_token)] = authenticated("admin", (MASTERS,))
        self._tokens[digest(readonly_token)] = authenticated("readonly", ("system:monitoring",), read_only=True)
        self._open = open_loopback
        self._nodes = nodes
        self._certs: dict[tuple, User | None] = {}  # certificate subject -> its user: decoded once
        self.more: list[TokenAuthenticator] = []  # e.g. ServiceAccount tokens, tried after the fixed ones

    async def _token_user(self, token: str) -> User | None:
        user = self._tokens.get(digest(token))
        if user is not None:
            return user
        node = self._nodes.node(token) if self._nodes is not None else None
        if node:
            return authenticated(NODE_USER_PREFIX + node, (NODES_GROUP,))
        for more in self.more:
            user = await more(token)
            if user is not None:
                return user
        return None

    async def review(self, token: str, audiences: list[str], api_audiences: tuple[str, ...]
                     ) -> tuple[User | None, list[str]]:
        """TokenReview of a token that names no audience of its own (all but ServiceAccount tokens): valid for
        the API server's audiences only, as Kubernetes treats audience-agnostic authenticators."""
        wanted = [a for a in audiences if a in api_audiences] if audiences else list(api_audiences)
        user = await self._token_user(token) if wanted else None
        return (user, wanted) if user is not None else (None, [])

    async def authenticate(self, request: web.Request) -> User:
        """The caller: ANONYMOUS without credentials; a token nobody knows is 401 at once."""
        if self._open:
            return authenticated("insecure-loopback", (MASTERS,))
        transport = request.transport
        peer = transport.get_extra_info("peercert") if transport is not None else None
        if peer:
            cert = self._certs.get(peer["subject"])
            if cert is None:
                if len(self._certs) >= CERT_CACHE:
                    self._certs.clear()
                cert = self._certs[peer["subject"]] = certificate_user(peer)
            if cert is not None:
                return cert
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            user = await self._token_user(token)
            if user is None:
                raise errors.unauthorized()
            return user
        return ANONYMOUS
