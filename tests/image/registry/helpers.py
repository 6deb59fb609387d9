"""Shared pieces of the registry tests: making small test images, running the real ``portside`` (the registry
itself comes from ``support.registry``)."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
from collections.abc import Iterator

from leftovers import remove_cgroup_parent
from support.registry import PASSWORD, USER, Registry, start_registry, stop_registry  # noqa: F401 - re-exported


def layer_tar(files: dict[str, bytes]) -> bytes:
    """A deterministic layer: regular files (and their directories), fixed owners and times."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = sorted({str(pathlib.PurePosixPath(n).parent) for n in files} - {"."})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1
            tar.addfile(info)
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def add_test_image(store, name: str, layers: list[dict[str, bytes]], cmd: list[str] | None = None):
    """Put an image with the given layers into ``store`` under ``name``, through the store's public calls."""
    from portside.image.layout import LAYER_TAR
    from portside.image.store import LayerRef

    refs = []
    for files in layers:
        digest, size = store.layout.write_blob(layer_tar(files))
        refs.append(LayerRef(digest, LAYER_TAR, size, digest))
    config = {"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
              "config": {"Cmd": cmd or ["/bin/sh"], "Env": ["PATH=/bin"]},
              "rootfs": {"type": "layers", "diff_ids": [r.diff_id for r in refs]}}
    return store.add_image(config, refs, names=[name])



def write_oci_dir(dest: pathlib.Path, layer: bytes, arches: list[str], ref: str) -> None:
    """An OCI image layout written by hand (not by portside): one layer; an index when several platforms."""
    import hashlib

    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes, media_type: str, **extra) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data), **extra}

    layer_desc = put(layer, "application/vnd.oci.image.layer.v1.tar")
    manifests = []
    for arch in arches:
        config = {"architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]}}
        config_desc = put(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config_desc, "layers": [layer_desc]}
        manifests.append(put(json.dumps(manifest).encode(), manifest["mediaType"],
                             platform={"architecture": arch, "os": "linux"}))
    top = manifests[0]
    if len(manifests) > 1:
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
        top = put(json.dumps(index).encode(), index["mediaType"])
    top = {k: v for k, v in top.items() if k != "platform"}
    top["annotations"] = {"org.opencontainers.image.ref.name": ref}
    (dest / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (dest / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))


def portside(root: pathlib.Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real ``portside`` command on an engine root."""
    import sys

    return subprocess.run([sys.executable, "-m", "portside", "--root", str(root), *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@contextlib.contextmanager
def isolated_engine(root: pathlib.Path) -> Iterator[None]:
    """Give an engine root its own bridge, subnet and cgroup parent (``engine.json``) so containers run in
    parallel tests never meet; afterwards remove every container, the bridge and the cgroup parent."""
    import random

    tag = os.urandom(3).hex()
    parent = f"portside-test-{tag}"
    settings = {"bridge": f"psg{tag}", "subnet": f"10.{random.randint(100, 127)}.{random.randint(0, 255)}.0/24",
                "cgroup_parent": parent}
    root.mkdir(parents=True, exist_ok=True)
    (root / "engine.json").write_text(json.dumps(settings))
    try:
        yield
    finally:
        _teardown_engine(root, parent)


def _teardown_engine(root: pathlib.Path, cgroup_parent: str) -> None:
    from portside.engine import Engine

    ids = portside(root, "ps", "-aq", "--no-trunc").stdout.split()
    if ids:
        portside(root, "rm", "-f", *ids)
    Engine(root).network.teardown()
    remove_cgroup_parent(cgroup_parent)
