"""The server's side of joining: the join token in ``DATA_DIR/node-token``, the CA for agents that pin it, and
node credentials traded for the bootstrap token (see ``portside.client.join`` for the agent's side).

A node credential is a bearer token for the user ``system:node:NAME`` in group ``system:nodes``, which the Node
authorizer (``nodeauth``) confines to what that node needs. Tokens rather than client certificates: the server
already authenticates bearer tokens, and a token is revoked by deleting one key, with no CSR flow or CRL. Only
their SHA-256 is kept, in the store (``clusterdata.NodeCredentials``), so that every server of the cluster
authenticates every node, and a copy of the store logs no one in.

A node name already holding a credential is not given another while its Node exists: a second host joining
under a taken name is refused (k3s refuses it with its node password), and ``kubectl delete node NAME`` frees
the name. Every refusal is logged with the caller's address.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from pathlib import Path

from aiohttp import web

from portside import api
from portside.apiserver import errors
from portside.apiserver.clusterdata import NodeCredentials
from portside.apiserver.objects import key
from portside.apiserver.registry import Registry
from portside.client.join import (
    CA_PATH,
    CREDENTIAL_PATH,
    PIN_PARAM,
    JoinError,
    JoinToken,
    ca_hash,
    new_token,
    parse_token,
)

log = logging.getLogger("portside.apiserver")
TOKEN_FILE = "node-token"
NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
NODES = api.lookup("", "v1", "nodes")


def ensure_token(data_dir: str, ca_cert: str) -> JoinToken:
    """``DATA_DIR/node-token``: reused while it pins this CA, made (0600) when missing or stale."""
    path = Path(data_dir) / TOKEN_FILE
    ca_pem = Path(ca_cert).read_bytes()
    try:
        token = parse_token(path.read_text())
        if token.ca_hash == ca_hash(ca_pem):
            return token
    except (FileNotFoundError, JoinError):
        pass
    token = new_token(ca_pem)
    tmp = path.with_name(TOKEN_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{token}\n")
    os.replace(tmp, path)
    return token


class Bootstrap:
    """The two join endpoints. Both are outside bearer authentication: ``/cacerts`` is public (the CA is), and
    the credential endpoint checks the bootstrap token itself, to say precisely what was wrong."""

    def __init__(self, registry: Registry, token: JoinToken, ca_cert: str, credentials: NodeCredentials) -> None:
        self.registry, self.token, self.credentials = registry, token, credentials
        self.ca_pem = Path(ca_cert).read_bytes()

    def routes(self, app: web.Application) -> None:
        app.router.add_get(CA_PATH, self.cacerts)
        app.router.add_post(CREDENTIAL_PATH, self.credential)

    async def cacerts(self, request: web.Request) -> web.Response:
        pin = request.query.get(PIN_PARAM, "")
        if pin and pin != self.token.ca_hash:
            log.warning("join refused: an agent at %s (node %r) pins CA sha256 %s, this cluster's CA is %s; it will "
                        "not trust this server (wrong or tampered join token)", request.remote,
                        request.query.get("node", ""), pin, self.token.ca_hash)
        return web.Response(body=self.ca_pem, content_type="application/x-pem-file")

    async def credential(self, request: web.Request) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            raise errors.bad_request("the request body is not valid JSON") from None
        node = str(body.get("nodeName", "")) if isinstance(body, dict) else ""
        presented = request.headers.get("Authorization", "").partition(" ")[2].strip()
        if not hmac.compare_digest(presented.encode(), self.token.bootstrap.encode()):
            why = _mismatch(presented, self.token)
            log.warning("join refused: node %r from %s: %s", node, request.remote, why)
            raise errors.ApiError(401, "Unauthorized", f"join token refused: {why}")
        if not _valid_name(node):
            raise errors.bad_request(f"nodeName: Invalid value: {node!r}: a node name must be a lowercase RFC 1123 "
                                     f"subdomain")
        if self.credentials.has(node) and await self._node_exists(node):
            log.warning("join refused: node %r from %s: that name is taken by a registered node", node,
                        request.remote)
            raise errors.ApiError(409, "AlreadyExists", f'node "{node}" is already registered with its own '
                                  f'credential; pick another --node-name, or delete the Node first')
        token = await self.credentials.issue(node)
        log.info("node %r joined from %s: issued its credential (user %s%s)", node, request.remote,
                 NODE_USER_PREFIX, node)
        return web.json_response({"token": token, "user": NODE_USER_PREFIX + node})

    async def _node_exists(self, node: str) -> bool:
        return await self.registry.store.get(key(NODES, "", node)) is not None


def _mismatch(presented: str, token: JoinToken) -> str:
    token_id, _, _ = presented.partition(".")
    if not presented:
        return "no bootstrap token was presented"
    if token_id != token.token_id:
        return f"unknown token id {token_id[:6]!r} (this cluster's is {token.token_id!r})"
    return f"the secret of token {token_id!r} does not match"


_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _valid_name(name: str) -> bool:
    return len(name) <= 253 and _SUBDOMAIN.fullmatch(name) is not None
