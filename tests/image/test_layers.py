"""Layer tars: refusal of escaping members, whiteouts both ways, reproducible writing."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from portside.image import ImageStore, UnsafeLayer
from portside.image.diff import write_layer
from portside.image.unpack import unpack


def make_tar(path: Path, members: list[tuple[str, str, str]]) -> Path:
    """members: (name, kind, data-or-linkname) with kind in file, dir, sym, link, chr."""
    with tarfile.open(path, "w") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            payload = None
            if kind == "file":
                info.size, payload = len(data), io.BytesIO(data.encode())
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind in ("sym", "link"):
                info.type, info.linkname = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE, data
            elif kind == "chr":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            tar.addfile(info, payload)
    return path


def snapshot(root: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


MALICIOUS = {
    "absolute": ([("/outside/pwned", "file", "x")], "/outside/pwned", "absolute path"),
    "dotdot": ([("../outside/pwned", "file", "x")], "../outside/pwned", "'..'"),
    "dotdot-inner": ([("a/../../outside/pwned", "file", "x")], "a/../../outside/pwned", "'..'"),
    "symlink-dir-escape": ([("evil", "sym", "/"), ("evil/outside/pwned", "file", "x")],
                           "evil/outside/pwned", "not a directory"),
    "symlink-relative-escape": ([("up", "sym", "../../outside")], "up", "outside the root"),
    "hardlink-outside": ([("ln", "link", "../outside/victim")], "ln", "'..'"),
    "hardlink-absolute": ([("ln", "link", "/etc/passwd")], "ln", "absolute path"),
    "hardlink-missing": ([("ln", "link", "nothing/here")], "ln", "does not hold"),
    "device": ([("dev/sda", "chr", "")], "dev/sda", "device node"),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_layer_is_refused_and_touches_nothing(tmp_path: Path, needs_root: None, case: str) -> None:
    members, culprit, why = MALICIOUS[case]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("safe")
    before = snapshot(tmp_path)
    tar = make_tar(tmp_path / "evil.tar", [("ok", "file", "fine")] + members)
    before[str(tar)] = snapshot(tmp_path)[str(tar)]
    with pytest.raises(UnsafeLayer, match=why) as err:
        unpack(tar, tmp_path / "root")
    assert err.value.member == culprit and repr(culprit) in str(err.value)
    assert not (tmp_path / "root").exists()
    assert snapshot(tmp_path) == before


def test_malicious_import_leaves_no_image_blob_or_tmp(store: ImageStore, tmp_path: Path, needs_root: None) -> None:
    tar = make_tar(tmp_path / "evil.tar", [("bin", "dir", ""), ("evil", "sym", "/"), ("evil/tmp/x", "file", "")])
    with pytest.raises(UnsafeLayer, match="evil/tmp/x"):
        store.import_rootfs(tar, "evil")
    assert store.list() == []
    assert os.listdir(store.root / "blobs" / "sha256") == [] and os.listdir(store.root / "tmp") == []


def test_import_drops_device_nodes_under_dev(store: ImageStore, tmp_path: Path, needs_root: None) -> None:
    tar = make_tar(tmp_path / "rootfs.tar", [("dev", "dir", ""), ("dev/null", "chr", ""), ("etc", "dir", "")])
    image = store.import_rootfs(tar, "withdev")
    [layer] = store.layer_dirs(image)
    assert (layer / "dev").is_dir() and not os.path.lexists(layer / "dev" / "null")


def test_symlinks_inside_the_root_are_kept(tmp_path: Path, needs_root: None) -> None:
    tar = make_tar(tmp_path / "ok.tar", [("usr/bin/tool", "file", "#!"), ("bin", "sym", "usr/bin"),
                                         ("abs", "sym", "/etc/passwd"), ("usr/lib/up", "sym", "../../bin"),
                                         ("hard", "link", "usr/bin/tool")])
    unpack(tar, tmp_path / "root")
    root = tmp_path / "root"
    assert os.readlink(root / "bin") == "usr/bin" and os.readlink(root / "abs") == "/etc/passwd"
    assert os.stat(root / "hard").st_ino == os.stat(root / "usr/bin/tool").st_ino


def whiteout_tar(path: Path) -> Path:
    return make_tar(path, [("a", "dir", ""), ("a/.wh.gone", "file", ""), ("a/kept", "file", "k"),
                           ("c", "dir", ""), ("c/.wh..wh..opq", "file", ""), ("c/new", "file", "n")])


def test_whiteouts_become_overlay_form_and_back(tmp_path: Path, needs_root: None) -> None:
    root = tmp_path / "root"
    unpack(whiteout_tar(tmp_path / "wh.tar"), root)
    st = os.lstat(root / "a" / "gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(root / "c", "trusted.overlay.opaque") == b"y"
    out = io.BytesIO()
    write_layer(root, out)
    out.seek(0)
    names = tarfile.open(fileobj=out).getnames()
    assert names == ["a", "a/.wh.gone", "a/kept", "c", "c/.wh..wh..opq", "c/new"]


def test_whiteouts_hide_lower_files_in_a_real_overlay(tmp_path: Path, needs_root: None) -> None:
    from portside.runtime import mount_overlay, unmount

    lower = tmp_path / "lower"
    unpack(make_tar(tmp_path / "l.tar", [("a/gone", "file", "1"), ("a/stays", "file", "2"),
                                         ("c/old", "file", "3")]), lower)
    top = tmp_path / "top"
    unpack(whiteout_tar(tmp_path / "wh.tar"), top)
    merged = tmp_path / "merged"
    mount_overlay([lower, top], tmp_path / "upper", tmp_path / "work", merged)
    try:
        assert sorted(os.listdir(merged / "a")) == ["kept", "stays"]
        assert sorted(os.listdir(merged / "c")) == ["new"]
    finally:
        unmount(merged)


def tree_digest(root: Path) -> str:
    out = io.BytesIO()
    write_layer(root, out)
    return hashlib.sha256(out.getvalue()).hexdigest()


def test_layer_tar_is_reproducible(tmp_path: Path) -> None:
    for n, name in enumerate(["one", "two"]):
        root = tmp_path / name
        (root / "d" / "e").mkdir(parents=True)
        for fname in (["z", "a", "m"] if n else ["m", "z", "a"]):
            (root / "d" / fname).write_text(fname)
        os.link(root / "d" / "a", root / "d" / "e" / "link")
        os.symlink("a", root / "d" / "sym")
        os.utime(root / "d" / "z", (n * 1000, n * 1000))
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")
    (tmp_path / "two" / "d" / "m").write_text("changed")
    assert tree_digest(tmp_path / "one") != tree_digest(tmp_path / "two")


def test_gzipped_layer_is_checked_against_its_diff_id(tmp_path: Path, needs_root: None) -> None:
    import gzip

    from portside.image import CorruptBlob

    plain = make_tar(tmp_path / "l.tar", [("f", "file", "content")]).read_bytes()
    (tmp_path / "l.tar.gz").write_bytes(gzip.compress(plain))
    good = "sha256:" + hashlib.sha256(plain).hexdigest()
    unpack(tmp_path / "l.tar.gz", tmp_path / "ok", diff_id=good)
    assert (tmp_path / "ok" / "f").read_text() == "content"
    with pytest.raises(CorruptBlob, match="does not match the config's diff id"):
        unpack(tmp_path / "l.tar.gz", tmp_path / "bad", diff_id="sha256:" + "0" * 64)
    assert not (tmp_path / "bad").exists()
