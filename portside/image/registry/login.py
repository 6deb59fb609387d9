"""``login``/``logout``: check credentials against the registry's ``/v2/`` before saving them.

A registry that needs no login answers ``/v2/`` with 200 straight away; one that does challenges, and the
transport answers the challenge with the new credentials (basic, or a token requested with them). Only a final
200 saves anything, so a mistyped password never overwrites a working login.
"""

from __future__ import annotations

import os

from portside.image.registry.credentials import Credentials, CredentialStore
from portside.image.registry.endpoint import connect
from portside.image.registry.reference import DEFAULT_REGISTRY, DOCKER_HUB_API, parse_registry
from portside.image.registry.transport import expect


async def login(root: str | os.PathLike[str], registry_text: str, credentials: Credentials, *,
                insecure: bool = False) -> str:
    """Verify and save ``credentials`` for the registry; return its normalised name."""
    registry = parse_registry(registry_text)
    api_host = DOCKER_HUB_API if registry == DEFAULT_REGISTRY else registry
    async with connect(root, registry, api_host, insecure=insecure, credentials=credentials) as transport:
        resp = await transport.request("GET", transport.base)
        (await expect(resp, f"logging in to {registry}", 200)).release()
    CredentialStore(root).save(registry, credentials)
    return registry


def logout(root: str | os.PathLike[str], registry_text: str) -> tuple[str, bool]:
    """Forget the saved login; (registry, whether there was one)."""
    registry = parse_registry(registry_text)
    return registry, CredentialStore(root).remove(registry)
