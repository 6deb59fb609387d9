"""The OCI image layout on disk: ``oci-layout``, ``index.json`` and ``blobs/sha256/<hex>``.

Every write is atomic: content goes to a temporary file in the destination's directory, is fsynced, then renamed
over the final name, so a crash leaves either the old file or the new one, never half of one. ``index.json`` is
read-modify-written under an exclusive ``flock`` on ``.lock`` so that concurrent ``portside`` processes never lose
each other's tags; readers take no lock because a rename is atomic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from io import IOBase as BinaryIO
from pathlib import Path

REF_NAME = "org.opencontainers.image.ref.name"
WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
CONFIG_ANNOTATION = "io.portside.image.config"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def canonical_json(doc: object) -> bytes:
    """Stable bytes for a document: sorted keys and no spaces, so equal documents get equal digests."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def temp_path(final: Path) -> Path:
    return final.with_name(f".tmp-{final.name}-{os.getpid()}-{os.urandom(4).hex()}")


def write_atomic(final: Path, data: bytes) -> None:
    tmp = temp_path(final)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class Layout:
    """Blobs and the index of one OCI image layout directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.index_path = root / "index.json"

    def ensure(self) -> None:
        """Create the skeleton on first write; reads of a missing layout behave as an empty store."""
        if self.index_path.exists():
            return
        self.blobs.mkdir(parents=True, exist_ok=True)
        if not (self.root / "oci-layout").exists():
            write_atomic(self.root / "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        with self.locked():
            if not self.index_path.exists():
                write_atomic(self.index_path, canonical_json({"schemaVersion": 2, "manifests": []}))

    def blob_path(self, digest: str) -> Path:
        algo, _, hexdigest = digest.partition(":")
        if algo != "sha256" or len(hexdigest) != 64 or not all(c in "0123456789abcdef" for c in hexdigest):
            from portside.image.errors import CorruptBlob
            raise CorruptBlob(f"unsupported or malformed digest {digest!r}")
        return self.blobs / hexdigest

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).exists()

    def read_blob(self, digest: str) -> bytes:
        try:
            return self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            from portside.image.errors import CorruptBlob
            raise CorruptBlob(f"blob {digest} is missing from the store") from None

    def read_json(self, digest: str) -> dict:
        return json.loads(self.read_blob(digest))

    def write_blob(self, data: bytes) -> tuple[str, int]:
        """Store bytes and return (digest, size); an existing blob is left as it is."""
        import hashlib

        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.exists():
            self.blobs.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
        return digest, len(data)

    def write_json(self, doc: object) -> tuple[str, int]:
        return self.write_blob(canonical_json(doc))

    def ingest(self, src: BinaryIO, expected: str | None = None) -> tuple[str, int]:
        """Stream a blob in, hashing as it is written; verify it against ``expected`` when the caller knows it."""
        import hashlib

        self.blobs.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(self.blobs / "ingest")
        hasher, size = hashlib.sha256(), 0
        try:
            with open(tmp, "wb") as out:
                while chunk := src.read(1 << 20):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = "sha256:" + hasher.hexdigest()
            if expected and expected != digest:
                from portside.image.errors import CorruptBlob
                raise CorruptBlob(f"blob digest mismatch: expected {expected}, content is {digest}")
            os.rename(tmp, self.blob_path(digest))
            return digest, size
        finally:
            tmp.unlink(missing_ok=True)

    def writer(self) -> BlobWriter:
        self.blobs.mkdir(parents=True, exist_ok=True)
        return BlobWriter(self)

    def read_index(self) -> dict:
        try:
            return json.loads(self.index_path.read_bytes())
        except FileNotFoundError:
            return {"schemaVersion": 2, "manifests": []}

    @contextmanager
    def locked(self, name: str = ".lock", shared: bool = False) -> Iterator[None]:
        """An flock on a file of the layout: ``.lock`` guards index.json; ``.gc.lock`` is held shared by
        writers whose blobs are not yet referenced (a build, a load) and exclusively by ``image prune``."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def writing(self):
        """Held while producing blobs that nothing references yet, so ``image prune`` waits for us."""
        return self.locked(".gc.lock", shared=True)

    @contextmanager
    def edit_index(self) -> Iterator[dict]:
        """Yield the index for changes under the lock; it is written back only if the block ends normally."""
        self.ensure()
        with self.locked():
            index = self.read_index()
            yield index
            write_atomic(self.index_path, json.dumps(index, indent=1, sort_keys=True).encode())


class BlobWriter:
    """A blob written as a stream (a layer tar being made): hashed on the way, kept out of ``blobs/`` until
    ``commit``, so a refused or interrupted write never shows up as a blob."""

    def __init__(self, layout: Layout) -> None:
        import hashlib

        self.layout = layout
        self.tmp = temp_path(layout.blobs / "stream")
        self.file = open(self.tmp, "wb")
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        self.size += len(data)
        return self.file.write(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self.hasher.hexdigest()

    def close(self) -> None:
        if not self.file.closed:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()

    def commit(self) -> tuple[str, int]:
        self.close()
        os.rename(self.tmp, self.layout.blob_path(self.digest))
        return self.digest, self.size

    def discard(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)


def now_iso() -> str:
    """A timestamp in the form docker writes into configs (RFC 3339, UTC, with a Z)."""
    from datetime import datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def host_arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)
