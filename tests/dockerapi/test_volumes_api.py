"""Volumes through the Docker API: Debian's docker CLI and docker-py against portside's socket, the same volumes
as ``portside volume`` sees (one implementation)."""

from __future__ import annotations

import json
import re

import docker.errors
import pytest

pytestmark = pytest.mark.integration

VOLUME_KEYS = ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]


def test_the_docker_cli_creates_lists_inspects_and_removes_volumes(docker_api) -> None:
    assert docker_api.docker("volume", "create", "--label", "tier=db", "--label", "team", "vapi-data").stdout \
        == "vapi-data\n"
    docker_api.docker("volume", "create", "vapi-other")
    listing = docker_api.docker("volume", "ls").stdout.splitlines()
    assert re.split(r"\s{2,}", listing[0]) == ["DRIVER", "VOLUME NAME"]
    assert ["local", "vapi-data"] in [line.split() for line in listing[1:]]
    assert docker_api.docker("volume", "ls", "-q", "--filter", "label=tier=db").stdout == "vapi-data\n"
    assert docker_api.docker("volume", "ls", "-q", "--filter", "name=vapi-oth").stdout == "vapi-other\n"

    info = json.loads(docker_api.docker("volume", "inspect", "vapi-data").stdout)[0]
    assert sorted(info) == VOLUME_KEYS
    assert info["Labels"] == {"tier": "db", "team": ""} and info["Driver"] == "local" and info["Scope"] == "local"
    assert info["Mountpoint"] == str(docker_api.ps.root / "volumes" / "vapi-data" / "_data")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["CreatedAt"])
    # the portside CLI shows the same volume, labels and all
    assert json.loads(docker_api.ps("volume", "inspect", "vapi-data").stdout)[0] == info
    assert "vapi-data" in docker_api.ps("volume", "ls", "-q", "--filter", "label=tier").stdout.split()

    assert docker_api.docker("volume", "rm", "vapi-data", "vapi-other").stdout == "vapi-data\nvapi-other\n"
    missing = docker_api.docker("volume", "inspect", "vapi-data", check=False)
    assert missing.returncode == 1 and "no such volume" in missing.stderr.lower()


def test_docker_py_shapes_and_errors_name_the_field(docker_api) -> None:
    api = docker_api.client()
    made = api.create_volume()
    assert re.fullmatch(r"[0-9a-f]{64}", made["Name"]) and sorted(made) == VOLUME_KEYS
    assert made["Labels"] is None and made["Options"] is None  # docker's nulls when none were given
    assert api.inspect_volume(made["Name"]) == made

    with pytest.raises(docker.errors.NotFound) as bad:  # docker's status for a driver it has no plugin for
        api.create_volume("vapi-bad", driver="nfs-plugin")
    assert 'plugin "nfs-plugin" not found' in bad.value.explanation
    with pytest.raises(docker.errors.APIError) as bad:
        api.create_volume("vapi-bad", driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    assert bad.value.status_code == 400 and "DriverOpts" in bad.value.explanation
    with pytest.raises(docker.errors.APIError) as bad:
        api.create_volume("vapi-bad", labels={"a": 1})
    assert bad.value.status_code == 400 and "Labels" in bad.value.explanation
    with pytest.raises(docker.errors.NotFound) as missing:
        api.inspect_volume("vapi-none")
    assert missing.value.explanation == "get vapi-none: no such volume"
    with pytest.raises(docker.errors.APIError) as bad:
        api.volumes(filters={"colour": "red"})
    assert bad.value.status_code == 400 and "colour" in bad.value.explanation
    assert not any(v["Name"] == "vapi-bad" for v in api.volumes()["Volumes"])
    api.remove_volume(made["Name"])


def test_a_volume_in_use_is_refused_unless_forced_and_dangling_filters(docker_api) -> None:
    api = docker_api.client()
    api.create_volume("vapi-used", labels={"app": "x"})
    cid = docker_api.ps("create", "--name", "vapi-user", "-v", "vapi-used:/data", "busybox", "true").stdout.strip()
    try:
        with pytest.raises(docker.errors.APIError) as busy:
            api.remove_volume("vapi-used")
        assert busy.value.status_code == 409
        assert busy.value.explanation == f"remove vapi-used: volume is in use - [{cid}]"
        dangling = [v["Name"] for v in api.volumes(filters={"dangling": True})["Volumes"]]
        used = [v["Name"] for v in api.volumes(filters={"dangling": False})["Volumes"]]
        assert "vapi-used" in used and "vapi-used" not in dangling
    finally:
        docker_api.ps("rm", "-f", "vapi-user")
    assert "vapi-used" in [v["Name"] for v in api.volumes(filters={"dangling": True})["Volumes"]]
    api.remove_volume("vapi-used")
    # gone: no error with --force, as docker (docker-py's remove_volume never sends its force)
    assert docker_api.docker("volume", "rm", "--force", "vapi-used").returncode == 0


def test_prune_removes_only_anonymous_volumes_from_api_1_42_unless_all(docker_api) -> None:
    from portside.engine import Engine

    new, old = docker_api.client(), docker_api.client(version="1.41")
    new.create_volume("vapi-named", labels={"keep": "no"})
    anonymous = Engine(docker_api.ps.root).volumes.create(anonymous=True).name  # what a container's mount makes
    pruned = new.prune_volumes()
    assert anonymous in pruned["VolumesDeleted"] and "vapi-named" not in pruned["VolumesDeleted"]
    assert isinstance(pruned["SpaceReclaimed"], int)
    assert new.prune_volumes(filters={"all": "true", "label": "keep=yes"})["VolumesDeleted"] == []
    old_prune = old.prune_volumes(filters={"label": "keep"})  # 1.41: every unused volume, as docker 20.10
    assert old_prune["VolumesDeleted"] == ["vapi-named"]


def test_a_bind_form_volume_names_a_host_directory(docker_api, tmp_path) -> None:
    (tmp_path / "hello").write_text("from the host\n")
    api = docker_api.client()
    api.create_volume("vapi-bind", driver_opts={"type": "none", "o": "bind", "device": str(tmp_path)})
    try:
        out = docker_api.ps("run", "--rm", "--network", "none", "-v", "vapi-bind:/data", "busybox",
                            "cat", "/data/hello").stdout
        assert out == "from the host\n"
        assert api.inspect_volume("vapi-bind")["Options"] == {"type": "none", "o": "bind", "device": str(tmp_path)}
    finally:
        api.remove_volume("vapi-bind")
    assert (tmp_path / "hello").exists()  # removing the volume leaves the host's directory alone
