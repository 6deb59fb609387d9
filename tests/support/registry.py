"""A real registry: Debian's ``docker-registry`` (distribution 2.8) on 127.0.0.1 and a free port, with a config
and storage of its own (the packaged default listens on every address with htpasswd, which tests must never use).

Without auth, or with htpasswd (basic) auth for ``USER``/``PASSWORD``; the process is stopped by the caller
(``stop_registry``), in a ``finally``.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import signal
import socket
import subprocess

import yaml

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



def htpasswd_auth(base: pathlib.Path, user: str = USER, password: str = PASSWORD) -> dict:
    """The config's ``auth`` section for basic auth; the bcrypt entry comes from apache2-utils' ``htpasswd -B``."""
    entry = subprocess.run(["htpasswd", "-B", "-n", "-b", user, password], check=True, capture_output=True,
                           text=True).stdout.strip()
    base.mkdir(parents=True, exist_ok=True)
    path = base / "htpasswd"
    path.write_text(entry + "\n")
    return {"htpasswd": {"realm": "portside-test", "path": str(path)}}
