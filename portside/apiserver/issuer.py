"""Service account issuer discovery: the OpenID Connect documents that let others verify this cluster's tokens.

Kubernetes serves them (``ServiceAccountIssuerDiscovery``) so that a party outside the cluster (a cloud's
identity federation, Vault, another cluster's workload) can check a pod's ServiceAccount token without asking the
API server each time: ``/.well-known/openid-configuration`` names the issuer and where its keys are, and
``/openid/v1/jwks`` holds the public half of the signing key as a JSON Web Key Set (RFC 7517, RSA members as
RFC 7518 has them). Who may read them is RBAC's ``system:service-account-issuer-discovery`` role, bound as on
Kubernetes to every ServiceAccount.
"""

from __future__ import annotations

import base64

from aiohttp import web

from portside.api import jsonwire
from portside.apiserver.satokens import ISSUER, Signer

CONFIGURATION = "/.well-known/openid-configuration"
JWKS = "/openid/v1/jwks"


def _b64_uint(value: int) -> str:
    """An unsigned integer as JWK writes it: big-endian bytes, no leading zeros, base64url without padding."""
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def configuration(address: str) -> dict:
    return {"issuer": ISSUER, "jwks_uri": f"https://{address}{JWKS}", "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}


def key_set(signer: Signer) -> dict:
    numbers = signer.public.public_numbers()
    return {"keys": [{"use": "sig", "kty": "RSA", "kid": signer.kid, "alg": "RS256", "n": _b64_uint(numbers.n),
                      "e": _b64_uint(numbers.e)}]}


def routes(app: web.Application, signer: Signer, address: str) -> None:
    """``address``: host and port as clients reach this server (the key set's URL is built from it)."""
    config_body = jsonwire.dumps(configuration(address))
    keys_body = jsonwire.dumps(key_set(signer))

    async def serve_configuration(request: web.Request) -> web.Response:
        return web.Response(body=config_body, content_type="application/json")

    async def serve_keys(request: web.Request) -> web.Response:
        return web.Response(body=keys_body, content_type="application/jwk-set+json")

    app.router.add_get(CONFIGURATION, serve_configuration)
    app.router.add_get(JWKS, serve_keys)
