"""The service's front door: the socket's owner and mode, version negotiation, docker's error shape."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def _get(api, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(api.socket))
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_the_socket_is_roots_and_not_for_everyone(docker_api) -> None:
    info = os.stat(docker_api.socket)
    assert stat.S_ISSOCK(info.st_mode) and info.st_uid == 0
    assert stat.S_IMODE(info.st_mode) == 0o660


def test_ping_tells_the_api_version_and_a_client_negotiates_down_to_it(docker_api) -> None:
    status, headers, body = _get(docker_api, "/_ping")
    assert (status, body) == (200, b"OK") and headers["api-version"] == "1.47" and headers["ostype"] == "linux"
    assert _get(docker_api, "/_ping", "HEAD")[0] == 200
    assert docker_api.client().api_version == "1.47"  # docker-py's "auto" asks /version
    out = docker_api.docker("version", "--format", "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} "
                                                   "{{.Client.APIVersion}}").stdout.split()
    assert out == ["1.47", "1.41", "1.41"]  # Debian's client speaks 1.41: it keeps its own


def test_versions_outside_the_range_are_refused_with_dockers_words(docker_api) -> None:
    status, headers, body = _get(docker_api, "/v1.40/version")
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["message"].startswith("client version 1.40 is too old. Minimum supported API version is 1.41")
    status, _, body = _get(docker_api, "/v1.99/info")
    assert status == 400 and "Maximum supported API version is 1.47" in json.loads(body)["message"]
    assert _get(docker_api, "/v1.41/version")[0] == 200 and _get(docker_api, "/v1.47/info")[0] == 200


def test_an_unknown_path_is_a_404_in_dockers_shape(docker_api) -> None:
    status, headers, body = _get(docker_api, "/v1.41/no/such/thing")
    assert status == 404 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"message": "page not found"}


def test_info_counts_what_the_engine_has(docker_api) -> None:
    info = docker_api.client().info()
    assert info["Images"] >= 1 and info["OSType"] == "linux" and info["DockerRootDir"] == str(docker_api.ps.root)
    assert info["Containers"] == info["ContainersRunning"] + info["ContainersPaused"] + info["ContainersStopped"]


@pytest.mark.parametrize(("flags", "expected"), [
    (["--tcp", "tcp://0.0.0.0:2376", "--tlscert", "c", "--tlskey", "k"], "only on a loopback address"),
    (["--tcp", "tcp://127.0.0.1:2376"], "needs --tlscert and --tlskey"),
    (["--tlscert", "c"], "apply to --tcp, which was not given"),
    (["--socket", "http://x"], "expected unix:///PATH"),
    (["--tcp", "127.0.0.1:2376"], "expected tcp://127.0.0.1:PORT"),
])
def test_service_refuses_unsafe_or_malformed_listeners(tmp_path, flags, expected) -> None:
    proc = subprocess.run([sys.executable, "-m", "portside", "--root", str(tmp_path), "system", "service", *flags],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 125 and expected in proc.stderr, proc.stderr
