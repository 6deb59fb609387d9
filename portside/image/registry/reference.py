"""Image references: ``[registry/]repository[:tag][@digest]``, normalised the way docker does it.

Docker's rules (distribution's ``reference`` package) decide what a bare name means, so ``busybox`` here is the
same image as ``docker pull busybox``: the first path component is a registry only when it looks like a host
(contains ``.`` or ``:``, or is ``localhost``); otherwise the registry is Docker Hub, and a one-component
repository on Docker Hub lives under ``library/``. A reference with neither tag nor digest means ``:latest``.
"""

from __future__ import annotations

import dataclasses
import re

from portside.image.registry.errors import InvalidReference

DEFAULT_REGISTRY = "docker.io"
# Docker Hub's API lives on another host than its name; every other registry serves the API on its own name.
DOCKER_HUB_API = "registry-1.docker.io"
LEGACY_HUB_NAMES = ("index.docker.io", "registry-1.docker.io")
DEFAULT_TAG = "latest"
MAX_NAME = 255

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_HOST = re.compile(
    r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
    r"(?::[0-9]+)?\Z|\[[0-9a-fA-F:.]+\](?::[0-9]+)?\Z")
_TAG = re.compile(r"[\w][\w.-]{0,127}\Z")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


@dataclasses.dataclass(frozen=True)
class Reference:
    """A fully normalised reference; ``tag`` is set unless the reference is by digest alone."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DEFAULT_REGISTRY else self.registry

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def target(self) -> str:
        """What the manifest endpoint is asked for: the digest when there is one (it pins the content)."""
        return self.digest or self.tag or DEFAULT_TAG

    def familiar(self) -> str:
        """The short form docker shows: no ``docker.io/`` and no ``library/`` for Docker Hub's official images."""
        name = self.name
        if self.registry == DEFAULT_REGISTRY:
            name = self.repository.removeprefix("library/") if self.repository.count("/") == 1 else self.repository
        return name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def with_digest(self, digest: str) -> Reference:
        return dataclasses.replace(self, digest=digest)

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse_reference(text: str) -> Reference:
    """Parse and normalise ``text``; raise ``InvalidReference`` naming the part that is wrong."""
    if not text or text != text.strip():
        raise InvalidReference(f"invalid reference {text!r}: empty or surrounded by spaces")
    remainder, digest = _split_digest(text)
    remainder, tag = _split_tag(text, remainder)
    registry, repository = _split_registry(remainder)
    _check_repository(text, repository)
    if len(registry) + 1 + len(repository) > MAX_NAME:
        raise InvalidReference(f"invalid reference {text!r}: name longer than {MAX_NAME} characters")
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(registry, repository, tag, digest)


def _split_digest(text: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    remainder, digest = text.split("@", 1)
    if not _DIGEST.match(digest):
        raise InvalidReference(f"invalid reference {text!r}: digest must be sha256: and 64 lowercase hex digits")
    return remainder, digest


def _split_tag(text: str, remainder: str) -> tuple[str, str | None]:
    colon = remainder.rfind(":")
    if colon <= remainder.rfind("/"):
        return remainder, None
    tag = remainder[colon + 1:]
    if not _TAG.match(tag):
        raise InvalidReference(f"invalid reference {text!r}: tag {tag!r} must match [A-Za-z0-9_][A-Za-z0-9_.-]"
                               "{0,127}")
    return remainder[:colon], tag


def _split_registry(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    looks_like_host = sep and ("." in first or ":" in first or first == "localhost") and first == first.lower()
    if not looks_like_host:
        registry, repository = DEFAULT_REGISTRY, name
    else:
        if not _HOST.match(first):
            raise InvalidReference(f"invalid reference {name!r}: registry {first!r} is not a host[:port]")
        registry, repository = first, rest
    if registry in LEGACY_HUB_NAMES:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = "library/" + repository
    return registry, repository


def _check_repository(text: str, repository: str) -> None:
    for component in repository.split("/"):
        if not _COMPONENT.match(component):
            raise InvalidReference(
                f"invalid reference {text!r}: repository component {component!r} must be lowercase letters, "
                "digits and single separators (. _ __ -)")


def parse_registry(text: str) -> str:
    """A registry as ``login``/``logout`` take it: ``host[:port]``, a URL's scheme and path dropped."""
    host = text.strip().removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    if not host or not _HOST.match(host):
        raise InvalidReference(f"invalid registry {text!r}: expected host[:port]")
    return DEFAULT_REGISTRY if host in LEGACY_HUB_NAMES else host
