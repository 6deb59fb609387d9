"""Reference parsing follows docker's normalisation; bad references name the part that is wrong."""

import pytest

from portside.image.registry import InvalidReference, parse_reference, parse_registry

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text, registry, repository, tag, digest", [
    ("busybox", "docker.io", "library/busybox", "latest", None),
    ("busybox:1.36", "docker.io", "library/busybox", "1.36", None),
    ("library/busybox", "docker.io", "library/busybox", "latest", None),
    ("user/app:v1", "docker.io", "user/app", "v1", None),
    ("index.docker.io/user/app", "docker.io", "user/app", "latest", None),
    ("docker.io/busybox", "docker.io", "library/busybox", "latest", None),
    ("localhost/app", "localhost", "app", "latest", None),
    ("127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000", "a/b/c", "t", None),
    ("registry.example/app", "registry.example", "app", "latest", None),
    (f"app@{DIGEST}", "docker.io", "library/app", None, DIGEST),
    (f"host:5000/app:v2@{DIGEST}", "host:5000", "app", "v2", DIGEST),
    ("my_app.x-y__z", "docker.io", "library/my_app.x-y__z", "latest", None),
])
def test_normalisation(text, registry, repository, tag, digest):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


@pytest.mark.parametrize("text, familiar", [
    ("busybox", "busybox:latest"),
    ("docker.io/library/busybox:1", "busybox:1"),
    ("user/app", "user/app:latest"),
    ("127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1"),
])
def test_familiar_form(text, familiar):
    assert parse_reference(text).familiar() == familiar


def test_docker_hub_api_host_differs_from_its_name():
    assert parse_reference("busybox").api_host == "registry-1.docker.io"
    assert parse_reference("127.0.0.1:5000/x").api_host == "127.0.0.1:5000"


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("Busybox", "component 'Busybox'"),
    ("app:bad tag", "tag 'bad tag'"),
    ("app:-x", "tag '-x'"),
    ("app@sha256:1234", "digest"),
    ("a//b", "component ''"),
    ("host_x.y:5000/app", "registry 'host_x.y:5000'"),
    ("a/" + "b" * 260, "longer than 255"),
])
def test_bad_references_name_the_part(text, fragment):
    with pytest.raises(InvalidReference) as err:
        parse_reference(text)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_parse_registry():
    assert parse_registry("https://127.0.0.1:5000/") == "127.0.0.1:5000"
    assert parse_registry("index.docker.io") == "docker.io"
    with pytest.raises(InvalidReference, match="expected host"):
        parse_registry("not a host")
