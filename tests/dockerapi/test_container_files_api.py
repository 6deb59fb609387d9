"""A container's files and processes through the Docker API: ``docker cp`` both ways (files, directories, tars on
stdin and stdout) on running and stopped containers, ``docker diff``, ``docker export``, ``docker top``, and
docker-py's ``get_archive``, ``put_archive`` and ``top``; the path stat header and the errors in docker's words."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import tarfile

import pytest
from streamwire import request

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def box(docker_api) -> str:
    """A running container with a few files of its own (a directory, a symlink, a deleted image file)."""
    name = "files-box"
    docker_api.ps("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "300")
    docker_api.ps("exec", name, "sh", "-c", "mkdir -p /data/sub && echo one > /data/one && echo two > "
                  "/data/sub/two && ln -s /data/one /data/link && rm /etc/group")
    yield name
    docker_api.ps("rm", "-f", name)


@pytest.fixture
def stopped(docker_api) -> str:
    name = f"files-stopped-{os.urandom(2).hex()}"
    docker_api.ps("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c", "echo kept > /kept")
    docker_api.ps("wait", name)
    yield name
    docker_api.ps("rm", "-f", name)


def _tar(files: dict[str, bytes], compression: str = "") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=f"w:{compression}" if compression else "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_docker_cp_out_of_a_container_a_file_a_directory_its_contents_and_a_tar(docker_api, box, tmp_path) -> None:
    docker_api.docker("cp", f"{box}:/data/one", str(tmp_path / "one.txt"))
    assert (tmp_path / "one.txt").read_text() == "one\n"
    docker_api.docker("cp", f"{box}:/data", str(tmp_path))
    assert (tmp_path / "data/sub/two").read_text() == "two\n"
    assert os.readlink(tmp_path / "data/link") == "/data/one"  # the link itself, not what it points to
    docker_api.docker("cp", f"{box}:/data/sub/.", str(tmp_path / "contents"))
    assert sorted(os.listdir(tmp_path / "contents")) == ["two"]
    raw = docker_api.docker("cp", f"{box}:data/sub", "-", text=False).stdout  # relative: from the root, as docker
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        assert sorted(tar.getnames()) == ["sub", "sub/two"]
        assert tar.extractfile("sub/two").read() == b"two\n"


def test_docker_cp_into_a_container_a_file_a_directory_and_a_tar_from_stdin(docker_api, box, tmp_path) -> None:
    (tmp_path / "tree/inner").mkdir(parents=True)
    (tmp_path / "tree/inner/leaf").write_text("leaf\n")
    (tmp_path / "note").write_text("note\n")
    docker_api.docker("cp", str(tmp_path / "tree"), f"{box}:/tmp/")
    docker_api.docker("cp", str(tmp_path / "note"), f"{box}:/tmp/renamed")
    docker_api.docker("cp", "-", f"{box}:/tmp", input=_tar({"piped/x": b"from stdin\n"}), text=False)
    out = docker_api.ps("exec", box, "cat", "/tmp/tree/inner/leaf", "/tmp/renamed", "/tmp/piped/x").stdout
    assert out == "leaf\nnote\nfrom stdin\n"


def test_docker_cp_works_on_a_stopped_container_and_leaves_no_mount(docker_api, stopped, tmp_path) -> None:
    docker_api.docker("cp", f"{stopped}:/kept", str(tmp_path / "kept"))
    assert (tmp_path / "kept").read_text() == "kept\n"
    (tmp_path / "added").write_text("added while stopped\n")
    docker_api.docker("cp", str(tmp_path / "added"), f"{stopped}:/")
    cid = docker_api.ps.inspect(stopped)["Id"]
    with open("/proc/self/mountinfo") as f:
        assert f"/containers/{cid}/" not in f.read()  # the stopped container's overlay was the view's alone
    docker_api.ps("start", stopped)
    docker_api.ps("wait", stopped)
    docker_api.docker("cp", f"{stopped}:/added", str(tmp_path / "back"))
    assert (tmp_path / "back").read_text() == "added while stopped\n"


def test_the_path_stat_header_is_dockers(docker_api, box) -> None:
    status, headers, body = request(docker_api, "HEAD", f"/v1.41/containers/{box}/archive?path=/data")
    assert status == 200 and body == b""
    found = json.loads(base64.b64decode(headers["x-docker-container-path-stat"]))
    assert sorted(found) == ["linkTarget", "mode", "mtime", "name", "size"]
    assert found["name"] == "data" and found["mode"] == (1 << 31) | 0o755 and found["linkTarget"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?(Z|[+-]\d\d:\d\d)", found["mtime"])  # Go's
    link = docker_api.client().get_archive(box, "/data/link")[1]
    assert link["mode"] == (1 << 27) | 0o777 and link["linkTarget"] == "/data/one" and link["name"] == "link"


def test_docker_py_get_archive_and_put_archive_round_trip(docker_api, box) -> None:
    client = docker_api.client()
    assert client.put_archive(box, "/tmp", _tar({"py/a.txt": b"alpha"}, "gz")) is True  # compressed, as docker
    chunks, found = client.get_archive(box, "/tmp/py")
    assert found["name"] == "py" and found["mode"] & (1 << 31)
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        assert tar.extractfile("py/a.txt").read() == b"alpha"


def test_archive_errors_are_dockers(docker_api, box) -> None:
    proc = docker_api.docker("cp", f"{box}:/nope", "/tmp/never", check=False)
    assert proc.returncode == 1 and f"No such container:path: {box}:/nope" in proc.stderr
    status, headers, body = request(docker_api, "GET", f"/v1.41/containers/{box}/archive?path=/nope")
    assert (status, headers["content-type"]) == (404, "application/json")
    assert json.loads(body) == {"message": f"Could not find the file /nope in container {box}"}
    status, _, body = request(docker_api, "GET", f"/v1.41/containers/{box}/archive")
    assert status == 400 and json.loads(body)["message"] == "bad parameter: path cannot be empty"
    status, _, body = request(docker_api, "PUT", f"/v1.41/containers/{box}/archive?path=/data/one", _tar({"x": b"x"}))
    assert status == 400 and json.loads(body)["message"] == "extraction point is not a directory"
    status, _, body = request(docker_api, "PUT", f"/v1.41/containers/{box}/archive?path=/tmp", _tar({"../escape": b"x"}))
    assert status == 400 and "'../escape'" in json.loads(body)["message"]
    status, _, body = request(docker_api, "GET", "/v1.41/containers/no-such-box/archive?path=/")
    assert status == 404
    assert request(docker_api, "PUT", f"/v1.41/containers/{box}/archive?path=/tmp")[0] == 200  # empty: nothing to do


def test_put_archive_refuses_to_replace_a_directory_with_a_file_when_asked(docker_api, box) -> None:
    query = f"/v1.41/containers/{box}/archive?path=/data&noOverwriteDirNonDir=1"
    status, _, body = request(docker_api, "PUT", query, _tar({"sub": b"not a directory"}))
    assert status == 400 and json.loads(body)["message"] == \
        'cannot overwrite directory "/data/sub" with non-directory "data/sub"'
    assert docker_api.ps("exec", box, "cat", "/data/sub/two").stdout == "two\n"


def test_docker_diff_lists_changes_with_docker_letters(docker_api, box) -> None:
    name = f"diff-{os.urandom(2).hex()}"
    docker_api.ps("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "300")
    try:
        assert docker_api.docker("diff", name).stdout == ""  # the runtime's mount points are no changes
        assert docker_api.client().diff(name) is None  # dockerd's null
        docker_api.ps("exec", name, "sh", "-c", "echo x > /tmp/new && rm /etc/group && echo y >> /etc/passwd")
        assert docker_api.docker("diff", name).stdout.splitlines() == \
            ["C /etc", "D /etc/group", "C /etc/passwd", "C /tmp", "A /tmp/new"]
        assert docker_api.client().diff(name)[1] == {"Path": "/etc/group", "Kind": 2}
    finally:
        docker_api.ps("rm", "-f", name)


def test_docker_export_streams_the_root_filesystem_running_or_stopped(docker_api, box, stopped) -> None:
    for name, own in ((box, "data/one"), (stopped, "kept")):
        proc = subprocess.run(["sh", "-c", f"/usr/bin/docker export {name} | tar t"], env=docker_api.env,
                              capture_output=True, text=True, timeout=60)
        names = proc.stdout.splitlines()
        assert proc.returncode == 0 and "bin/busybox" in names and own in names, proc.stderr
        assert ("etc/group" in names) == (name == stopped)  # the running box deleted it


def test_docker_top_lists_the_containers_processes(docker_api, box) -> None:
    out = docker_api.docker("top", box).stdout.splitlines()
    assert out[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert len(out) == 2 and out[1].split()[-2:] == ["sleep", "300"]
    found = docker_api.client().top(box, ps_args="-o pid,comm")
    assert found["Titles"] == ["PID", "COMMAND"] and [p[1] for p in found["Processes"]] == ["sleep"]


def test_top_of_a_stopped_container_is_a_conflict_and_bad_ps_args_are_refused(docker_api, box, stopped) -> None:
    status, _, body = request(docker_api, "GET", f"/v1.41/containers/{stopped}/top")
    cid = docker_api.ps.inspect(stopped)["Id"]
    assert status == 409 and json.loads(body) == {"message": f"Container {cid} is not running"}
    status, _, body = request(docker_api, "GET", f"/v1.41/containers/{box}/top?ps_args=-o%20user=PID")
    assert status == 400 and json.loads(body) == {"message": 'specifying "user=PID" is not allowed'}
