"""Image references as the CLI accepts them: ``NAME[:TAG]``, ``sha256:HEX`` and id prefixes.

Names are stored with an explicit tag and, for Docker Hub, in docker's short form: ``busybox``,
``busybox:latest`` and ``docker.io/library/busybox:latest`` are one name.  Expanding a short name to a registry
address is the registry client's business, not the local store's.
"""

from __future__ import annotations

import re

DEFAULT_TAG = "latest"
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::[0-9]+)?$")
HEX = frozenset("0123456789abcdef")


def split_tag(ref: str) -> tuple[str, str]:
    """Split ``name[:tag]`` at the tag's colon, not a registry port's (``host:5000/app`` has no tag)."""
    name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, DEFAULT_TAG
    return name, tag


def normalize(ref: str) -> str:
    """Return ``name:tag`` for a user's reference, raising ``InvalidReference`` naming what is wrong."""
    from portside.image.errors import InvalidReference

    name, tag = split_tag(ref.strip())
    if "@" in name:
        name = name.split("@", 1)[0]
    if not name:
        raise InvalidReference(f"invalid reference {ref!r}: empty name")
    if not _TAG.match(tag):
        raise InvalidReference(f"invalid reference {ref!r}: tag {tag!r} must match [A-Za-z0-9_][A-Za-z0-9_.-]*")
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if not _HOST.match(parts[0]):
            raise InvalidReference(f"invalid reference {ref!r}: bad registry host {parts[0]!r}")
        parts = parts[1:]
    for part in parts:
        if not _COMPONENT.match(part):
            raise InvalidReference(
                f"invalid reference {ref!r}: name component {part!r} must be lowercase letters, digits and "
                "separators (. _ __ -)")
    return f"{familiar(name)}:{tag}"


def familiar(name: str) -> str:
    """Docker Hub names in the short form docker shows and stores: ``docker.io/library/x`` is ``x``."""
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            return rest.removeprefix("library/") if rest.count("/") == 1 else rest
    return name


def is_hex(text: str) -> bool:
    return bool(text) and all(c in HEX for c in text)


def short_id(image_id: str) -> str:
    """The 12-digit id docker prints in tables."""
    return image_id.removeprefix("sha256:")[:12]
