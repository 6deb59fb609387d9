"""Shared pieces of the registry tests: starting Debian's docker-registry, and making small test images."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time

import yaml

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited {proc.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"docker-registry did not listen on {port} within {START_TIMEOUT_S}s")


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

