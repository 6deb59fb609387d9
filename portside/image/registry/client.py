"""The distribution API for one repository: manifests, blob existence, blob download and upload, mounts.

Downloads stream to a file while hashing, and a blob whose sha256 or size is not what the manifest promised is
deleted before anyone can see it. Uploads go in one ``PUT`` when small and as ``PATCH`` chunks when large (the
spec's monolithic and chunked flows); a blob the registry already has is skipped after a ``HEAD``, and one known
to sit in another repository of the same registry is mounted instead of sent.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
from collections.abc import AsyncIterator, Callable

import aiohttp

from portside.image.registry import manifest as mf
from portside.image.registry.auth import repository_scope
from portside.image.registry.errors import DigestMismatch, ManifestUnknown, RegistryError
from portside.image.registry.reference import Reference
from portside.image.registry.transport import Transport, expect

Progress = Callable[[int], None]
READ_SIZE = 1 << 16
CHUNK_SIZE = 16 << 20  # blobs above this are sent as PATCH chunks of this size


class RepositoryClient:
    def __init__(self, transport: Transport, repository: str, *, push: bool = False) -> None:
        self.transport = transport
        self.repository = repository
        transport.add_scope(repository_scope(repository, "pull,push" if push else "pull"))

    def _url(self, tail: str):
        return self.transport.url(f"{self.repository}/{tail}")

    async def get_manifest(self, ref: Reference, target: str) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of ``target`` (a tag or digest); digest checked against the bytes."""
        resp = await self.transport.request("GET", self._url(f"manifests/{target}"), headers={"Accept": mf.ACCEPT})
        if resp.status == 404:
            resp.release()
            raise ManifestUnknown(str(ref.with_digest(target) if target.startswith("sha256:") else ref))
        await expect(resp, f"fetching manifest {ref}", 200)
        body = await resp.read()
        digest = mf.sha256_digest(body)
        promised = target if target.startswith("sha256:") else resp.headers.get("Docker-Content-Digest", digest)
        if promised != digest:
            raise DigestMismatch(f"manifest {ref}", promised, digest)
        return body, mf.media_type_of(body, resp.headers.get("Content-Type", "")), digest

    async def put_manifest(self, target: str, body: bytes, media_type: str) -> str:
        resp = await self.transport.request("PUT", self._url(f"manifests/{target}"), body=body,
                                            headers={"Content-Type": media_type})
        async with await expect(resp, f"pushing manifest {self.repository}:{target}", 201, 200):
            return resp.headers.get("Docker-Content-Digest") or mf.sha256_digest(body)

    async def blob_exists(self, digest: str) -> bool:
        resp = await self.transport.request("HEAD", self._url(f"blobs/{digest}"))
        resp.release()
        if resp.status in (200, 404):
            return resp.status == 200
        raise RegistryError(f"checking blob {digest} in {self.repository}: HTTP {resp.status}")

    async def fetch_blob(self, desc: mf.Descriptor, dest: pathlib.Path, progress: Progress) -> None:
        """Stream the blob to ``dest``; on any failure ``dest`` does not exist afterwards."""
        resp = await self.transport.request("GET", self._url(f"blobs/{desc.digest}"))
        async with await expect(resp, f"fetching blob {desc.digest}", 200):
            try:
                actual, size = await _stream_to(resp, dest, progress)
            except BaseException:
                dest.unlink(missing_ok=True)
                raise
        if actual != desc.digest or size != desc.size:
            dest.unlink(missing_ok=True)
            raise DigestMismatch(f"blob in {self.repository}", f"{desc.digest} ({desc.size} bytes)",
                                 f"{actual} ({size} bytes)")

    async def mount_blob(self, digest: str, source: str) -> str | None:
        """Ask for a cross-repository mount; None when mounted, else the upload session the registry opened."""
        self.transport.add_scope(repository_scope(source, "pull"))
        query = {"mount": digest, "from": source}
        resp = await self.transport.request("POST", self._url("blobs/uploads/").with_query(query))
        async with await expect(resp, f"mounting {digest} from {source}", 201, 202):
            return None if resp.status == 201 else resp.headers["Location"]

    async def start_upload(self) -> str:
        resp = await self.transport.request("POST", self._url("blobs/uploads/"))
        async with await expect(resp, f"starting an upload to {self.repository}", 202):
            return resp.headers["Location"]

    async def upload_blob(self, location: str, path: pathlib.Path, desc: mf.Descriptor, progress: Progress,
                          chunk_size: int = CHUNK_SIZE) -> None:
        if desc.size > chunk_size:
            location = await self._upload_chunks(location, path, desc.size, progress, chunk_size)
            body, length = None, 0
        else:
            body, length = (lambda: _read_file(path, progress)), desc.size
        url = self.transport.url(location).update_query(digest=desc.digest)
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
        resp = await self.transport.request("PUT", url, body=body, headers=headers)
        (await expect(resp, f"uploading blob {desc.digest}", 201)).release()

    async def _upload_chunks(self, location: str, path: pathlib.Path, size: int, progress: Progress,
                             chunk_size: int) -> str:
        with open(path, "rb") as src:
            for start in range(0, size, chunk_size):
                chunk = src.read(chunk_size)
                headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(chunk)),
                           "Content-Range": f"{start}-{start + len(chunk) - 1}"}
                resp = await self.transport.request("PATCH", self.transport.url(location), body=chunk,
                                                    headers=headers)
                async with await expect(resp, f"uploading a chunk of {path.name}", 202):
                    location = resp.headers["Location"]
                progress(start + len(chunk))
        return location


async def _stream_to(resp: aiohttp.ClientResponse, dest: pathlib.Path, progress: Progress) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with open(dest, "wb") as out:
        async for block in resp.content.iter_chunked(READ_SIZE):
            sha.update(block)
            out.write(block)
            size += len(block)
            progress(size)
        out.flush()
        os.fsync(out.fileno())
    return "sha256:" + sha.hexdigest(), size


async def _read_file(path: pathlib.Path, progress: Progress) -> AsyncIterator[bytes]:
    done = 0
    with open(path, "rb") as src:
        while block := src.read(READ_SIZE):
            done += len(block)
            progress(done)
            yield block



