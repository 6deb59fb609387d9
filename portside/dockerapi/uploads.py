"""Request bodies that are files (a build context, a rootfs or a ``docker save`` tarball), and registry logins
as docker's clients send them.

A body is written to a file in the image store's scratch space as it arrives, a megabyte at a time: a build
context or an image archive can be gigabytes, and none of it is ever held in memory whole.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import shutil
import tarfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.dockerapi.errors import bad_parameter
from portside.image.registry import Credentials

CHUNK = 1 << 20


@asynccontextmanager
async def scratch(request: web.Request, purpose: str) -> AsyncIterator[Path]:
    """A fresh directory in the image store's scratch space, removed afterwards whatever happens."""
    store = backend(request).engine.images
    work = await backend(request).call(store.temp_dir, purpose)
    try:
        yield work
    finally:
        await backend(request).call(shutil.rmtree, work, True)


async def save_body(request: web.Request, path: Path) -> int:
    """Write the request body to ``path`` as it arrives; its size in bytes."""
    call = backend(request).call
    size = 0
    out = await call(open, path, "wb")
    try:
        async for chunk in request.content.iter_chunked(CHUNK):
            size += len(chunk)
            await call(out.write, chunk)
    finally:
        await call(out.close)
    return size


def extract_context(tar_path: Path, dest: Path) -> None:
    """Unpack a build context (plain, gzip, bzip2 or xz): every member must stay inside ``dest``, as tarfile's
    ``tar`` filter checks (no absolute paths, no ``..``, no writing through a link); modes are kept as sent,
    since COPY copies them, and so are symlinks' targets, wherever they point."""
    def keep_mode(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
        mode = member.mode & 0o7777
        if member.issym():  # a symlink may point anywhere (a build copies it as a link); nothing is written through
            checked = tarfile.tar_filter(member.replace(linkname=".", deep=False), path)  # one pointing outside
            return checked.replace(linkname=member.linkname, mode=mode, deep=False)
        return tarfile.tar_filter(member, path).replace(mode=mode, deep=False)

    dest.mkdir()
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            tar.extractall(dest, filter=keep_mode)
    except tarfile.FilterError as exc:
        raise bad_parameter(f"the build context is refused: {exc}") from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise bad_parameter(f"the build context is not a readable tar archive (plain, gzip, bzip2 or xz): {exc}") \
            from None


def registry_credentials(request: web.Request) -> Credentials | None:
    """``X-Registry-Auth``: base64url of ``{"username", "password"}`` (or of ``{"auth": base64(user:pass)}``);
    empty, ``{}`` or without a username means the engine's saved login, if any."""
    doc = header_json(request, "X-Registry-Auth")
    return credentials_of(doc) if doc else None


def registry_configs(request: web.Request) -> dict[str, Credentials]:
    """``X-Registry-Config`` (a build's logins): base64url of ``{"REGISTRY": {"username", "password"}, ...}``,
    by registry as ``parse_registry`` names them, for the pulls of FROM images."""
    from portside.image.registry import InvalidReference, parse_registry

    doc = header_json(request, "X-Registry-Config")
    found = {}
    for registry, entry in doc.items():
        credentials = credentials_of(entry) if isinstance(entry, dict) else None
        if credentials is not None:
            try:
                found[parse_registry(registry)] = credentials
            except InvalidReference:
                continue  # an entry for something that is no registry name: docker ignores it too
    return found


def header_json(request: web.Request, name: str) -> dict:
    raw = request.headers.get(name, "").strip()
    if not raw:
        return {}
    try:
        doc = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise bad_parameter(f"invalid {name} header: expected base64url-encoded JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise bad_parameter(f"invalid {name} header: expected a JSON object")
    return doc


def credentials_of(doc: dict) -> Credentials | None:
    username, password = doc.get("username") or "", doc.get("password") or ""
    if not username and doc.get("auth"):
        try:
            username, _, password = base64.b64decode(doc["auth"]).decode().partition(":")
        except (binascii.Error, ValueError):
            raise bad_parameter("invalid registry credentials: auth must be base64 of USER:PASSWORD") from None
    return Credentials(username, password) if username else None


def plain_http(registry: str) -> bool:
    """Registries on loopback are spoken to over plain HTTP, as dockerd's default insecure range 127.0.0.0/8
    (which ``/info`` reports) has them; any other needs the engine's insecure list (``registries.json``)."""
    if registry.startswith("["):
        host = registry[1:registry.find("]")]
    else:
        host = registry.rsplit(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
