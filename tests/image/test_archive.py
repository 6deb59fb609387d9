"""save/load in both formats, and interop with skopeo in both directions."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from leftovers import TEST_CGROUP_PARENT
from support.require import require

from portside.image import ArchiveError, CorruptBlob, Image, ImageNotFound, ImageStore
from portside.image.archive import load, save
from portside.image.build import BuildOptions, build
from portside.image.build.rootfs import View


@pytest.fixture
def built(store: ImageStore, busybox: Image, tmp_path: Path) -> Image:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "app.txt").write_text("app\n")
    (ctx / "Dockerfile").write_text('FROM busybox\nCOPY app.txt /app/\nRUN rm /etc/group\nCMD ["cat", "/app/app.txt"]\n')
    return build(store, BuildOptions(cgroup_parent=TEST_CGROUP_PARENT, context=ctx, tags=["demo:1", "other/demo:2"]), io.StringIO())


def skopeo(*args: str) -> str:
    require("skopeo")
    return subprocess.run(["skopeo", *args], check=True, capture_output=True, text=True, timeout=120).stdout


def assert_same_image(store: ImageStore, ref: str, original: Image, same_id: bool = True) -> None:
    """Same layers and content; the same id too unless a converter re-serialised the config."""
    loaded = store.resolve(ref)
    assert loaded.diff_ids == original.diff_ids and loaded.config == original.config
    assert loaded.id == original.id or not same_id
    view = View(store.layer_dirs(loaded))
    assert view.find("app/app.txt").read_text() == "app\n" and view.find("etc/group") is None


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_save_load_round_trip(store: ImageStore, built: Image, tmp_path: Path, fmt: str) -> None:
    archive = tmp_path / "img.tar"
    save(store, ["demo:1", "other/demo:2"], archive, fmt)
    fresh = ImageStore(tmp_path / "fresh")
    lines = load(fresh, archive)
    assert lines == ["Loaded image: demo:1", "Loaded image: other/demo:2"]
    assert_same_image(fresh, "other/demo:2", built)
    assert sorted(fresh.resolve("demo:1").names) == ["demo:1", "other/demo:2"]


def test_save_names_only_what_was_asked_for(store: ImageStore, built: Image, tmp_path: Path) -> None:
    """As docker's: one name of several carries that name alone; an image asked for by id, none."""
    save(store, ["other/demo:2"], tmp_path / "one.tar")
    assert load(ImageStore(tmp_path / "one"), tmp_path / "one.tar") == ["Loaded image: other/demo:2"]
    save(store, [built.id], tmp_path / "id.tar")
    assert load(ImageStore(tmp_path / "id"), tmp_path / "id.tar") == [f"Loaded image ID: {built.id}"]


def test_docker_archive_layout(store: ImageStore, built: Image, tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    save(store, ["demo:1"], archive, "docker-archive")
    with tarfile.open(archive) as tar:
        [entry] = json.load(tar.extractfile("manifest.json"))
        assert entry["Config"] == built.id[7:] + ".json" and entry["RepoTags"] == ["demo:1"]
        assert entry["Layers"] == [d[7:] + ".tar" for d in built.diff_ids]
        assert json.load(tar.extractfile("repositories"))["demo"] == {"1": built.id[7:]}


def test_ours_load_in_skopeo_and_theirs_in_ours(store: ImageStore, built: Image, tmp_path: Path) -> None:
    for fmt in ("docker-archive", "oci-archive"):
        save(store, ["demo:1"], tmp_path / f"{fmt}.tar", fmt)
    info = json.loads(skopeo("inspect", f"docker-archive:{tmp_path / 'docker-archive.tar'}"))
    assert info["Layers"] and info["Architecture"] == "amd64"
    skopeo("copy", "-q", f"docker-archive:{tmp_path / 'docker-archive.tar'}", f"oci:{tmp_path / 'layout'}:x")
    skopeo("copy", "-q", f"oci:{tmp_path / 'layout'}:x", f"docker-archive:{tmp_path / 'theirs.tar'}:skopeo/made:3")
    skopeo("copy", "-q", f"oci-archive:{tmp_path / 'oci-archive.tar'}:demo:1",
           f"oci-archive:{tmp_path / 'theirs-oci.tar'}:skopeo/oci:4")
    fresh = ImageStore(tmp_path / "fresh")
    assert load(fresh, tmp_path / "theirs.tar") == ["Loaded image: skopeo/made:3"]  # skopeo wrote docker.io/...
    assert load(fresh, tmp_path / "theirs-oci.tar") == ["Loaded image: skopeo/oci:4"]
    assert_same_image(fresh, "docker.io/skopeo/made:3", built, same_id=False)  # the long form resolves too  # skopeo rewrites the config
    assert_same_image(fresh, "skopeo/oci:4", built)


def test_load_refuses_garbage_and_tampered_archives(store: ImageStore, built: Image, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    with tarfile.open(junk, "w") as tar:
        tar.addfile(tarfile.TarInfo("hello"), io.BytesIO(b""))
    with pytest.raises(ArchiveError, match="neither a docker-archive"):
        load(ImageStore(tmp_path / "a"), junk)
    archive = tmp_path / "img.tar"
    save(store, ["demo:1"], archive, "docker-archive")
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w") as out:
        for member in src:
            data = src.extractfile(member).read()
            if member.name == built.diff_ids[-1][7:] + ".tar":
                data = data.replace(b"app", b"bad") if b"app" in data else data[:-512] + b"x" * 512
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    fresh = ImageStore(tmp_path / "b")
    with pytest.raises(CorruptBlob, match="digest mismatch"):
        load(fresh, tampered)
    assert fresh.list() == []
    assert not [p for p in (fresh.root / "blobs" / "sha256").iterdir() if p.name.startswith(".")]


def test_save_to_unwritable_place_leaves_nothing(store: ImageStore, built: Image, tmp_path: Path) -> None:
    with pytest.raises(ImageNotFound, match="nosuch"):
        save(store, ["demo:1", "nosuch"], tmp_path / "x.tar")
    assert list(tmp_path.glob("*x.tar*")) == []


def test_load_of_an_unsafe_layer_touches_nothing_outside(tmp_path: Path, needs_root: None) -> None:
    """A docker-archive whose (correctly hashed) layer climbs out through a symlink is refused whole."""
    import hashlib

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        link = tarfile.TarInfo("escape")
        link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path)
        tar.addfile(link)
        tar.addfile(tarfile.TarInfo("escape/pwned"), io.BytesIO(b""))
    data = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        for name, payload in (("layer.tar", data), ("config.json", config), ("manifest.json", json.dumps(
                [{"Config": "config.json", "RepoTags": ["evil:1"], "Layers": ["layer.tar"]}]).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    store = ImageStore(tmp_path / "store")
    with pytest.raises(Exception, match="escape/pwned"):
        load(store, archive)
    assert not (tmp_path / "pwned").exists()
    assert store.list() == [] and os.listdir(store.layout.blobs) == []
    assert [p for p in (store.root / "layers").iterdir()] == []
