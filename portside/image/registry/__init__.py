"""Registries: image references, logins, and pull/push over the OCI distribution API.

``pull`` and ``push`` are coroutines (layers move in parallel); ``run`` is the thin synchronous door the CLI
uses. Everything raised on purpose is a ``RegistryError`` or an ``InvalidReference``, one line each.
"""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from portside.image.registry.credentials import Credentials, CredentialStore
from portside.image.registry.errors import (
    DigestMismatch,
    InvalidReference,
    ManifestUnknown,
    PlatformNotFound,
    RegistryError,
    RegistryUnreachable,
    Unauthorized,
)
from portside.image.registry.login import login, logout
from portside.image.registry.pull import PullResult, pull, pull_if_missing
from portside.image.registry.push import push
from portside.image.registry.reference import Reference, parse_reference, parse_registry
from portside.image.registry.settings import insecure_registries

T = TypeVar("T")


def run(job: Coroutine[Any, Any, T]) -> T:
    """Run one registry coroutine to completion from synchronous code (the CLI)."""
    return asyncio.run(job)


__all__ = [
    "CredentialStore", "Credentials", "DigestMismatch", "InvalidReference", "ManifestUnknown", "PlatformNotFound",
    "PullResult", "Reference", "RegistryError", "RegistryUnreachable", "Unauthorized", "insecure_registries",
    "login", "logout", "parse_reference", "parse_registry", "pull", "pull_if_missing", "push", "run",
]
