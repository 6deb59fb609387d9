"""The layer cache and the build's image states.

Every step turns a parent state (an image: config + layers, known by its config digest) into a child state. The
cache maps sha256(parent id, the step's expanded text, a digest of its inputs) to the child's manifest digest, one
small file per key under ``cache/`` in the store, written atomically.  A hit costs a file read and two small JSON
reads; nothing is hashed but the key.  ``image prune`` keeps what cache entries reach.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field

from portside.image.errors import CorruptBlob
from portside.image.layout import now_iso, write_atomic
from portside.image.store import ImageStore, LayerRef


@dataclass
class State:
    """An image as a build step sees it: the full OCI config, its layers, its id (config digest)."""

    config: dict
    layers: list[LayerRef] = field(default_factory=list)
    id: str = "scratch"
    digest: str = ""

    @property
    def inner(self) -> dict:
        return self.config.get("config") or {}


def load_state(store: ImageStore, manifest_digest: str) -> State:
    manifest = store.layout.read_json(manifest_digest)
    config_digest = manifest["config"]["digest"]
    config = store.layout.read_json(config_digest)
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    layers = [LayerRef(d["digest"], d["mediaType"], d["size"], diff_id)
              for d, diff_id in zip(manifest.get("layers", []), diff_ids)]
    return State(config, layers, config_digest, manifest_digest)


def child_config(parent: State, inner: dict, created_by: str, layer: LayerRef | None, author: str | None) -> dict:
    """The parent's config with the step applied: new ``config``, a history entry, maybe one more diff id."""
    config = copy.deepcopy(parent.config)
    for own in ("container", "container_config", "parent"):  # what a commit records of itself, not inherited
        config.pop(own, None)
    created = now_iso()
    config["created"] = created
    config["config"] = inner
    entry = {"created": created, "created_by": created_by}
    if layer is None:
        entry["empty_layer"] = True
    else:
        config.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append(layer.diff_id)
    config.setdefault("history", []).append(entry)
    if author is not None:
        config["author"] = author
    return config


class Cache:
    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self.dir = store.root / "cache"

    @staticmethod
    def key(parent: str, created_by: str, inputs: str) -> str:
        return hashlib.sha256(f"{parent}\n{created_by}\n{inputs}".encode()).hexdigest()

    def get(self, key: str) -> State | None:
        """The cached child state, or None when absent or when a blob it needs was pruned."""
        try:
            digest = (self.dir / key).read_text().strip()
            return load_state(self.store, digest)
        except (FileNotFoundError, ValueError, KeyError, CorruptBlob):
            return None

    def put(self, key: str, manifest_digest: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.dir / key, manifest_digest.encode())

    def record(self, parent: State, inner: dict, created_by: str, layer: LayerRef | None,
               author: str | None = None) -> State:
        """Write the child image's blobs and return its state (the caller files it under its key)."""
        config = child_config(parent, inner, created_by, layer, author)
        layers = parent.layers + ([layer] if layer else [])
        digest, _ = self.store.write_image(config, layers)
        return load_state(self.store, digest)
