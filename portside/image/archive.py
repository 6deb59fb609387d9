"""``save`` and ``load``: images to and from tar archives, in docker's format and as an OCI image layout.

docker-archive: ``manifest.json`` (Config, RepoTags, Layers), the config as ``<id>.json``, each layer as an
uncompressed ``<diff id>.tar``, plus the legacy ``repositories`` file.  oci-archive: the OCI image layout
(``oci-layout``, ``index.json`` naming each image with ``org.opencontainers.image.ref.name``, ``blobs/sha256``).
Loading accepts both, whoever wrote them (docker save, skopeo, ours); every blob is verified against its digest.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

from portside.image.errors import ArchiveError
from portside.image.layout import LAYER_GZIP, LAYER_TAR, REF_NAME, canonical_json, host_arch, temp_path
from portside.image.reference import normalize, split_tag
from portside.image.store import Image, ImageStore, LayerRef

GZIP_MAGIC = b"\x1f\x8b"
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = path.stat().st_size, 0o644
    with open(path, "rb") as f:
        tar.addfile(info, f)


def plain_layer(store: ImageStore, layer: LayerRef, scratch: Path) -> Path:
    """The layer as an uncompressed tar (docker-archive wants that): the blob itself, or a decompressed copy."""
    path = store.layout.blob_path(layer.digest)
    with open(path, "rb") as f:
        if f.read(2) != GZIP_MAGIC:
            return path
    with gzip.open(path, "rb") as src, open(scratch, "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
    return scratch


def save_docker(store: ImageStore, images: list[Image], tar: tarfile.TarFile, scratch: Path) -> None:
    entries, repositories, written = [], {}, set()
    for image in images:
        config_name = image.id.removeprefix("sha256:") + ".json"
        layer_names = [layer.diff_id.removeprefix("sha256:") + ".tar" for layer in store.layers(image)]
        if config_name not in written:
            add_bytes(tar, config_name, store.layout.read_blob(image.id))
            for layer, name in zip(store.layers(image), layer_names):
                if name not in written:
                    add_file(tar, name, plain_layer(store, layer, scratch))
                    written.add(name)
            written.add(config_name)
        entries.append({"Config": config_name, "RepoTags": image.names, "Layers": layer_names})
        for repo, tag in map(split_tag, image.names):
            repositories.setdefault(repo, {})[tag] = image.id.removeprefix("sha256:")
    add_bytes(tar, "manifest.json", json.dumps(entries).encode())
    add_bytes(tar, "repositories", json.dumps(repositories).encode())


def save_oci(store: ImageStore, images: list[Image], tar: tarfile.TarFile) -> None:
    add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    manifests, blobs = [], []
    for image in images:
        blobs += [image.digest, image.id] + [layer.digest for layer in store.layers(image)]
        size = store.layout.blob_path(image.digest).stat().st_size
        base = {"mediaType": store.manifest(image).get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
                "digest": image.digest, "size": size}
        manifests += [{**base, "annotations": {REF_NAME: name}} for name in image.names] or [base]
    add_bytes(tar, "index.json", canonical_json({"schemaVersion": 2, "manifests": manifests}))
    for digest in dict.fromkeys(blobs):
        add_file(tar, "blobs/sha256/" + digest.removeprefix("sha256:"), store.layout.blob_path(digest))


def save(store: ImageStore, refs: list[str], out: Path, fmt: str = "docker-archive") -> None:
    """Write ``refs`` to ``out`` atomically (a failed save leaves no partial archive). Each image carries the
    names it was asked by, as docker's: one saved by id has none, one of several names only the name given."""
    images = requested(store, refs)
    tmp = temp_path(out.resolve())
    scratch = temp_path(out.resolve().with_name("layer"))
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            save_docker(store, images, tar, scratch) if fmt == "docker-archive" else save_oci(store, images, tar)
        os.rename(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
        scratch.unlink(missing_ok=True)


def requested(store: ImageStore, refs: list[str]) -> list[Image]:
    images: dict[str, Image] = {}
    names: dict[str, list[str]] = {}
    for ref in refs:
        image = store.resolve(ref)
        images.setdefault(image.id, image)
        wanted = names.setdefault(image.id, [])
        name = normalize_or_none(ref)
        if name in image.names and name not in wanted:
            wanted.append(name)
    for image_id, image in images.items():
        image.names = names[image_id]
    return list(images.values())


def normalize_or_none(ref: str) -> str | None:
    try:
        return normalize(ref)
    except Exception:
        return None


class Reader:
    """Random access to an archive's members by cleaned name."""

    def __init__(self, tar: tarfile.TarFile, path: Path) -> None:
        self.tar, self.path = tar, path
        self.members = {m.name.removeprefix("./"): m for m in tar.getmembers()}

    def open(self, name: str):
        member = self.members.get(name.removeprefix("./"))
        handle = self.tar.extractfile(member) if member is not None else None
        if handle is None:
            raise ArchiveError(f"{self.path.name}: the archive names {name!r} but does not contain it")
        return handle

    def read(self, name: str) -> bytes:
        return self.open(name).read()

    def json(self, name: str):
        try:
            return json.loads(self.read(name))
        except ValueError as exc:
            raise ArchiveError(f"{self.path.name}: {name} is not valid JSON ({exc})") from None


def ingest_layer(store: ImageStore, handle, diff_id: str) -> LayerRef:
    """Store one docker-archive layer file; an uncompressed one must hash to the config's diff id."""
    head = handle.read(2)
    handle.seek(0)
    gz = head == GZIP_MAGIC
    digest, size = store.layout.ingest(handle, None if gz else diff_id)
    return LayerRef(digest, LAYER_GZIP if gz else LAYER_TAR, size, diff_id)


def load_docker(store: ImageStore, reader: Reader) -> list[str]:
    lines = []
    for entry in reader.json("manifest.json"):
        config_bytes = reader.read(entry["Config"])
        config_digest, config_size = store.layout.write_blob(config_bytes)
        diff_ids = json.loads(config_bytes).get("rootfs", {}).get("diff_ids", [])
        if len(diff_ids) != len(entry.get("Layers", [])):
            raise ArchiveError(f"{reader.path.name}: {entry['Config']} lists {len(diff_ids)} layers, "
                               f"manifest.json {len(entry.get('Layers', []))}")
        layers = [ingest_layer(store, reader.open(name), diff_id) for name, diff_id in zip(entry["Layers"], diff_ids)]
        store.dirs(layers)
        digest, size = store.write_manifest(config_digest, config_size, layers)
        names = [n for n in map(normalize_or_none, entry.get("RepoTags") or []) if n]
        store.set_names(digest, size, config_digest, names, action="load")
        lines += [f"Loaded image: {n}" for n in names] or [f"Loaded image ID: {config_digest}"]
    return lines


def pick_manifest(store: ImageStore, reader: Reader, desc: dict) -> dict:
    """Follow an image index down to the manifest for this machine's platform."""
    while desc.get("mediaType") in INDEX_TYPES:
        index = json.loads(copy_blob(store, reader, desc["digest"]))
        arch = host_arch()
        found = [m for m in index.get("manifests", []) if m.get("platform", {}).get("architecture") == arch]
        if not found:
            raise ArchiveError(f"{reader.path.name}: the image index has no manifest for linux/{arch}")
        desc = found[0]
    return desc


def copy_blob(store: ImageStore, reader: Reader, digest: str) -> bytes | None:
    name = "blobs/" + digest.replace(":", "/")
    if not store.layout.has_blob(digest):
        store.layout.ingest(reader.open(name), digest)
    path = store.layout.blob_path(digest)
    return path.read_bytes() if path.stat().st_size < (1 << 20) else None


def oci_names(desc: dict) -> list[str]:
    annotations = desc.get("annotations", {})
    raw = annotations.get("io.containerd.image.name") or annotations.get(REF_NAME)
    name = normalize_or_none(raw) if raw else None
    return [name] if name else []


def load_oci(store: ImageStore, reader: Reader) -> list[str]:
    lines = []
    for top in reader.json("index.json").get("manifests", []):
        desc = pick_manifest(store, reader, top)
        manifest = json.loads(copy_blob(store, reader, desc["digest"]))
        config = json.loads(copy_blob(store, reader, manifest["config"]["digest"]))
        diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        layers = [LayerRef(d["digest"], d["mediaType"], d["size"], diff_id)
                  for d, diff_id in zip(manifest.get("layers", []), diff_ids)]
        for layer in layers:
            copy_blob(store, reader, layer.digest)
        store.dirs(layers)
        names = oci_names(top)
        store.set_names(desc["digest"], desc.get("size", 0), manifest["config"]["digest"], names, action="load")
        lines += [f"Loaded image: {n}" for n in names] or [f"Loaded image ID: {manifest['config']['digest']}"]
    return lines


def load(store: ImageStore, path: Path) -> list[str]:
    """Load every image of a docker-archive or OCI archive; return docker's ``Loaded image: ...`` lines."""
    try:
        tar = tarfile.open(path, "r:*")
    except tarfile.ReadError:
        raise ArchiveError(f"cannot load {path.name}: it is not a tar archive (plain or compressed)") from None
    except (OSError, tarfile.TarError) as exc:
        raise ArchiveError(f"cannot read {path}: {exc}") from None
    with tar:
        reader = Reader(tar, path)
        store.layout.ensure()
        if "oci-layout" in reader.members and "index.json" in reader.members:
            return undo_on_failure(store, lambda: load_oci(store, reader))
        if "manifest.json" in reader.members:
            return undo_on_failure(store, lambda: load_docker(store, reader))
    raise ArchiveError(f"{path.name} is neither a docker-archive (manifest.json) nor an OCI archive (oci-layout)")


def undo_on_failure(store: ImageStore, job):
    """A load that fails half-way (a tampered or unsafe layer) removes the blobs it added that nothing uses."""
    before = set(os.listdir(store.layout.blobs))
    try:
        with store.layout.writing():
            return job()
    except BaseException:
        from portside.image.gc import live_sets

        live, _ = live_sets(store)
        for name in set(os.listdir(store.layout.blobs)) - before:
            if "sha256:" + name not in live and not name.startswith("."):
                (store.layout.blobs / name).unlink(missing_ok=True)
        raise
