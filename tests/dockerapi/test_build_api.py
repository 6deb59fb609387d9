"""``POST /build`` through Debian's docker CLI (the classic builder) and docker-py: the progress stream both read,
build arguments, labels, targets, compressed contexts, failures in the stream, bad parameters as 400s, and the
seed's own Dockerfile."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.image.test_bootstrap_integration import BASE, python_base  # noqa: F401 - the shared bootstrap fixture

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(3).hex()}"


def write_context(base: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)
    return base


DOCKERFILE = """\
FROM busybox AS base
ARG GREETING=hello
RUN echo "$GREETING from the build" > /greeting && cat /greeting
COPY app.txt /app/
WORKDIR /app
LABEL stage=base
CMD ["cat", "/greeting"]

FROM base AS extra
RUN touch /extra
"""


def test_docker_build_prints_dockers_steps_and_tags_the_image(docker_api, tmp_path) -> None:
    context = write_context(tmp_path, {"Dockerfile": DOCKERFILE, "app.txt": "app\n"})
    name = unique("built")
    out = docker_api.docker("build", "-t", name, "-t", f"{name}:v2", "--build-arg", "GREETING=hi", "--label",
                            "owner=tests", str(context), timeout=120).stdout.splitlines()
    assert out[0].startswith("Sending build context to Docker daemon") and out[1] == ""
    assert out[2:4] == ["Step 1/10 : FROM busybox AS base", f" ---> {short(docker_api, 'busybox')}"]
    assert "hi from the build" in out and 'Step 10/10 : LABEL "owner"="tests"' in out
    image = short(docker_api, name)
    assert out[-3:] == [f"Successfully built {image}", f"Successfully tagged {name}:latest",
                        f"Successfully tagged {name}:v2"]
    config = docker_api.client().inspect_image(name)["Config"]
    assert config["Labels"] == {"stage": "base", "owner": "tests"} and config["Cmd"] == ["cat", "/greeting"]
    assert config["WorkingDir"] == "/app"
    ran = docker_api.ps("run", "--rm", "--network", "none", name, "cat", "/greeting", "/app/app.txt")
    assert ran.stdout == "hi from the build\napp\n"
    # unchanged: every step from the cache, the same image; -q prints its id alone
    again = docker_api.docker("build", "-t", name, "--build-arg", "GREETING=hi", "--label", "owner=tests",
                              str(context)).stdout
    assert again.count(" ---> Using cache") == 7 and f"Successfully built {image}" in again
    quiet = docker_api.docker("build", "-q", "--build-arg", "GREETING=hi", "--label", "owner=tests",
                              str(context)).stdout
    assert re.fullmatch(rf"sha256:{image}[0-9a-f]{{52}}\n", quiet)
    docker_api.docker("rmi", name, f"{name}:v2")


def short(docker_api, ref: str) -> str:
    return docker_api.client().inspect_image(ref)["Id"][7:19]


def test_target_and_a_dockerfile_elsewhere_in_the_context(docker_api, tmp_path) -> None:
    context = write_context(tmp_path, {"build/Containerfile": DOCKERFILE, "app.txt": "app\n"})
    (context / "elsewhere").symlink_to("/etc/passwd")  # a link out of the context is sent, and kept, as a link
    name = unique("target")
    out = docker_api.docker("build", "-f", str(context / "build/Containerfile"), "--target", "base", "-t", name,
                            str(context), timeout=120).stdout
    assert "Step 7/7 : CMD" in out and "touch /extra" not in out
    docker_api.docker("rmi", name)


def test_docker_py_builds_from_a_gzipped_context_and_returns_the_image(docker_api) -> None:
    import docker

    client = docker.DockerClient(base_url=docker_api.url)
    name = unique("py")
    dockerfile = "FROM busybox\nARG N\nRUN echo number $N via $http_proxy\nENV N=$N\n"
    context = gzip.compress(tar_of({"Dockerfile": dockerfile}))
    image, logs = client.images.build(fileobj=io.BytesIO(context), custom_context=True, encoding="gzip", tag=name,
                                      buildargs={"N": "7", "http_proxy": "http://proxy.test:3128"},
                                      labels={"made-by": "docker-py"}, nocache=True, rm=True, forcerm=True, pull=False)
    logs = list(logs)
    assert image.tags == [f"{name}:latest"] and image.labels == {"made-by": "docker-py"}
    assert {"aux": {"ID": image.id}} in logs and {"stream": "number 7 via http://proxy.test:3128\n"} in logs
    assert not [m for m in logs if "Warning" in m.get("stream", "")]  # a proxy argument needs no ARG
    assert "proxy.test" not in json.dumps(image.history())  # and its value stays out of the image
    assert "N=7" in image.attrs["Config"]["Env"]
    client.images.remove(name)


def test_stderr_is_red_and_cache_from_an_absent_image_builds_afresh(docker_api) -> None:
    client = docker_api.client()
    body = tar_of({"Dockerfile": "FROM busybox\nRUN echo to-stderr >&2\nRUN echo to-stdout\n"})
    first = list(client.build(fileobj=io.BytesIO(body), custom_context=True, decode=True))
    assert {"stream": "\x1b[91mto-stderr\n\x1b[0m"} in first and {"stream": "to-stdout\n"} in first
    cached = list(client.build(fileobj=io.BytesIO(body), custom_context=True, decode=True))
    assert cached.count({"stream": " ---> Using cache\n"}) == 2
    fresh = list(client.build(fileobj=io.BytesIO(body), custom_context=True, decode=True,
                              cache_from=["no-such-image:1"]))
    assert {"stream": " ---> Using cache\n"} not in fresh and {"stream": "to-stdout\n"} in fresh
    image = next(m["aux"]["ID"] for m in fresh if "aux" in m)
    client.remove_image(image)


def test_add_host_is_in_the_run_steps_hosts_file_only(docker_api, tmp_path) -> None:
    context = write_context(tmp_path, {"Dockerfile": "FROM busybox\nRUN cp /etc/hosts /hosts-copy\n"})
    name = unique("hosts")
    docker_api.docker("build", "--add-host", "db.test:10.1.2.3", "--add-host", "cache.test:10.1.2.4", "-t", name,
                      str(context))
    copied = docker_api.ps("run", "--rm", "--network", "none", name, "cat", "/hosts-copy").stdout
    assert "10.1.2.3\tdb.test\n10.1.2.4\tcache.test\n" in copied
    layer = docker_api.client().inspect_image(name)["RootFS"]["Layers"][-1]
    assert not (docker_api.ps.root / "image/layers" / layer[7:] / "etc/hosts").exists()  # the bound file: no trace
    docker_api.docker("rmi", name)


def test_builder_prune_empties_the_build_cache(docker_api, tmp_path) -> None:
    context = write_context(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo cached > /f\n"})
    docker_api.docker("build", str(context))
    assert " ---> Using cache" in docker_api.docker("build", str(context)).stdout
    pruned = docker_api.docker("builder", "prune", "-f").stdout
    assert pruned.splitlines()[-1].startswith("Total reclaimed space:")
    assert " ---> Using cache" not in docker_api.docker("build", str(context)).stdout
    result = docker_api.client().prune_builds()
    assert isinstance(result["SpaceReclaimed"], int) and result["CachesDeleted"] is None  # nothing left to free
    docker_api.docker("image", "prune", "-f")


def test_a_failing_step_ends_the_stream_with_an_error(docker_api, tmp_path) -> None:
    import docker

    context = write_context(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo about to fail && exit 3\n"})
    failed = docker_api.docker("build", str(context), check=False)
    assert failed.returncode == 1 and "about to fail" in failed.stdout
    assert "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3" in failed.stderr
    with pytest.raises(docker.errors.BuildError) as error:
        docker.DockerClient(base_url=docker_api.url).images.build(path=str(context))
    assert "returned a non-zero code: 3" in error.value.msg
    unknown = write_context(tmp_path / "unknown", {"Dockerfile": "FROM busybox\nFROBNICATE now\n"})
    refused = docker_api.docker("build", str(unknown), check=False)
    assert refused.returncode == 1 and "Dockerfile:2: unknown instruction: FROBNICATE" in refused.stderr


def test_bad_parameters_are_400s_naming_the_field(docker_api) -> None:
    client = docker_api.client()
    body = tar_of({"Dockerfile": "FROM busybox\n"})

    def build(**params) -> tuple[int, str]:
        response = client._post(client._url("/build"), params=params, data=body,
                                headers={"Content-Type": "application/x-tar"})
        return response.status_code, response.json()["message"]

    status, message = build(buildargs="{not json")
    assert status == 400 and message.startswith("buildargs: '{not json' is not valid JSON")
    status, message = build(labels=json.dumps({"a": 1}))
    assert status == 400 and message.startswith("labels: expected a JSON object of strings")
    assert build(t="Bad:Name")[0] == 400 and "t: invalid reference" in build(t="Bad:Name")[1]
    assert build(dockerfile="../Dockerfile") == (400, "dockerfile: '../Dockerfile' is outside the build context")
    assert build(dockerfile="nope") == (400, "Cannot locate specified Dockerfile: nope")
    assert build(networkmode="container:x")[0] == 400
    assert build(extrahosts="db.test") == (400, "extrahosts: 'db.test' is not NAME:ADDRESS with an IP address")
    assert build(cachefrom="busybox") == (400, "cachefrom: 'busybox' is not valid JSON (Expecting value); "
                                               "expected a list of image names")
    response = client._post(client._url("/build"), data=b"this is not a tar archive")
    assert response.status_code == 400 and "not a readable tar archive" in response.json()["message"]
    escaping = tar_of({"../outside": "x", "Dockerfile": "FROM busybox\n"})
    response = client._post(client._url("/build"), data=escaping)
    assert response.status_code == 400
    assert response.json()["message"].startswith("the build context is refused: '../outside' would be extracted")


def tar_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.timeout(900)  # the first use of the Python base waits for its one bootstrap per test run
def test_the_seeds_dockerfile_builds_through_docker_build(docker_api, python_base) -> None:  # noqa: F811
    shared, outcome = python_base
    assert outcome["code"] == 0, outcome["stderr"]
    adopt(shared / "image", docker_api.ps.root / "image", BASE)
    name = unique("my-app")
    out = docker_api.docker("build", "-t", name, str(REPO / "examples/seed"), timeout=300).stdout
    assert "flask" in out and f"Successfully tagged {name}:latest" in out  # the RUN step's check ran
    config = docker_api.client().inspect_image(name)["Config"]
    assert config["Cmd"] == ["python3", "app.py"] and config["ExposedPorts"] == {"5000/tcp": {}}
    assert config["WorkingDir"] == "/app"
    docker_api.docker("rmi", name, BASE)


def adopt(source: Path, dest: Path, name: str) -> None:
    """Give the service's store an image of the shared one: hard links of its blobs and unpacked layers (the
    store only renames files into place, never rewrites them), then the name, through the store's own call."""
    from portside.image import ImageStore

    for part in ("blobs/sha256", "layers"):
        (dest / part).mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-al", f"{source / part}/.", str(dest / part)], check=True)
    image = ImageStore(source).resolve(name)
    size = (source / "blobs/sha256" / image.digest[7:]).stat().st_size
    ImageStore(dest).set_names(image.digest, size, image.id, [name])

