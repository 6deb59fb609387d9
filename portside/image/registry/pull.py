"""``pull``: manifest (through an index to this platform's), then the missing blobs in parallel, then the name.

Order matters for what a failure leaves behind. Blobs land in the store only after their digest checked out
(a temporary file renamed into ``blobs/``); layers are unpacked before the image gets its name, so a refused or
truncated layer never becomes a runnable image; the manifest is written and named last. A failure part way
leaves at most verified, unnamed blobs, which ``image prune`` removes and the next pull reuses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from typing import TextIO

from portside.image.errors import ImageNotFound
from portside.image.layout import REF_NAME, temp_path
from portside.image.reference import normalize
from portside.image.registry import manifest as mf
from portside.image.registry.client import RepositoryClient
from portside.image.registry.credentials import Credentials
from portside.image.registry.endpoint import MAX_CONCURRENT, connect, run_all
from portside.image.registry.errors import DigestMismatch, RegistryError
from portside.image.registry.progress import LayerState, Listener, Progress
from portside.image.registry.reference import Reference, parse_reference
from portside.image.registry.settings import BlobSources
from portside.image.store import Image, ImageStore, LayerRef


@dataclasses.dataclass(frozen=True)
class PullResult:
    reference: Reference
    name: str | None  # the local name given to the image; None when pulled by digest alone
    digest: str  # manifest digest, as the registry names it
    image_id: str  # config digest, as the store names it
    fresh: bool  # False when the name already pointed at this manifest


async def pull(store: ImageStore, root: str | os.PathLike[str], text: str, out: TextIO, *,
               insecure: bool = False, tty: bool | None = None, credentials: Credentials | None = None,
               listener: Listener | None = None) -> PullResult:
    """``credentials`` override the saved login (the Docker API's X-Registry-Auth); ``listener`` takes the
    layers' progress as events instead of lines on ``out``."""
    ref = parse_reference(text)
    # Held from the first blob to the naming, so `image prune` never removes a blob nothing references yet.
    with store.layout.writing():
        async with connect(root, ref.registry, ref.api_host, insecure=insecure, credentials=credentials) as transport:
            repo = RepositoryClient(transport, ref.repository)
            body, digest, manifest = await _resolve_manifest(repo, ref)
            await _fetch_missing(store, repo, manifest, Progress(out, tty, listener))
        config = json.loads(store.layout.read_blob(manifest.config.digest))
        await asyncio.to_thread(_unpack_layers, store, manifest, config, str(ref))
        name = _local_name(ref)
        fresh = _names_digest(store, name) != digest
        store.layout.write_blob(body)
        store.set_names(digest, len(body), manifest.config.digest, [name] if name else [], action="pull")
    BlobSources(store.root).record(ref.registry, ref.repository, [b.digest for b in manifest.blobs])
    return PullResult(ref, name, digest, manifest.config.digest, fresh)


async def _resolve_manifest(repo: RepositoryClient, ref: Reference) -> tuple[bytes, str, mf.ImageManifest]:
    body, media_type, digest = await repo.get_manifest(ref, ref.target)
    if media_type in mf.INDEX_TYPES:
        chosen = mf.select_platform(body, str(ref))
        body, media_type, digest = await repo.get_manifest(ref, chosen.digest)
    if media_type not in mf.IMAGE_TYPES:
        raise RegistryError(f"{ref}: unsupported manifest type {media_type!r}")
    return body, digest, mf.parse_image_manifest(body, media_type)


async def _fetch_missing(store: ImageStore, repo: RepositoryClient, manifest: mf.ImageManifest,
                         progress: Progress) -> None:
    store.layout.ensure()
    limit = asyncio.Semaphore(MAX_CONCURRENT)
    for desc in manifest.layers:
        progress.add(desc.digest, desc.size)
    await run_all(_fetch_one(store, repo, desc, progress, limit) for desc in manifest.layers)
    # The config is small and carries no progress line, as in docker's output.
    if not store.layout.has_blob(manifest.config.digest):
        await _download(store, repo, manifest.config, lambda n: None)


async def _fetch_one(store: ImageStore, repo: RepositoryClient, desc: mf.Descriptor, progress: Progress,
                     limit: asyncio.Semaphore) -> None:
    if store.layout.has_blob(desc.digest):
        progress.move(desc.digest, LayerState.EXISTS)
        return
    async with limit:
        progress.move(desc.digest, LayerState.DOWNLOADING)
        try:
            await _download(store, repo, desc, lambda n: progress.bytes(desc.digest, n))
        except BaseException:
            progress.move(desc.digest, LayerState.FAILED)
            raise
        progress.move(desc.digest, LayerState.DOWNLOADED)


async def _download(store: ImageStore, repo: RepositoryClient, desc: mf.Descriptor, report) -> None:
    final = store.layout.blob_path(desc.digest)
    tmp = temp_path(final)
    await repo.fetch_blob(desc, tmp, report)
    os.rename(tmp, final)


def _unpack_layers(store: ImageStore, manifest: mf.ImageManifest, config: dict, ref: str) -> None:
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(manifest.layers):
        raise RegistryError(f"{ref}: config lists {len(diff_ids)} diff ids for {len(manifest.layers)} layers")
    for desc, diff_id in zip(manifest.layers, diff_ids):
        _check_diff_id(store, desc, diff_id)
        store.unpack_layer(LayerRef(desc.digest, desc.media_type, desc.size, diff_id))


def _check_diff_id(store: ImageStore, desc: mf.Descriptor, diff_id: str) -> None:
    """The config names each layer by its uncompressed digest; a compressed blob that decompresses to other
    content is refused before it is unpacked (docker checks the same)."""
    path = store.layout.blob_path(desc.digest)
    if desc.digest == diff_id or store.layer_path(diff_id).is_dir():
        return
    actual = mf.uncompressed_digest(path)
    if actual != diff_id:
        raise DigestMismatch(f"uncompressed layer {desc.digest}", diff_id, actual)


def _local_name(ref: Reference) -> str | None:
    if ref.tag is None:
        return None
    return normalize(ref.familiar().split("@", 1)[0])


def _names_digest(store: ImageStore, name: str | None) -> str | None:
    entries = store.layout.read_index().get("manifests", [])
    return next((e["digest"] for e in entries if name and e.get("annotations", {}).get(REF_NAME) == name), None)


async def pull_if_missing(store: ImageStore, root: str | os.PathLike[str], text: str, out: TextIO, *,
                          insecure: bool = False) -> Image:
    """The local image named ``text``, pulled first if the store lacks it (how ``FROM NAME`` finds a base)."""
    try:
        return store.resolve(text)
    except ImageNotFound:
        pass
    result = await pull(store, root, text, out, insecure=insecure)
    return store.resolve(result.name or result.digest)
