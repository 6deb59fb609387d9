"""Container records: atomic writes, unique names, docker's lookup order, and the record built from a config."""

import os
from dataclasses import dataclass, field

import pytest

from portside.engine.config import ContainerConfig
from portside.engine.create import build_record
from portside.engine.records import Records, remove_tree, write_atomic
from portside.runtime.errors import ContainerNotFound, InvalidArgument, NameInUse


@dataclass(frozen=True)
class FakeImage:
    """Just the fields of ``portside.image.Image`` that a record copies (the real store is tested elsewhere)."""

    id: str = "sha256:" + "ab" * 32
    config: dict = field(default_factory=lambda: {"Cmd": ["sh"], "Env": ["PATH=/bin", "LANG=C"],
                                                  "WorkingDir": "/app", "User": "nobody"})


def _record(tmp_path, **kw) -> dict:
    return build_record("c" * 64, "web", "2024-01-01T00:00:00Z", ContainerConfig(image="img", **kw), FakeImage(),
                        tmp_path / "volumes")


def test_names_are_unique_and_lookup_follows_docker(tmp_path) -> None:
    records = Records(tmp_path)
    for cid in ("abc123" + "0" * 58, "abd456" + "0" * 58):
        records.paths(cid).dir.mkdir(parents=True)
        write_atomic(records.paths(cid).record, {"Id": cid})
    records.claim_name("web", "abc123" + "0" * 58)
    with pytest.raises(NameInUse, match="'web' is already in use by container abc123000000$"):
        records.claim_name("web", "abd456" + "0" * 58)
    assert records.find("web") == "abc123" + "0" * 58
    assert records.find("abd") == "abd456" + "0" * 58
    with pytest.raises(InvalidArgument, match="ambiguous"):
        records.find("ab")
    with pytest.raises(ContainerNotFound, match="no such container: zzz"):
        records.find("zzz")
    records.release_name("web", "abd456" + "0" * 58)  # not the owner: nothing happens
    assert records.find("web").startswith("abc")


def test_update_state_and_remove_tree(tmp_path) -> None:
    records = Records(tmp_path)
    paths = records.paths("x" * 64)
    paths.dir.mkdir(parents=True)
    records.update_state("x" * 64, lambda s: s.update(Status="created"))
    assert records.update_state("x" * 64, lambda s: s.update(Pid=5)) == {"Status": "created", "Pid": 5}
    assert not [p for p in os.listdir(paths.dir) if p.endswith(".tmp")]
    (paths.dir / "a" / "b").mkdir(parents=True)
    (paths.dir / "a" / "b" / "f").write_text("x")
    os.symlink("/etc", paths.dir / "a" / "link")
    remove_tree(paths.dir)
    assert not paths.dir.exists() and os.path.isdir("/etc")


def test_record_merges_image_defaults_with_flags(tmp_path) -> None:
    rec = _record(tmp_path, env=["LANG=fr"], memory=64 << 20, cpus=0.5, pids_limit=20, volumes=["data:/data"])
    assert (rec["Path"], rec["Args"]) == ("sh", [])
    assert rec["Config"]["Env"][-2:] == ["PATH=/bin", "LANG=fr"]
    assert (rec["Config"]["WorkingDir"], rec["Config"]["User"]) == ("/app", "nobody")
    assert rec["HostConfig"]["NanoCpus"] == 500_000_000 and rec["HostConfig"]["PidsLimit"] == 20
    assert rec["Mounts"] == [{"Type": "volume", "Name": "data", "Source": str(tmp_path / "volumes/data/_data"),
                              "Destination": "/data", "RW": True}]


def test_entrypoint_rules(tmp_path) -> None:
    rec = _record(tmp_path, entrypoint=["/bin/echo"], cmd=None)
    assert (rec["Path"], rec["Args"]) == ("/bin/echo", [])  # --entrypoint drops the image's Cmd, as docker
    rec = _record(tmp_path, entrypoint=[""], cmd=["ls", "-l"])
    assert (rec["Path"], rec["Args"]) == ("ls", ["-l"])


@pytest.mark.parametrize("kw,words", [
    ({"restart": "always", "autoremove": True}, "--restart and --rm"),
    ({"network": "none", "publish": ["80:80"]}, "-p cannot be used with --network none"),
    ({"workdir": "relative"}, "-w"),
    ({"security_opt": ["label=disable"]}, "--security-opt"),
    ({"cap_add": ["NOT_A_CAP"]}, "unknown capability"),
    ({"entrypoint": [""], "cmd": None}, "no command specified"),
])
def test_refusals(tmp_path, kw: dict, words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        _record(tmp_path, **kw)
