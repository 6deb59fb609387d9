"""Manifests as the distribution API serves them: OCI and docker schema2 manifests, and the indexes above them.

Pure functions over bytes: classify a manifest, list the blobs it names, pick one platform out of an index. The
bytes themselves are kept exactly as received, because the manifest's digest is the digest of those bytes: a
pushed image keeps the digest it was pulled with only if nothing re-serialises it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform

from portside.image.registry.errors import PlatformNotFound, RegistryError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
IMAGE_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join(IMAGE_TYPES + INDEX_TYPES)

_MACHINE_TO_ARCH = {"x86_64": ("amd64", ""), "aarch64": ("arm64", "v8"), "armv7l": ("arm", "v7"),
                    "armv6l": ("arm", "v6"), "i686": ("386", ""), "ppc64le": ("ppc64le", ""),
                    "s390x": ("s390x", "")}


@dataclasses.dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int


@dataclasses.dataclass(frozen=True)
class ImageManifest:
    media_type: str
    config: Descriptor
    layers: list[Descriptor]

    @property
    def blobs(self) -> list[Descriptor]:
        return [self.config, *self.layers]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def uncompressed_digest(path) -> str:
    """sha256 of a layer blob's tar stream after gzip (or no) compression is undone."""
    import gzip

    sha = hashlib.sha256()
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if gzipped else raw
        while block := stream.read(1 << 20):
            sha.update(block)
    return "sha256:" + sha.hexdigest()


def host_platform() -> tuple[str, str, str]:
    """(os, architecture, variant) of this machine in OCI terms."""
    arch, variant = _MACHINE_TO_ARCH.get(platform.machine(), (platform.machine(), ""))
    return "linux", arch, variant


def media_type_of(body: bytes, header_type: str) -> str:
    """The manifest's own ``mediaType`` wins over the HTTP header, which some registries get wrong."""
    declared = _load(body).get("mediaType")
    if declared:
        return declared
    return header_type.split(";")[0].strip() or OCI_MANIFEST


def parse_image_manifest(body: bytes, media_type: str) -> ImageManifest:
    doc = _load(body)
    try:
        config = _descriptor(doc["config"])
        layers = [_descriptor(layer) for layer in doc["layers"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise RegistryError(f"malformed {media_type} manifest: {exc}") from None
    return ImageManifest(media_type, config, layers)


def select_platform(body: bytes, ref: str) -> Descriptor:
    """Pick the host's platform from an index (an exact variant match first, then any variant)."""
    want_os, want_arch, want_variant = host_platform()
    entries = _load(body).get("manifests") or []
    found = [(e.get("platform") or {}, e) for e in entries if isinstance(e, dict)]
    matches = [e for p, e in found if p.get("os") == want_os and p.get("architecture") == want_arch]
    exact = [e for e in matches if (e.get("platform") or {}).get("variant", "") in ("", want_variant)]
    chosen = (exact or matches or [None])[0]
    if chosen is None:
        offered = sorted({f"{p.get('os')}/{p.get('architecture')}" for p, _ in found})
        raise PlatformNotFound(ref, f"{want_os}/{want_arch}", offered)
    return _descriptor(chosen)


def _descriptor(doc: dict) -> Descriptor:
    return Descriptor(str(doc.get("mediaType", "")), str(doc["digest"]), int(doc["size"]))


def _load(body: bytes) -> dict:
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise RegistryError(f"manifest is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RegistryError("manifest is not a JSON object")
    return doc
