"""The store's public contract: import, resolve, names, removal, atomic concurrent index updates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from leftovers import TEST_CGROUP_PARENT

from portside.image import AmbiguousImage, Image, ImageError, ImageNotFound, ImageStore, InvalidReference, Layout


def test_import_makes_oci_layout_with_named_image(store: ImageStore, busybox: Image) -> None:
    assert busybox.names == ["busybox:latest"]
    assert busybox.id.startswith("sha256:") and len(busybox.id) == 71
    layout = json.loads((store.root / "oci-layout").read_text())
    assert layout == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((store.root / "index.json").read_text())
    [entry] = index["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "busybox:latest"
    manifest = Layout(store.root).read_json(entry["digest"])
    assert manifest["config"]["digest"] == busybox.id
    assert busybox.config["Env"][0].startswith("PATH=")


def test_layer_dirs_hold_the_rootfs(store: ImageStore, busybox: Image) -> None:
    [layer] = store.layer_dirs(busybox)
    assert layer.parent == store.root / "l" and len(layer.name) == 16
    assert layer.resolve() == store.root / "layers" / busybox.diff_ids[0][7:]
    assert (layer / "bin" / "busybox").is_file()
    assert os.readlink(layer / "bin" / "sh") == "busybox"
    assert (layer / "tmp").stat().st_mode & 0o7777 == 0o1777


def test_layer_dirs_reunpacks_a_missing_layer(store: ImageStore, busybox: Image) -> None:
    import shutil
    [layer] = store.layer_dirs(busybox)
    shutil.rmtree(layer.resolve())
    assert store.layer_dirs(busybox) == [layer] and (layer / "bin" / "busybox").is_file()


@pytest.mark.parametrize("form", ["busybox", "busybox:latest", "ID", "SHORT", "PREFIX4", "MANIFEST",
                                  "docker.io/library/busybox", "docker.io/library/busybox:latest"])
def test_resolve_forms(store: ImageStore, busybox: Image, form: str) -> None:
    ref = {"ID": busybox.id, "SHORT": busybox.id[7:19], "PREFIX4": busybox.id[7:11],
           "MANIFEST": busybox.digest}.get(form, form)
    assert store.resolve(ref).id == busybox.id


@pytest.mark.parametrize("ref", ["nosuch", "busybox:other", "sha256:" + "0" * 64, "abc", "0000"])
def test_resolve_unknown_names_the_ref(store: ImageStore, busybox: Image, ref: str) -> None:
    with pytest.raises(ImageNotFound, match=f"no such image: {ref}"):
        store.resolve(ref)


def test_resolve_on_empty_store(store: ImageStore) -> None:
    with pytest.raises(ImageNotFound):
        store.resolve("busybox")
    assert store.list() == []


def test_tag_untag_and_delete(store: ImageStore, busybox: Image) -> None:
    store.layer_dirs(busybox)  # links the layer, which deletion must remove too
    store.tag("busybox", "localhost:5000/team/bb:1.0")
    assert store.resolve("localhost:5000/team/bb:1.0").id == busybox.id
    assert sorted(store.resolve(busybox.id).names) == ["busybox:latest", "localhost:5000/team/bb:1.0"]
    with pytest.raises(ImageError, match="must be forced"):
        store.remove(busybox.id)
    assert store.remove("busybox") == ["Untagged: busybox:latest"]
    assert store.remove("localhost:5000/team/bb:1.0") == [
        "Untagged: localhost:5000/team/bb:1.0", f"Deleted: {busybox.id}"]
    assert store.list() == []
    assert os.listdir(store.root / "blobs" / "sha256") == []
    assert os.listdir(store.root / "layers") == [] and os.listdir(store.root / "l") == []


def test_retag_leaves_the_old_image_dangling(store: ImageStore, busybox: Image, busybox_rootfs_tar: Path,
                                             tmp_path: Path) -> None:
    other = tmp_path / "other.tar"
    other.write_bytes(busybox_rootfs_tar.read_bytes())
    import tarfile
    with tarfile.open(other, "a") as tar:
        info = tarfile.TarInfo("marker")
        tar.addfile(info)
    new = store.import_rootfs(other, "busybox")
    assert new.id != busybox.id
    images = {image.id: image.names for image in store.list()}
    assert images == {new.id: ["busybox:latest"], busybox.id: []}


@pytest.mark.parametrize("ref, part", [("Busybox", "component 'Busybox'"), ("bb:bad tag", "tag 'bad tag'"),
                                       ("", "empty name"), ("a//b", "component ''")])
def test_bad_reference_is_refused_before_anything_is_written(store: ImageStore, busybox_rootfs_tar: Path,
                                                            ref: str, part: str) -> None:
    with pytest.raises(InvalidReference, match=part):
        store.import_rootfs(busybox_rootfs_tar, ref)
    assert not store.root.exists() or store.list() == []


def test_import_of_a_non_tar_leaves_nothing(store: ImageStore, tmp_path: Path, needs_root: None) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar archive" * 100)
    with pytest.raises(ImageError, match="junk.tar"):
        store.import_rootfs(junk, "junk")
    assert os.listdir(store.root / "blobs" / "sha256") == []
    assert os.listdir(store.root / "tmp") == []
    assert store.list() == []


def test_ambiguous_prefix(store: ImageStore) -> None:
    layout = Layout(store.root)
    layout.ensure()
    with layout.edit_index() as index:
        for n in range(2):
            index["manifests"].append({"digest": f"sha256:{n:064x}", "annotations": {
                "io.portside.image.config": f"sha256:0000{n:060x}"}})
    with pytest.raises(AmbiguousImage, match="ambiguous"):
        store.resolve("0000")


def test_concurrent_tagging_loses_no_names(store: ImageStore, busybox: Image) -> None:
    """Eight processes tag at once; the flock around index.json must keep every name."""
    code = ("import sys; from pathlib import Path; from portside.image import ImageStore; "
            "s = ImageStore(Path(sys.argv[1])); [s.tag('busybox', f'p{sys.argv[2]}:{i}') for i in range(10)]")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(store.root), str(p)]) for p in range(8)]
    assert [p.wait() for p in procs] == [0] * 8
    assert len(store.resolve("busybox").names) == 81


@pytest.mark.parametrize("module", ["portside.image", "portside.image.build"])
def test_exported_members(module: str) -> None:
    """``__all__`` is the package's contract: every name in it exists and is documented."""
    import importlib
    mod = importlib.import_module(module)
    for name in mod.__all__:
        member = getattr(mod, name)
        assert getattr(member, "__doc__", None) or not callable(member), name


def test_importing_the_store_stays_light() -> None:
    """``portside run`` resolves images: the store must not drag in tar, hashing or the builder."""
    code = ("import sys, portside.image; "
            "print(sorted(m for m in ('tarfile', 'hashlib', 'shutil', 'portside.image.build') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_prune_keeps_what_images_and_the_build_cache_reach(store: ImageStore, busybox: Image,
                                                           tmp_path: Path) -> None:
    import io

    from portside.image.build import BuildOptions, build

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo one > /one\n")
    build(store, BuildOptions(cgroup_parent=TEST_CGROUP_PARENT, context=ctx, tags=["one"]), io.StringIO())
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo two > /two\n")
    build(store, BuildOptions(cgroup_parent=TEST_CGROUP_PARENT, context=ctx, tags=["one"]), io.StringIO())  # the first image is now dangling
    stale = store.root / "tmp" / "run-crashed"
    stale.mkdir(parents=True)
    os.utime(stale, (1, 1))
    orphan = store.layout.blobs / ("cd" * 32)
    orphan.write_bytes(b"x")
    removed = store.prune()
    assert removed == [f"deleted: sha256:{'cd' * 32}", "deleted leftover: run-crashed"]
    out = io.StringIO()
    build(store, BuildOptions(cgroup_parent=TEST_CGROUP_PARENT, context=ctx, tags=["one"]), out)
    assert out.getvalue().count("Using cache") == 1
