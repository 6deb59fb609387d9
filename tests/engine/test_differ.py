"""docker's ``diff`` of an overlay upper directory against image layers, on directories laid out as overlayfs
leaves them (whiteouts are 0/0 character devices and opaque directories carry an xattr: root makes both)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from portside.engine.files import Differ, _placeholders
from portside.engine.model import ContainerRecord


def _tree(base: Path, entries: dict[str, str | None]) -> Path:
    """Files (text) and directories (None) under ``base``."""
    for name, text in entries.items():
        path = base / name
        if text is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return base


def _diff(upper: Path, *layers: Path) -> list[tuple[str, str]]:
    record = ContainerRecord.from_json({"Id": "c", "Name": "/c", "Created": "", "Image": "i", "Path": "true",
                                        "Args": [], "Config": {}, "HostConfig": {}})
    return [(c.letter, c.path) for c in Differ(upper, list(layers), _placeholders(record)).changes()]


def test_the_runtimes_mount_points_are_no_changes_even_in_an_image_without_etc(tmp_path) -> None:
    lower = _tree(tmp_path / "lower", {"bin/sh": "x"})
    upper = _tree(tmp_path / "upper", {"etc/hosts": "", "etc/hostname": "", "etc/resolv.conf": "", "dev": None,
                                       "test": ""})
    assert _diff(upper, lower) == [("A", "/test")]


def test_added_modified_and_parent_directories(tmp_path) -> None:
    lower = _tree(tmp_path / "lower", {"etc/passwd": "root", "srv": None})
    upper = _tree(tmp_path / "upper", {"etc/passwd": "root\nme", "srv/new/file": "x"})
    os.utime(tmp_path / "upper/srv", ns=(os.stat(lower / "srv").st_atime_ns, os.stat(lower / "srv").st_mtime_ns))
    assert _diff(upper, lower) == [("C", "/etc"), ("C", "/etc/passwd"), ("C", "/srv"), ("A", "/srv/new"),
                                   ("A", "/srv/new/file")]


def test_whiteouts_are_deletions_and_an_opaque_directory_hides_what_was_below(needs_root, tmp_path) -> None:
    lower = _tree(tmp_path / "lower", {"etc/group": "g", "data/a": "a", "data/b": "b"})
    upper = _tree(tmp_path / "upper", {"etc": None, "data/c": "c"})
    os.mknod(upper / "etc/group", stat.S_IFCHR | 0o000, os.makedev(0, 0))
    os.setxattr(upper / "data", "trusted.overlay.opaque", b"y")
    assert _diff(upper, lower) == [("C", "/data"), ("A", "/data/c"), ("D", "/data/a"), ("D", "/data/b"),
                                   ("C", "/etc"), ("D", "/etc/group")]
