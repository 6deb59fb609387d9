"""Shared pieces of the registry tests: starting Debian's docker-registry, and making small test images."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import signal
import socket
import subprocess
from collections.abc import Iterator

import yaml
from leftovers import remove_cgroup_parent
from support.net import free_port
from support.wait import eventually

USER, PASSWORD = "tester", "s3cret-pass"
START_TIMEOUT_S = 15


@dataclasses.dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    storage: pathlib.Path
    proc: subprocess.Popen

    def blob_data(self, digest: str) -> pathlib.Path:
        """Where the filesystem driver keeps a blob's bytes (used to corrupt one on purpose)."""
        hexd = digest.removeprefix("sha256:")
        return self.storage / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"


def _config(base: pathlib.Path, port: int, auth: dict | None) -> dict:
    config = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(base / "data")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "portside-test-secret"},
    }
    if auth:
        config["auth"] = auth
    return config


def _wait_listening(proc: subprocess.Popen, port: int, log: pathlib.Path) -> None:
    def listening() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited {proc.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    eventually(listening, START_TIMEOUT_S, what=f"docker-registry to listen on {port}")


def start_registry(base: pathlib.Path, auth: dict | None = None) -> Registry:
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = base / "config.yml"
    config.write_text(yaml.safe_dump(_config(base, port, auth)))
    log = base / "registry.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=out, stderr=out,
                                start_new_session=True)
    try:
        _wait_listening(proc, port, log)
    except BaseException:
        stop_registry(proc)
        raise
    return Registry(f"127.0.0.1:{port}", base / "data", proc)


def stop_registry(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


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
