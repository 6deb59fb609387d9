"""``push``: every blob the registry lacks (checked with ``HEAD``, mounted from a sibling repository when we know
one, uploaded otherwise), then the manifest, byte for byte as stored, so its digest is the one we hold.

Docker's order: blobs first, manifest last, since a registry refuses a manifest naming blobs it does not have.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable
from typing import TextIO

from portside.image.layout import MANIFEST_TYPE
from portside.image.registry import manifest as mf
from portside.image.registry.client import CHUNK_SIZE, RepositoryClient
from portside.image.registry.credentials import Credentials
from portside.image.registry.endpoint import MAX_CONCURRENT, connect, run_all
from portside.image.registry.errors import InvalidReference, RegistryError
from portside.image.registry.progress import LayerState, Listener, Progress
from portside.image.registry.reference import parse_reference
from portside.image.registry.settings import BlobSources
from portside.image.store import ImageStore


async def push(store: ImageStore, root: str | os.PathLike[str], text: str, out: TextIO, *,
               insecure: bool = False, tty: bool | None = None, chunk_size: int = CHUNK_SIZE,
               credentials: Credentials | None = None, listener: Listener | None = None) -> str:
    """Push the local image named ``text`` to the registry its name points at; return the manifest digest.

    ``credentials`` override the saved login; ``listener`` takes the progress as events (see ``pull``)."""
    ref = parse_reference(text)
    if ref.digest or not ref.tag:
        raise InvalidReference(f"cannot push {text!r}: push needs a name with a tag, not a digest")
    image = store.resolve(text)
    body = store.layout.read_blob(image.digest)
    media_type = mf.media_type_of(body, MANIFEST_TYPE)
    manifest = mf.parse_image_manifest(body, media_type)
    sources = BlobSources(store.root)
    async with connect(root, ref.registry, ref.api_host, insecure=insecure, credentials=credentials) as transport:
        repo = RepositoryClient(transport, ref.repository, push=True)
        pusher = _BlobPusher(store, repo, sources.sources, ref.registry, Progress(out, tty, listener), chunk_size)
        await pusher.push_all(manifest)
        digest = await repo.put_manifest(ref.tag, body, media_type)
    if digest != image.digest:
        raise RegistryError(f"{ref}: the registry stored the manifest as {digest}, not {image.digest}")
    sources.record(ref.registry, ref.repository, [b.digest for b in manifest.blobs])
    return digest


@dataclasses.dataclass
class _BlobPusher:
    store: ImageStore
    repo: RepositoryClient
    known: Callable[[str, str], list[str]]  # (digest, registry) -> repositories holding it
    registry: str
    progress: Progress
    chunk_size: int
    limit: asyncio.Semaphore = dataclasses.field(default_factory=lambda: asyncio.Semaphore(MAX_CONCURRENT))

    async def push_all(self, manifest: mf.ImageManifest) -> None:
        for desc in manifest.blobs:
            self.progress.add(desc.digest, desc.size)
        # The config goes first and alone: its 401 fetches the token the parallel layer requests then share.
        await self.push_one(manifest.config)
        await run_all(self.push_one(desc) for desc in manifest.layers)

    async def push_one(self, desc: mf.Descriptor) -> None:
        async with self.limit:
            try:
                await self._push(desc)
            except BaseException:
                self.progress.move(desc.digest, LayerState.FAILED)
                raise

    async def _push(self, desc: mf.Descriptor) -> None:
        if await self.repo.blob_exists(desc.digest):
            return self.progress.move(desc.digest, LayerState.EXISTS)
        location = None
        for source in self.known(desc.digest, self.registry):
            if source != self.repo.repository:
                location = await self.repo.mount_blob(desc.digest, source)
                if location is None:
                    return self.progress.move(desc.digest, LayerState.MOUNTED, f"from {source}")
                break
        self.progress.move(desc.digest, LayerState.PUSHING)
        path = self.store.layout.blob_path(desc.digest)
        location = location or await self.repo.start_upload()
        await self.repo.upload_blob(location, path, desc, lambda n: self.progress.bytes(desc.digest, n),
                                    self.chunk_size)
        self.progress.move(desc.digest, LayerState.PUSHED)
