"""Interop with skopeo, an independent implementation of the distribution API, in both directions."""

import io
import json
import platform
import shutil
import subprocess

import pytest
from support.require import require

from portside.image.registry import pull, push, run
from portside.image.store import ImageStore

from .helpers import add_test_image, isolated_engine, portside, write_oci_dir

pytestmark = pytest.mark.integration


@pytest.fixture
def skopeo():
    require("skopeo")
    return shutil.which("skopeo")


def _skopeo(*args: str) -> str:
    proc = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_skopeo_reads_what_we_push(skopeo, registry, store, engine_root):
    name = f"{registry.host}/ours/app:v1"
    image = add_test_image(store, name, [{"a": b"1"}, {"b": b"2"}], cmd=["/bin/true"])
    digest = run(push(store, engine_root, name, io.StringIO(), insecure=True, tty=False))
    info = json.loads(_skopeo("inspect", "--tls-verify=false", f"docker://{name}"))
    assert info["Digest"] == digest == image.digest
    assert info["Layers"] == [layer.digest for layer in store.layers(image)]
    raw = _skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{name}")
    assert raw.encode() == store.layout.read_blob(image.digest)
    config = json.loads(_skopeo("inspect", "--config", "--tls-verify=false", f"docker://{name}"))
    assert config["config"]["Cmd"] == ["/bin/true"]


def _host_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def test_an_index_skopeo_copied_pulls_this_platform_and_runs(skopeo, registry, engine_root, tmp_path,
                                                            busybox_rootfs_tar, needs_root):
    other_arch = "s390x" if _host_arch() != "s390x" else "amd64"
    write_oci_dir(tmp_path / "oci", busybox_rootfs_tar.read_bytes(), [other_arch, _host_arch()], "v1")
    name = f"{registry.host}/theirs/busybox:multi"
    _skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'oci'}:v1", f"docker://{name}")

    store = ImageStore(engine_root / "image")
    result = run(pull(store, engine_root, name, io.StringIO(), insecure=True, tty=False))
    image = store.resolve(name)
    assert image.full_config["architecture"] == _host_arch()
    assert result.digest == image.digest
    with isolated_engine(engine_root):
        ran = portside(engine_root, "run", "--rm", "--network", "none", name, "/bin/echo", "pulled and running")
    assert (ran.returncode, ran.stdout) == (0, "pulled and running\n"), ran.stderr


def test_a_docker_schema2_image_with_gzip_layers_pulls_and_runs(skopeo, registry, engine_root, tmp_path,
                                                                busybox_rootfs_tar, needs_root):
    write_oci_dir(tmp_path / "oci", busybox_rootfs_tar.read_bytes(), [_host_arch()], "v1")
    name = f"{registry.host}/theirs/busybox:v2s2"
    _skopeo("copy", "--format", "v2s2", "--dest-tls-verify=false", f"oci:{tmp_path / 'oci'}:v1",
            f"docker://{name}")
    store = ImageStore(engine_root / "image")
    run(pull(store, engine_root, name, io.StringIO(), insecure=True, tty=False))
    image = store.resolve(name)
    manifest = json.loads(store.layout.read_blob(image.digest))
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["layers"][0]["mediaType"].endswith("tar.gzip")
    with isolated_engine(engine_root):
        ran = portside(engine_root, "run", "--rm", "--network", "none", name, "sh", "-c", "echo $((6 * 7))")
    assert (ran.returncode, ran.stdout) == (0, "42\n"), ran.stderr
    # And back out: our push of the pulled image keeps skopeo's manifest byte for byte.
    again = f"{registry.host}/ours/busybox:v2s2"
    store.tag(name, again)
    digest = run(push(store, engine_root, again, io.StringIO(), insecure=True, tty=False))
    assert digest == image.digest
    assert json.loads(_skopeo("inspect", "--tls-verify=false", f"docker://{again}"))["Digest"] == digest
