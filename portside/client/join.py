"""Joining a cluster: the join token, and the agent's side of trading it for a node credential.

The token has k3s' shape, ``K10<hash>::<id>.<secret>``: one string that an operator copies carries both what the
agent must trust and what it must prove. ``<hash>`` is the SHA-256 of the cluster CA certificate (DER, so PEM
line wrapping cannot change it; k3s hashes its PEM bundle, kubeadm the CA's public key in a second flag), and
``<id>.<secret>`` is a bootstrap token in kubeadm's alphabet (6 + 16 characters of ``[a-z0-9]``).

Theory of operation (as a k3s agent joins):
1. ``GET /cacerts`` without verifying TLS (the agent has no CA yet): the CA as PEM. Nothing secret is sent; the
   request names the pin it expects, so that the server can log a join it will see refused.
2. The CA's hash must equal the token's, else the agent stops: that server is not the cluster the token is for.
3. From then on TLS is verified against that CA only. ``POST /v1-portside/node-credential`` with the bootstrap
   token as bearer and the node's name returns the node's own bearer token (user ``system:node:NAME``, group
   ``system:nodes``); the bootstrap token can do nothing else.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import ssl
import string
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import serialization

PREFIX = "K10"
CA_PATH = "/cacerts"
CREDENTIAL_PATH = "/v1-portside/node-credential"
PIN_PARAM = "pin"  # the hash the agent expects, sent with /cacerts so that the server can log a mismatch
_TOKEN = re.compile(r"K10([0-9a-f]{64})::([a-z0-9]{6})\.([a-z0-9]{16})")
_ALPHABET = string.ascii_lowercase + string.digits
TIMEOUT_S = 15


class JoinError(Exception):
    """A join that cannot go on; the message says why, for the operator."""


@dataclass(frozen=True)
class JoinToken:
    ca_hash: str
    token_id: str
    secret: str

    def __str__(self) -> str:
        return f"{PREFIX}{self.ca_hash}::{self.token_id}.{self.secret}"

    @property
    def bootstrap(self) -> str:
        """What the agent presents as bearer token to obtain its node credential."""
        return f"{self.token_id}.{self.secret}"


def new_token(ca_pem: bytes) -> JoinToken:
    pick = lambda n: "".join(secrets.choice(_ALPHABET) for _ in range(n))  # noqa: E731
    return JoinToken(ca_hash(ca_pem), pick(6), pick(16))


def parse_token(text: str) -> JoinToken:
    m = _TOKEN.fullmatch(text.strip())
    if m is None:
        raise JoinError(f"invalid join token {_shown(text)!r}: expected K10<64 hex digits of the CA's SHA-256>::"
                        f"<6 characters [a-z0-9]>.<16 characters [a-z0-9]>, as 'portside up' prints it")
    return JoinToken(*m.groups())


def _shown(text: str) -> str:
    """The token's start only: a mistyped token may still hold most of the real secret."""
    text = text.strip()
    return text if len(text) <= 24 else text[:20] + "..."


def ca_hash(ca_pem: bytes) -> str:
    """SHA-256 (hex) of the first certificate's DER encoding."""
    cert = x509.load_pem_x509_certificate(ca_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


async def fetch_ca(server: str, token: JoinToken, node: str) -> bytes:
    """The server's CA, once its hash matches the token's; JoinError otherwise."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
        try:
            async with session.get(server + CA_PATH, ssl=False,
                                   params={PIN_PARAM: token.ca_hash, "node": node}) as response:
                body = await response.read()
                if response.status != 200:
                    raise JoinError(f"{server}{CA_PATH} answered {response.status}: is this a portside server?")
        except aiohttp.ClientError as exc:
            raise JoinError(f"cannot reach {server}: {exc}") from None
    try:
        found = ca_hash(body)
    except ValueError:
        raise JoinError(f"{server}{CA_PATH} did not answer a PEM certificate: is this a portside server?") from None
    if found != token.ca_hash:
        raise JoinError(f"refusing to join {server}: its CA certificate has SHA-256 {found}, but the join token "
                        f"pins {token.ca_hash} (a token of another cluster, a mistyped token, or a server "
                        f"impersonating this one)")
    return body


async def node_credential(server: str, ca_pem: bytes, token: JoinToken, node: str) -> str:
    """Trade the bootstrap token for the node's own bearer token, over TLS verified against ``ca_pem``."""
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    headers = {"Authorization": f"Bearer {token.bootstrap}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
        try:
            async with session.post(server + CREDENTIAL_PATH, ssl=ctx, headers=headers,
                                    json={"nodeName": node}) as response:
                body: dict[str, Any] = await response.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise JoinError(f"cannot obtain a node credential from {server}: {exc}") from None
        except ValueError:
            raise JoinError(f"{server}{CREDENTIAL_PATH} answered {response.status} without a JSON body") from None
    if response.status != 200:
        raise JoinError(f"the server refused to join node {node!r}: {body.get('message', response.status)}")
    return body["token"]
