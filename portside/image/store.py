"""The image store: OCI layout plus unpacked layer directories keyed by diff id, ready as overlay lowerdirs.

An image is a manifest in ``index.json``; its id is the digest of its config blob (as docker's).  Names live in
the index as ``org.opencontainers.image.ref.name`` annotations holding ``name:tag``; an image whose last name is
moved away stays as an entry without one (docker's dangling ``<none>``).  ``resolve`` is on ``portside run``'s
hot path, so it reads three small JSON files and imports nothing heavy.
"""

from __future__ import annotations

import os
from pathlib import Path

from portside.image.errors import AmbiguousImage, ImageError, ImageNotFound
from portside.image.layout import CONFIG_ANNOTATION, CONFIG_TYPE, LAYER_TAR, MANIFEST_TYPE, REF_NAME, BlobWriter, Layout
from portside.image.reference import is_hex, normalize
from portside.runtime.plain import Plain


class Image(Plain):
    """One stored image. ``config`` is the OCI config's ``config`` object (docker's keys: Env, Cmd, ...)."""

    __slots__ = ("id", "names", "config", "created", "size", "digest", "full_config")

    def __init__(self, id: str, names: list[str], config: dict, created: str, size: int, digest: str = "",
                 full_config: dict | None = None) -> None:
        self.id, self.names, self.config, self.created, self.size = id, names, config, created, size
        self.digest, self.full_config = digest, {} if full_config is None else full_config

    @property
    def diff_ids(self) -> list[str]:
        return list(self.full_config.get("rootfs", {}).get("diff_ids", []))

    @property
    def history(self) -> list[dict]:
        return list(self.full_config.get("history", []))


class LayerRef(Plain):
    """A layer as a manifest names it (blob digest, media type, size) and as overlay uses it (diff id)."""

    __slots__ = ("digest", "media_type", "size", "diff_id")

    def __init__(self, digest: str, media_type: str, size: int, diff_id: str) -> None:
        self.digest, self.media_type, self.size, self.diff_id = digest, media_type, size, diff_id


class ImageStore:
    """One engine's images under ``ROOT/image``: the OCI layout plus ``layers/<diff id>`` directories."""

    def __init__(self, root: Path, on_event=None) -> None:
        """``on_event(action, image_id, name)``: told of each name given or taken and each image deleted (the
        engine logs them as docker's image events)."""
        self.root = Path(root)
        self.layout = Layout(self.root)
        self.layers_root = self.root / "layers"
        self.on_event = on_event or (lambda action, image_id, name: None)

    # -- reading -------------------------------------------------------------------------------------------

    def resolve(self, ref: str) -> Image:
        """Find an image by ``name[:tag]``, ``sha256:HEX``, a manifest digest or an id prefix of 4+ digits."""
        entries = self.layout.read_index().get("manifests", [])
        entry = self._by_name(entries, ref) or self._by_id(entries, ref)
        if entry is None:
            raise ImageNotFound(ref)
        return self._load(entry, entries)

    def _by_name(self, entries: list[dict], ref: str) -> dict | None:
        if ref.startswith("sha256:") or "@" in ref:
            return None
        try:
            wanted = normalize(ref)
        except ImageError:
            return None
        return next((e for e in entries if e.get("annotations", {}).get(REF_NAME) == wanted), None)

    def _by_id(self, entries: list[dict], ref: str) -> dict | None:
        text = ref.split("@", 1)[-1].removeprefix("sha256:")
        if len(text) < 4 or not is_hex(text):
            return None
        hits = {self._config_digest(e): e for e in entries if self._config_digest(e)[7:].startswith(text)}
        hits.update({e["digest"]: e for e in entries if e["digest"][7:] == text})
        if len(hits) > 1:
            raise AmbiguousImage(ref, len(hits))
        return next(iter(hits.values()), None)

    def _config_digest(self, entry: dict) -> str:
        known = entry.get("annotations", {}).get(CONFIG_ANNOTATION)
        return known or self.layout.read_json(entry["digest"])["config"]["digest"]

    def _load(self, entry: dict, entries: list[dict]) -> Image:
        manifest = self.layout.read_json(entry["digest"])
        config_digest = manifest["config"]["digest"]
        full = self.layout.read_json(config_digest)
        names = [e["annotations"][REF_NAME] for e in entries
                 if e["digest"] == entry["digest"] and REF_NAME in e.get("annotations", {})]
        size = sum(layer.get("size", 0) for layer in manifest.get("layers", []))
        return Image(id=config_digest, names=names, config=full.get("config") or {},
                     created=full.get("created", ""), size=size, digest=entry["digest"], full_config=full)

    def list(self) -> list[Image]:
        entries = self.layout.read_index().get("manifests", [])
        seen: dict[str, Image] = {}
        for entry in entries:
            if entry["digest"] not in seen:
                seen[entry["digest"]] = self._load(entry, entries)
        return sorted(seen.values(), key=lambda image: image.created, reverse=True)

    def manifest(self, image: Image) -> dict:
        return self.layout.read_json(image.digest)

    def layers(self, image: Image) -> list[LayerRef]:
        descriptors = self.manifest(image).get("layers", [])
        return [LayerRef(d["digest"], d["mediaType"], d["size"], diff_id)
                for d, diff_id in zip(descriptors, image.diff_ids)]

    def layer_dirs(self, image: Image) -> list[Path]:
        """Unpacked layers, lowest first, ready as overlay lowerdirs; a missing one (crash, prune) is unpacked.

        Each path is a short link, ``l/<16 hex>`` -> ``layers/<diff id>``: overlayfs takes its options in one
        4 KiB page, and full layer paths would cap a container at about 40 layers (docker's overlay2 does the same).
        """
        links = [self.short_path(diff_id) for diff_id in image.diff_ids]
        if all(link.is_dir() for link in links):
            return links
        return self.dirs(self.layers(image))

    def dirs(self, layers: list[LayerRef]) -> list[Path]:
        """Short paths of the given layers, lowest first, unpacking and linking any that are missing."""
        return [self.link(self.unpack_layer(layer)) for layer in layers]

    def layer_path(self, diff_id: str) -> Path:
        return self.layers_root / diff_id.removeprefix("sha256:")

    def short_path(self, diff_id: str) -> Path:
        return self.root / "l" / diff_id.removeprefix("sha256:")[:16]

    def link(self, layer_dir: Path) -> Path:
        short = self.short_path(layer_dir.name)
        if not short.is_dir():
            short.parent.mkdir(exist_ok=True)
            short.unlink(missing_ok=True)  # a link left dangling by a removed layer
            try:
                os.symlink(f"../layers/{layer_dir.name}", short)
            except FileExistsError:
                pass  # another process linked it first
        return short

    # -- writing -------------------------------------------------------------------------------------------

    def unpack_layer(self, layer: LayerRef) -> Path:
        """Unpack a layer blob into its directory: into a temporary name first, renamed when complete."""
        from portside.image.unpack import unpack

        final = self.layer_path(layer.diff_id)
        if final.is_dir():
            return final
        self.layers_root.mkdir(parents=True, exist_ok=True)
        tmp = self.layers_root / f".tmp-{final.name}-{os.getpid()}-{os.urandom(4).hex()}"
        unpack(self.layout.blob_path(layer.digest), tmp, diff_id=layer.diff_id)
        adopt_dir(tmp, final)
        return final

    def commit_layer(self, writer: BlobWriter, unpacked: Path) -> LayerRef:
        """Publish a layer made on this machine: its uncompressed tar (so diff id == blob digest) and its
        directory, which becomes ``layers/<diff id>`` (an identical layer already there is kept instead)."""
        digest, size = writer.commit()
        self.layers_root.mkdir(parents=True, exist_ok=True)
        os.chmod(unpacked, 0o755)  # a layer's root is the container's "/" when it is the top layer
        adopt_dir(unpacked, self.layer_path(digest))
        return LayerRef(digest, LAYER_TAR, size, digest)

    def temp_dir(self, purpose: str) -> Path:
        """A fresh directory inside the store (same filesystem, so finished layers are renamed, not copied)."""
        import tempfile

        base = self.root / "tmp"
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{purpose}-", dir=base))

    def write_image(self, config: dict, layers: list[LayerRef], annotations: dict | None = None) -> tuple[str, int]:
        """Write config and manifest blobs without naming the image; return (manifest digest, manifest size)."""
        config_digest, config_size = self.layout.write_json(config)
        return self.write_manifest(config_digest, config_size, layers, annotations)

    def write_manifest(self, config_digest: str, config_size: int, layers: list[LayerRef],
                       annotations: dict | None = None) -> tuple[str, int]:
        """An OCI manifest for a config blob already stored (kept byte for byte, so the image id holds)."""
        manifest = {
            "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": l.media_type, "digest": l.digest, "size": l.size} for l in layers],
        }
        if annotations:
            manifest["annotations"] = annotations
        return self.layout.write_json(manifest)

    def add_image(self, config: dict, layers: list[LayerRef], names: list[str] = (),
                  annotations: dict | None = None, action: str = "tag") -> Image:
        """Write the image's blobs, then point ``names`` at it (or list it untagged)."""
        normalized = [normalize(n) for n in names]
        digest, size = self.write_image(config, layers, annotations)
        config_digest = self.layout.read_json(digest)["config"]["digest"]
        self.set_names(digest, size, config_digest, normalized, action)
        return self.resolve(normalized[0]) if normalized else self.resolve(digest)

    def set_names(self, digest: str, size: int, config_digest: str, names: list[str], action: str = "tag") -> None:
        """Point each name at the manifest; an image losing its last name stays, untagged (dangling). ``action``:
        the event each name is told as (``tag``, ``pull``, ``load``, ``import``)."""
        if not self._names_already(digest, names):
            self._set_names(digest, size, config_digest, names)  # else an unchanged rebuild or re-tag: no write
        for name in names or [""]:
            if name or action != "tag":
                self.on_event(action, config_digest, name)

    def _set_names(self, digest: str, size: int, config_digest: str, names: list[str]) -> None:
        with self.layout.edit_index() as index:
            entries = index["manifests"]
            for name in names:
                for entry in entries:
                    if entry.get("annotations", {}).get(REF_NAME) == name:
                        del entry["annotations"][REF_NAME]
            entries[:] = dedupe(entries)
            base = {"mediaType": MANIFEST_TYPE, "digest": digest, "size": size}
            for name in names:
                entries.append({**base, "annotations": {REF_NAME: name, CONFIG_ANNOTATION: config_digest}})
            if not any(e["digest"] == digest for e in entries):
                entries.append({**base, "annotations": {CONFIG_ANNOTATION: config_digest}})

    def _names_already(self, digest: str, names: list[str]) -> bool:
        entries = self.layout.read_index().get("manifests", [])
        current = {e.get("annotations", {}).get(REF_NAME): e["digest"] for e in entries}
        listed = any(e["digest"] == digest for e in entries)
        return listed and all(current.get(name) == digest for name in names)

    def tag(self, source: str, target: str) -> Image:
        image = self.resolve(source)
        # The stored manifest's own byte length: a pulled manifest is kept byte for byte, not re-serialised.
        size = self.layout.blob_path(image.digest).stat().st_size
        self.set_names(image.digest, size, image.id, [normalize(target)])
        return self.resolve(target)

    def import_rootfs(self, tar_path: Path, ref: str | None, comment: str = "", changes: list[str] = ()) -> Image:
        from portside.image.importer import import_rootfs

        return import_rootfs(self, Path(tar_path), ref, comment, changes)

    def remove(self, ref: str, force: bool = False) -> list[str]:
        """docker's ``rmi``; its lines ("Untagged: NAME", "Deleted: ID") are also told as events."""
        from portside.image.gc import remove_image

        image_id = self.resolve(ref).id
        lines = remove_image(self, ref, force)
        for line in lines:
            kind, _, what = line.partition(": ")
            self.on_event("untag" if kind == "Untagged" else "delete", image_id, what)
        return lines

    def prune(self) -> list[str]:
        from portside.image.gc import prune

        return prune(self)


def dedupe(entries: list[dict]) -> list[dict]:
    """Drop untagged entries for manifests that still have a tagged entry (or an identical untagged twin)."""
    tagged = {e["digest"] for e in entries if REF_NAME in e.get("annotations", {})}
    out, seen = [], set()
    for entry in entries:
        if REF_NAME not in entry.get("annotations", {}):
            if entry["digest"] in tagged or entry["digest"] in seen:
                continue
            seen.add(entry["digest"])
        out.append(entry)
    return out


def adopt_dir(tmp: Path, final: Path) -> None:
    """Rename a finished directory into place; if another process won the race, keep theirs."""
    import shutil

    try:
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not final.is_dir():
            raise
