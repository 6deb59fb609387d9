"""The service's front door: the socket's owner and mode, version negotiation, docker's error shape."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from streamwire import request

pytestmark = pytest.mark.integration


def test_the_socket_is_roots_and_not_for_everyone(docker_api) -> None:
    info = os.stat(docker_api.socket)
    assert stat.S_ISSOCK(info.st_mode) and info.st_uid == 0
    assert stat.S_IMODE(info.st_mode) == 0o660


def test_ping_tells_the_api_version_and_a_client_negotiates_down_to_it(docker_api) -> None:
    status, headers, body = request(docker_api, "GET", "/_ping")
    assert (status, body) == (200, b"OK") and headers["api-version"] == "1.47" and headers["ostype"] == "linux"
    assert request(docker_api, "HEAD", "/_ping")[0] == 200
    assert docker_api.client().api_version == "1.47"  # docker-py's "auto" asks /version
    out = docker_api.docker("version", "--format", "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} "
                                                   "{{.Client.APIVersion}}").stdout.split()
    assert out == ["1.47", "1.41", "1.41"]  # Debian's client speaks 1.41: it keeps its own


def test_versions_outside_the_range_are_refused_with_dockers_words(docker_api) -> None:
    status, headers, body = request(docker_api, "GET", "/v1.40/version")
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["message"].startswith("client version 1.40 is too old. Minimum supported API version is 1.41")
    status, _, body = request(docker_api, "GET", "/v1.99/info")
    assert status == 400 and "Maximum supported API version is 1.47" in json.loads(body)["message"]
    assert request(docker_api, "GET", "/v1.41/version")[0] == 200 and request(docker_api, "GET", "/v1.47/info")[0] == 200


def test_an_unknown_path_is_a_404_in_dockers_shape(docker_api) -> None:
    status, headers, body = request(docker_api, "GET", "/v1.41/no/such/thing")
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


def _self_signed(directory) -> tuple[str, str]:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_a_tcp_listener_on_loopback_speaks_only_tls(tmp_path, docker_api) -> None:
    import ssl
    import urllib.error
    import urllib.request

    cert, key = _self_signed(tmp_path)
    port = docker_api.ps.free_port()
    service = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(tmp_path / "root"), "system",
                                "service", "--socket", f"unix://{tmp_path}/d.sock", "--tcp", f"tcp://127.0.0.1:{port}",
                                "--tlscert", cert, "--tlskey", key], stderr=subprocess.PIPE, text=True)
    try:
        assert "serving the Docker API" in service.stderr.readline()
        context = ssl.create_default_context(cafile=cert)
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/_ping", context=context, timeout=10) as answer:
            assert answer.read() == b"OK" and answer.headers["API-Version"] == "1.47"
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_ping", timeout=5).read()  # plain HTTP gets nothing
        proc = docker_api.docker("-H", f"tcp://127.0.0.1:{port}", "--tls", "--tlscacert", cert, "version",
                                 "--format", "{{.Server.APIVersion}}")
        assert proc.stdout.strip() == "1.47"
    finally:
        service.terminate()
        service.wait(15)
    assert not (tmp_path / "d.sock").exists()
