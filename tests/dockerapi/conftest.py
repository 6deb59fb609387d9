"""A real ``portside system service`` on a socket of its own, over an engine root of its own (``engineroot``),
with busybox imported; the docker CLI (Debian's) and docker-py as its clients.

One service per test module: each test names what it creates uniquely and removes it; the module's end checks
that nothing (container, cgroup, mount, netns, process) is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.engineroot import Portside, cleanup, make_root
from support.require import require

# Debian's docker.io client, whatever other docker is first on PATH: the acceptance criteria name this one
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "docker")


@dataclass
class DockerApi:
    ps: Portside
    socket: Path
    process: subprocess.Popen
    config_dir: Path
    log: Path
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        """The docker CLI's environment: this socket, a config of its own (no user's credentials or contexts),
        the classic builder (which is what the Engine API's /build serves)."""
        return {**os.environ, "DOCKER_HOST": self.url, "DOCKER_CONFIG": str(self.config_dir),
                "DOCKER_BUILDKIT": "0", "DOCKER_CLI_HINTS": "false"}

    def docker(self, *args: str, check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        proc = subprocess.run([DOCKER, *args], env=self.env, timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}: {proc.stderr}\n"
                                 f"service log:\n{self.log_tail()}")
        return proc

    def client(self, version: str = "auto", timeout: int = 60):
        """docker-py's low-level client on this socket."""
        import docker

        return docker.APIClient(base_url=self.url, version=version, timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(f"system service did not stop within 15 s on SIGTERM:\n{self.log_tail()}") from None


def start_service(ps: Portside, run_dir: Path) -> DockerApi:
    socket = run_dir / "docker.sock"
    config_dir = run_dir / "docker-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "service.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(ps.root), "system", "service",
                                    "--socket", f"unix://{socket}"], stdout=out, stderr=subprocess.STDOUT)
    api = DockerApi(ps, socket, process, config_dir, log)
    deadline = time.monotonic() + 30
    while not _answers(socket):
        if process.poll() is not None or time.monotonic() > deadline:
            api.stop() if process.poll() is None else None
            raise AssertionError(f"system service did not come up:\n{api.log_tail()}")
        time.sleep(0.05)
    return api


def _answers(path: Path) -> bool:
    import socket as sockets

    if not path.exists():
        return False
    with sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.")
        except OSError:
            return False


@pytest.fixture(scope="module")
def docker_api(tmp_path_factory: pytest.TempPathFactory, busybox_rootfs_tar: Path):
    require("root", "runc", "docker")
    base = tmp_path_factory.mktemp("dockerapi")
    ps = make_root(base, busybox_rootfs_tar)
    run_dir = Path(f"/run/portside-test-{os.urandom(3).hex()}")  # short: a unix socket's path has 107 bytes
    run_dir.mkdir(parents=True)
    try:
        api = start_service(ps, run_dir)
        try:
            yield api
        finally:
            api.stop()
        assert "Traceback" not in api.log.read_text(errors="replace"), api.log_tail(80)
    finally:
        cleanup(ps)
        shutil.rmtree(run_dir, ignore_errors=True)
