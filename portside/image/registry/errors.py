"""Registry failures, each one line that says what went wrong and what to do.

They derive from the image store's ``ImageError`` (so from ``PortsideError``): the CLI prints every failure the
same way, and the subclasses let callers (and tests) tell an unreachable registry from a refused login from a
missing manifest.
"""

from __future__ import annotations

from portside.image.errors import ImageError, InvalidReference
from portside.runtime.errors import NotFound

__all__ = ["DigestMismatch", "InvalidReference", "ManifestUnknown", "PlatformNotFound", "RegistryError",
           "RegistryUnreachable", "Unauthorized"]


class RegistryError(ImageError):
    """The registry answered with something we cannot use, or a transfer failed."""


class RegistryUnreachable(RegistryError):
    def __init__(self, registry: str, reason: str) -> None:
        super().__init__(f"registry {registry} is unreachable: {reason}")
        self.registry = registry


class Unauthorized(RegistryError):
    """The registry refused our credentials, or asked for some and we had none."""

    def __init__(self, registry: str, had_credentials: bool, detail: str = "") -> None:
        what = "credentials were refused" if had_credentials else "authentication required"
        tail = f" ({detail})" if detail else ""
        super().__init__(f"{registry}: {what}{tail}; run 'portside login {registry}'")
        self.registry = registry


class ManifestUnknown(RegistryError, NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"manifest unknown: {ref}")
        self.ref = ref


class DigestMismatch(RegistryError):
    """Content whose sha256 is not the digest it was fetched by; it is discarded, never stored."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(f"digest mismatch for {what}: expected {expected}, got {actual}; nothing was stored")
        self.expected = expected
        self.actual = actual


class PlatformNotFound(RegistryError, NotFound):
    def __init__(self, ref: str, wanted: str, available: list[str]) -> None:
        offered = ", ".join(available) or "none"
        super().__init__(f"{ref}: no manifest for platform {wanted} (available: {offered})")
