"""Removing images and collecting what no image needs any more.

A blob is live while a manifest in ``index.json`` or a build-cache entry reaches it; a layer directory while a
live config lists its diff id.  ``rmi`` deletes the removed image's own blobs that nothing else reaches;
``image prune`` sweeps every unreachable blob, layer directory and leftover temporary file, nothing else.
"""

from __future__ import annotations

import os
import shutil

from portside.image.errors import ImageConflict, InvalidReference
from portside.image.layout import REF_NAME
from portside.image.reference import normalize, short_id


def names_ref(image, ref: str) -> bool:
    try:
        return normalize(ref) in image.names
    except InvalidReference:
        return False


def remove_image(store, ref: str, force: bool) -> list[str]:
    """Untag ``ref`` if it is one of several names; otherwise delete the image (docker's ``rmi``)."""
    image = store.resolve(ref)
    if names_ref(image, ref) and len(image.names) > 1:
        untag(store, normalize(ref))
        return [f"Untagged: {normalize(ref)}"]
    if len(image.names) > 1 and not force:
        raise ImageConflict(f"conflict: unable to delete {short_id(image.id)} (must be forced) - image is "
                            "referenced in multiple repositories")
    with store.layout.edit_index() as index:
        index["manifests"] = [e for e in index["manifests"] if e["digest"] != image.digest]
    collect(store, image)
    return [f"Untagged: {name}" for name in image.names] + [f"Deleted: {image.id}"]


def untag(store, name: str) -> None:
    """Drop one name; the image stays (dangling if that was its last name)."""
    with store.layout.edit_index() as index:
        for entry in index["manifests"]:
            if entry.get("annotations", {}).get(REF_NAME) == name:
                del entry["annotations"][REF_NAME]
        from portside.image.store import dedupe
        index["manifests"] = dedupe(index["manifests"])


def live_manifests(store) -> set[str]:
    digests = {e["digest"] for e in store.layout.read_index().get("manifests", [])}
    cache = store.root / "cache"
    if cache.is_dir():
        for entry in os.scandir(cache):
            if entry.is_file() and not entry.name.startswith("."):
                digests.add(open(entry.path).read().strip())
    return digests


def live_sets(store) -> tuple[set[str], set[str]]:
    """(live blob digests, live diff ids)."""
    blobs, diff_ids = set(), set()
    for digest in live_manifests(store):
        if not store.layout.has_blob(digest):
            continue
        manifest = store.layout.read_json(digest)
        config = manifest["config"]["digest"]
        blobs.update([digest, config], (layer["digest"] for layer in manifest.get("layers", [])))
        if store.layout.has_blob(config):
            diff_ids.update(store.layout.read_json(config).get("rootfs", {}).get("diff_ids", []))
    return blobs, diff_ids


def collect(store, image) -> None:
    blobs, diff_ids = live_sets(store)
    own = {image.digest, image.id} | {layer.digest for layer in store.layers(image)}
    for digest in own - blobs:
        store.layout.blob_path(digest).unlink(missing_ok=True)
    for diff_id in set(image.diff_ids) - diff_ids:
        shutil.rmtree(store.layer_path(diff_id), ignore_errors=True)
        store.short_path(diff_id).unlink(missing_ok=True)


STALE_SECONDS = 3600


def sweep(directory, keep: set[str], removed: list[str], label: str) -> None:
    """Delete entries of ``directory`` not in ``keep``; temporary ones only once they are an hour old."""
    import time

    if not directory.is_dir():
        return
    for entry in os.scandir(directory):
        if entry.name.startswith("."):
            stale = time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
            if not stale or entry.name.endswith("lock"):
                continue
        elif "sha256:" + entry.name in keep:
            continue
        shutil.rmtree(entry.path, ignore_errors=True) if entry.is_dir(follow_symlinks=False) else os.unlink(entry.path)
        removed.append(f"{label}: {entry.name if entry.name.startswith('.') else 'sha256:' + entry.name}")


def prune(store) -> list[str]:
    """Delete unreachable blobs and layer directories (and crash leftovers); return what was deleted.

    Builds and loads hold ``.gc.lock`` shared while their new blobs are still unreferenced; prune takes it
    exclusively, so it never deletes a blob that is about to be named.
    """
    with store.layout.locked(".gc.lock"), store.layout.locked():
        blobs, diff_ids = live_sets(store)
        removed: list[str] = []
        sweep(store.layout.blobs, blobs, removed, "deleted")
        sweep(store.layers_root, diff_ids, removed, "deleted layer")
        sweep_scratch(store.root / "tmp", removed)
        sweep_links(store.root / "l")
    return removed


def prune_build_cache(store) -> list[str]:
    """Forget every build-cache entry (and the context memo), then sweep what only the cache kept alive."""
    cache = store.root / "cache"
    with store.layout.locked(".gc.lock"):
        entries = list(os.scandir(cache)) if cache.is_dir() else []
        for entry in entries:
            os.unlink(entry.path)
    count = len([e for e in entries if not e.name.startswith(".")])
    return [f"build cache entries deleted: {count}"] + prune(store)


def sweep_links(directory) -> None:
    """Short layer links whose layer is gone."""
    if directory.is_dir():
        for entry in os.scandir(directory):
            if not os.path.exists(entry.path):
                os.unlink(entry.path)


def sweep_scratch(directory, removed: list[str]) -> None:
    """Work directories a killed build or import left behind: old ones with nothing mounted inside."""
    import time

    if not directory.is_dir():
        return
    mounts = open("/proc/mounts").read()
    for entry in os.scandir(directory):
        old = time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
        if old and entry.path + "/" not in mounts:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(f"deleted leftover: {entry.name}")
