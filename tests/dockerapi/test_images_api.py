"""The image endpoints through Debian's docker CLI and docker-py: list, inspect, history, tag, rmi, save and load,
import, prune, and push and pull against a real registry (Debian's docker-registry) on loopback."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from support.registry import PASSWORD, USER, htpasswd_auth, start_registry, stop_registry
from support.require import require

pytestmark = pytest.mark.integration
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "docker")


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(3).hex()}"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    require("docker-registry")
    started = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        yield started
    finally:
        stop_registry(started.proc)


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory):
    require("docker-registry", "htpasswd")
    base = tmp_path_factory.mktemp("auth-registry")
    started = start_registry(base, htpasswd_auth(base))
    try:
        yield started
    finally:
        stop_registry(started.proc)


def test_images_lists_with_dockers_columns_and_inspect_has_dockers_shape(docker_api) -> None:
    table = docker_api.docker("images").stdout.splitlines()
    assert re.split(r"\s{2,}", table[0].strip()) == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    busybox = next(line.split() for line in table[1:] if line.startswith("busybox "))
    assert busybox[1] == "latest" and re.fullmatch(r"[0-9a-f]{12}", busybox[2]) and busybox[-1].endswith("MB")
    [doc] = json.loads(docker_api.docker("image", "inspect", "busybox").stdout)
    assert doc["Id"] == "sha256:" + docker_api.client().inspect_image("busybox")["Id"].removeprefix("sha256:")
    assert doc["Id"].removeprefix("sha256:").startswith(busybox[2])
    assert {"Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Config", "Architecture", "Os",
            "Size", "VirtualSize", "RootFS", "Metadata", "GraphDriver"} <= set(doc)
    assert doc["RepoTags"] == ["busybox:latest"] and doc["Os"] == "linux" and doc["RootFS"]["Type"] == "layers"
    assert doc["Config"]["Env"][0].startswith("PATH=") and doc["Config"]["Entrypoint"] is None
    listed = docker_api.client().images(name="busybox")
    assert listed == [{"Containers": -1, "Created": listed[0]["Created"], "Id": doc["Id"], "Labels": None,
                       "ParentId": "", "RepoDigests": None, "RepoTags": ["busybox:latest"], "SharedSize": -1,
                       "Size": doc["Size"], "VirtualSize": doc["Size"]}]
    assert docker_api.docker("images", "-q", "busybox").stdout.strip() == busybox[2]


def test_history_shows_how_the_image_was_made(docker_api) -> None:
    lines = docker_api.docker("history", "busybox").stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    assert "portside import" in lines[1] and len(lines) == 2
    [entry] = docker_api.client().history("busybox")
    assert set(entry) == {"Id", "Created", "CreatedBy", "Tags", "Size", "Comment"}
    assert entry["Tags"] == ["busybox:latest"] and entry["Size"] > 0 and isinstance(entry["Created"], int)


def test_tag_and_rmi_untag_then_delete(docker_api) -> None:
    name = unique("tagged")
    docker_api.docker("tag", "busybox", f"{name}/bb:1")
    docker_api.docker("tag", "busybox", f"{name}/bb:2")
    tags = docker_api.docker("images", "--format", "{{.Repository}}:{{.Tag}}", f"{name}/bb").stdout.split()
    assert sorted(tags) == [f"{name}/bb:1", f"{name}/bb:2"]
    assert docker_api.docker("rmi", f"{name}/bb:1", f"{name}/bb:2").stdout == f"Untagged: {name}/bb:1\nUntagged: {name}/bb:2\n"
    assert docker_api.docker("images", "-q", f"{name}/bb").stdout == ""
    client = docker_api.client()
    client.tag("busybox", f"{name}/solo", "v1")
    image_id = client.inspect_image("busybox")["Id"]
    # by id, an image with several names needs force, as docker says
    refused = docker_api.docker("rmi", image_id[7:19], check=False)
    assert refused.returncode == 1
    assert "conflict: unable to delete" in refused.stderr and "referenced in multiple repositories" in refused.stderr
    assert client.remove_image(f"{name}/solo:v1") == [{"Untagged": f"{name}/solo:v1"}]


def test_missing_images_are_404_and_an_image_in_use_409(docker_api) -> None:
    import docker

    client = docker_api.client()
    with pytest.raises(docker.errors.ImageNotFound) as missing:
        client.inspect_image("no-such-image:1")
    assert missing.value.status_code == 404 and "no-such-image" in str(missing.value)
    with pytest.raises(docker.errors.NotFound):
        client.remove_image("no-such-image:1")
    gone = docker_api.docker("rmi", "no-such-image:1", check=False)
    assert gone.returncode == 1 and "no such image: no-such-image:1" in gone.stderr.lower()

    name = unique("inuse")
    docker_api.docker("tag", "busybox", f"{name}:1")
    cid = docker_api.ps("create", "--network", "none", "--name", name, f"{name}:1", "true").stdout.strip()
    try:
        with pytest.raises(docker.errors.APIError) as conflict:
            client.remove_image(f"{name}:1")
        image = client.inspect_image(f"{name}:1")["Id"][7:19]
        assert conflict.value.status_code == 409
        assert conflict.value.explanation == (f'conflict: unable to remove repository reference "{name}:1" (must '
                                              f"force) - container {cid[:12]} is using its referenced image {image}")
        # forced, the name goes and the image stays for the container
        assert client.remove_image(f"{name}:1", force=True) == [{"Untagged": f"{name}:1"}]
    finally:
        docker_api.ps("rm", "-f", cid)


def test_save_piped_into_load_brings_the_images_back(docker_api, tmp_path) -> None:
    name = unique("saved")
    docker_api.docker("tag", "busybox", f"{name}:1")
    docker_api.docker("tag", "busybox", f"{name}:2")
    archive = tmp_path / "images.tar"
    docker_api.docker("save", "-o", str(archive), f"{name}:1", f"{name}:2")
    docker_api.docker("rmi", f"{name}:1", f"{name}:2")
    piped = subprocess.run(f"{DOCKER} load < {archive}", shell=True, env=docker_api.env,
                           capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.splitlines() == [f"Loaded image: {name}:1", f"Loaded image: {name}:2"]
    # save to stdout, through a pipe into load
    docker_api.docker("rmi", f"{name}:2")
    piped = subprocess.run(f"{DOCKER} save {name}:1 | {DOCKER} load", shell=True,
                           env=docker_api.env, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout == f"Loaded image: {name}:1\n", piped.stderr
    with tarfile_of(archive) as tar:
        assert "manifest.json" in tar.getnames()
    docker_api.docker("rmi", f"{name}:1")
    import docker

    with pytest.raises(docker.errors.ImageLoadError) as bad:  # dockerd's way: a 200, the error in the stream
        docker.DockerClient(base_url=docker_api.url).images.load(b"not an archive")
    assert "images.tar: it is not a tar archive" in str(bad.value)


def tarfile_of(path):
    import tarfile

    return tarfile.open(path)


def test_import_and_prune_of_dangling_images(docker_api, busybox_rootfs_tar) -> None:
    name = unique("imported")
    out = docker_api.docker("import", "--message", "from a test", str(busybox_rootfs_tar), f"{name}:1").stdout
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", out)
    [entry] = docker_api.client().history(f"{name}:1")
    assert entry["Comment"] == "from a test" == docker_api.client().inspect_image(f"{name}:1")["Comment"]
    changed = docker_api.docker("import", "--change", 'CMD ["echo", "hi"]', "--change", "ENV MODE=test",
                                "--change", "WORKDIR /srv", str(busybox_rootfs_tar), f"{name}:2").stdout.strip()
    config = docker_api.client().inspect_image(changed)["Config"]
    assert config["Cmd"] == ["echo", "hi"] and "MODE=test" in config["Env"] and config["WorkingDir"] == "/srv"
    refused = docker_api.docker("import", "--change", "RUN rm -rf /", str(busybox_rootfs_tar), check=False)
    assert refused.returncode == 1 and "changes: change 1: RUN cannot be applied on import" in refused.stderr
    docker_api.docker("rmi", f"{name}:2")
    dangling = docker_api.docker("import", str(busybox_rootfs_tar)).stdout.strip()
    listed = docker_api.client().images(filters={"dangling": True})
    assert [i["Id"] for i in listed] == [dangling] and listed[0]["RepoTags"] == ["<none>:<none>"]
    pruned = docker_api.docker("image", "prune", "-f").stdout
    assert pruned.startswith(f"Deleted Images:\ndeleted: {dangling}\n") and "Total reclaimed space:" in pruned
    assert docker_api.client().images(filters={"dangling": True}) == []
    assert docker_api.client().images(filters={"reference": f"{name}*"})[0]["RepoTags"] == [f"{name}:1"]
    docker_api.docker("rmi", f"{name}:1")


def test_push_and_pull_through_a_registry_on_loopback(docker_api, registry) -> None:
    name = f"{registry.host}/{unique('pushed')}"
    docker_api.docker("tag", "busybox", f"{name}:v1")
    pushed = docker_api.docker("push", f"{name}:v1").stdout.splitlines()
    assert pushed[0] == f"The push refers to repository [{name}]"
    digest = re.fullmatch(r"v1: digest: (sha256:[0-9a-f]{64}) size: (\d+)", pushed[-1]).group(1)
    assert any(line.endswith(": Pushed") for line in pushed)
    assert f"{name}@{digest}" in docker_api.client().inspect_image(f"{name}:v1")["RepoDigests"]
    docker_api.docker("rmi", f"{name}:v1")
    pulled = docker_api.docker("pull", f"{name}:v1").stdout.splitlines()
    assert pulled[0] == f"v1: Pulling from {name.split('/', 1)[1]}"
    assert pulled[-3:] == [f"Digest: {digest}", f"Status: Downloaded newer image for {name}:v1", f"{name}:v1"]
    again = docker_api.docker("pull", f"{name}:v1").stdout.splitlines()
    assert again[-2] == f"Status: Image is up to date for {name}:v1"
    digests = docker_api.docker("images", "--digests", "--format", "{{.Repository}} {{.Digest}}", name).stdout
    assert digests == f"{name} {digest}\n"
    docker_api.docker("tag", f"{name}:v1", f"{name}:v2")
    every = docker_api.docker("push", "--all-tags", name).stdout.splitlines()  # no tag: each of the repository's
    assert [line.split(":")[0] for line in every if ": digest: " in line] == ["v1", "v2"]
    docker_api.docker("rmi", f"{name}:v1", f"{name}:v2")


def test_docker_py_push_and_pull_report_progress_and_errors(docker_api, registry) -> None:
    import docker

    client = docker_api.client()
    name = f"{registry.host}/{unique('py')}"
    client.tag("busybox", name, "t1")
    events = list(client.push(name, "t1", stream=True, decode=True))
    aux = [e["aux"] for e in events if "aux" in e]
    assert aux and aux[0]["Tag"] == "t1" and aux[0]["Digest"].startswith("sha256:") and aux[0]["Size"] > 0
    assert not [e for e in events if "error" in e]
    client.remove_image(f"{name}:t1")
    model = docker.DockerClient(base_url=docker_api.url).images.pull(name, tag="t1")
    assert f"{name}:t1" in model.tags and f"{name}@{aux[0]['Digest']}" in model.attrs["RepoDigests"]
    with pytest.raises(docker.errors.NotFound) as missing:
        client.pull(f"{registry.host}/never-pushed", "t1")
    assert "manifest unknown" in str(missing.value)
    client.remove_image(f"{name}:t1")


def test_credentials_come_from_x_registry_auth(docker_api, auth_registry) -> None:
    import docker

    client = docker_api.client()
    name = f"{auth_registry.host}/{unique('secret')}"
    client.tag("busybox", name, "s1")
    refused = list(client.push(name, "s1", stream=True, decode=True))
    assert "authentication required" in refused[-1]["error"]
    events = list(client.push(name, "s1", stream=True, decode=True,
                              auth_config={"username": USER, "password": PASSWORD}))
    assert [e for e in events if "aux" in e] and not [e for e in events if "error" in e]
    client.remove_image(f"{name}:s1")
    with pytest.raises(docker.errors.APIError):
        client.pull(name, "s1")
    client.pull(name, "s1", auth_config={"username": USER, "password": PASSWORD})
    assert f"{name}:s1" in client.inspect_image(f"{name}:s1")["RepoTags"]
    client.remove_image(f"{name}:s1")


def test_a_build_pulls_its_base_with_the_logins_of_x_registry_config(docker_api, auth_registry) -> None:
    import base64
    import io
    import tarfile

    client = docker_api.client()
    base = f"{auth_registry.host}/{unique('base')}:b1"
    client.tag("busybox", base)
    logins = {"username": USER, "password": PASSWORD}
    assert not [e for e in client.push(base, stream=True, decode=True, auth_config=logins) if "error" in e]
    client.remove_image(base)
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = f"FROM {base}\nRUN echo built on the pulled base\n".encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))

    def build(headers: dict) -> list[dict]:
        response = client._post(client._url("/build"), data=context.getvalue(), stream=True,
                                headers={"Content-Type": "application/x-tar", **headers})
        assert response.status_code == 200
        return [json.loads(line) for line in response.iter_lines() if line]

    assert "authentication required" in build({})[-1]["error"]
    config = base64.urlsafe_b64encode(json.dumps({auth_registry.host: logins}).encode()).decode()
    messages = build({"X-Registry-Config": config})
    assert {"stream": "built on the pulled base\n"} in messages and not [m for m in messages if "error" in m]
    client.remove_image(next(m["aux"]["ID"] for m in messages if "aux" in m))
    client.remove_image(base)


def test_search_says_it_is_not_supported(docker_api) -> None:
    searched = docker_api.docker("search", "busybox", check=False)
    assert searched.returncode == 1 and "image search is not supported" in searched.stderr
    assert docker_api.client().images(name="busybox")  # nothing else was disturbed


def test_commit_makes_an_image_of_a_containers_changes(docker_api) -> None:
    import docker

    name = unique("committed")
    docker_api.ps("run", "--name", name, "--network", "none", "-e", "FROM_RUN=1", "busybox", "sh", "-c",
                  "echo data > /made && rm /etc/group")
    try:
        out = docker_api.docker("commit", "-m", "a message", "-a", "tests", "-c", 'CMD ["cat", "/made"]', name,
                                f"{name}:1").stdout
        image = docker_api.client().inspect_image(f"{name}:1")
        assert out == image["Id"] + "\n" and image["Author"] == "tests" and image["Comment"] == "a message"
        assert image["Config"]["Cmd"] == ["cat", "/made"] and "FROM_RUN=1" in image["Config"]["Env"]
        assert len(image["RootFS"]["Layers"]) == 2
        container = docker_api.client().inspect_container(name)
        base = docker_api.client().inspect_image("busybox")
        # what it was committed from, as dockerd tells it: the container, its config, the image it ran
        assert image["Container"] == container["Id"] and image["Parent"] == base["Id"]
        assert image["ContainerConfig"]["Image"] == "busybox" and image["ContainerConfig"]["Cmd"] == container[
            "Config"]["Cmd"]
        (listed,) = docker_api.client().images(name=name)
        assert listed["ParentId"] == base["Id"] and base["Parent"] == "" and base["Container"] == ""
        layer = docker_api.ps.root / "image/layers" / image["RootFS"]["Layers"][1][7:]
        assert sorted(p.name for p in layer.iterdir()) == ["etc", "made"]  # no runtime mount points (proc, ...)
        assert [p.name for p in (layer / "etc").iterdir()] == ["group"]  # the deletion: a whiteout
        assert docker_api.ps("run", "--rm", "--network", "none", f"{name}:1").stdout == "data\n"
        gone = docker_api.ps("run", "--rm", "--network", "none", f"{name}:1", "ls", "/etc/group", check=False)
        assert gone.returncode != 0  # the deletion is in the layer too (a whiteout)
        committed = docker_api.client().commit(name, f"{name}", "2", conf={"WorkingDir": "/tmp"})  # docker-py's
        assert docker_api.client().inspect_image(committed["Id"])["Config"]["WorkingDir"] == "/tmp"
        with pytest.raises(docker.errors.NotFound):
            docker_api.client().commit("no-such-container")
    finally:
        docker_api.ps("rm", "-f", name)
    docker_api.docker("rmi", f"{name}:1", f"{name}:2")


def test_bad_parameters_name_the_field(docker_api) -> None:
    import docker

    client = docker_api.client()
    with pytest.raises(docker.errors.APIError) as bad:
        client.images(filters={"colour": "blue"})
    assert bad.value.status_code == 400 and "colour" in bad.value.explanation
    with pytest.raises(docker.errors.APIError) as bad:
        client.tag("busybox", "Not/Valid", "x")
    assert bad.value.status_code == 400 and "Not" in bad.value.explanation
    response = client._post(client._url("/images/create"), params={"fromImage": ""})
    assert response.status_code == 400 and "fromImage" in response.json()["message"]
