"""``portside up --docker-socket``: the node's own engine served as the Docker Engine API beside the cluster, so
``docker ps`` shows the pods' containers; off by default, gone with the cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.require import require
from support.wait import eventually

from tests.agent.conftest import engine_root, run_node

SOCKET_DIR = Path(f"/run/portside-upt-{os.getpid()}")
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"


def _docker(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER_HOST": f"unix://{SOCKET_DIR}/docker.sock", "DOCKER_CONFIG": str(SOCKET_DIR / "cfg")}
    return subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def node_with_socket(needs_root, tmp_path: Path, busybox_rootfs_tar: Path, monkeypatch):
    require("docker")
    root, settings = engine_root(tmp_path, busybox_rootfs_tar)
    try:
        yield from run_node(tmp_path, root, settings, monkeypatch,
                            extra=(f"--docker-socket=unix://{SOCKET_DIR}/docker.sock",))
    finally:
        shutil.rmtree(SOCKET_DIR, ignore_errors=True)


def test_up_serves_the_nodes_engine_on_the_docker_socket(node_with_socket) -> None:
    eventually(lambda: _docker("version").returncode == 0, 30, what="the Docker API on up's socket")
    info = _docker("info", "--format", "{{.DockerRootDir}} {{.Images}}").stdout.split()
    assert info == [str(node_with_socket.root), "1"]  # the node's engine root, with busybox imported
    node_with_socket.cluster.stop()
    assert not (SOCKET_DIR / "docker.sock").exists()  # the service ends with up and takes its socket along


@pytest.mark.parametrize(("value", "expected"), [
    ("tcp://127.0.0.1:2375", "expected unix:///PATH"),
    ("relative.sock", "expected unix:///PATH"),
])
def test_up_refuses_a_docker_socket_that_is_not_a_unix_path(tmp_path, value, expected) -> None:
    proc = subprocess.run([sys.executable, "-m", "portside", "up", "--data-dir", str(tmp_path / "d"),
                           f"--docker-socket={value}"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "--docker-socket" in proc.stderr and expected in proc.stderr, proc.stderr
    assert not (tmp_path / "d").exists()
