"""A directory in overlayfs's form (an upper dir, a layer dir) written as an OCI layer tar.

The reverse of ``unpack``: a 0/0 character device becomes ``.wh.NAME``, a directory marked
``trusted.overlay.opaque=y`` gets a ``.wh..wh..opq`` entry.  The tar is reproducible: entries in byte order of
their paths, numeric owners without names, every mtime set to the epoch, PAX format with no per-run headers;
so identical trees give identical digests whenever and wherever they are built.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Iterator
from io import IOBase as BinaryIO
from pathlib import Path

from portside.image.layout import OPAQUE, OPAQUE_XATTR, WHITEOUT_PREFIX

EPOCH = 0


def walk(root: Path, rel: str = "") -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) for every entry under ``root``, parents before children, sorted by name."""
    with os.scandir(root / rel if rel else root) as it:
        entries = sorted(it, key=lambda e: os.fsencode(e.name))
    for entry in entries:
        path = f"{rel}/{entry.name}" if rel else entry.name
        st = entry.stat(follow_symlinks=False)
        yield path, st
        if stat.S_ISDIR(st.st_mode):
            yield from walk(root, path)


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def header(name: str, st: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, stat.S_IMODE(st.st_mode), EPOCH
    info.uid, info.gid, info.uname, info.gname = st.st_uid, st.st_gid, "", ""
    return info


def marker(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime, info.uname, info.gname = 0o644, EPOCH, "", ""
    return info


class LayerWriter:
    """Adds the entries of one tree to a tar, remembering inodes to write hard links as links."""

    def __init__(self, root: Path, tar: tarfile.TarFile) -> None:
        self.root, self.tar = root, tar
        self.inodes: dict[tuple[int, int], str] = {}

    def add(self, rel: str, st: os.stat_result) -> None:
        path = self.root / rel
        if is_whiteout(st):
            parent, _, name = rel.rpartition("/")
            self.tar.addfile(marker(f"{parent}/{WHITEOUT_PREFIX}{name}" if parent else WHITEOUT_PREFIX + name))
        elif stat.S_ISDIR(st.st_mode):
            self.tar.addfile(header(rel, st, tarfile.DIRTYPE))
            if is_opaque(path):
                self.tar.addfile(marker(f"{rel}/{OPAQUE}"))
        elif stat.S_ISREG(st.st_mode):
            self.add_file(rel, st, path)
        elif stat.S_ISLNK(st.st_mode):
            info = header(rel, st, tarfile.SYMTYPE)
            info.linkname = os.readlink(path)
            self.tar.addfile(info)
        elif stat.S_ISFIFO(st.st_mode):
            self.tar.addfile(header(rel, st, tarfile.FIFOTYPE))
        # sockets and real device nodes are not layer content (the runtime provides /dev)

    def add_file(self, rel: str, st: os.stat_result, path: Path) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.inodes:
            info = header(rel, st, tarfile.LNKTYPE)
            info.linkname = self.inodes[key]
            self.tar.addfile(info)
            return
        self.inodes[key] = rel
        info = header(rel, st, tarfile.REGTYPE)
        info.size = st.st_size
        with open(path, "rb") as f:
            self.tar.addfile(info, f)


def write_layer(root: Path, out: BinaryIO, leave_out: frozenset[str] = frozenset()) -> None:
    """Write the tree at ``root`` to ``out`` as a reproducible, uncompressed OCI layer tar; the relative paths in
    ``leave_out`` (and what is below them) are not written."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        writer = LayerWriter(root, tar)
        for rel, st in walk(root):
            if not leave_out or not _under(rel, leave_out):
                writer.add(rel, st)


def _under(rel: str, paths: frozenset[str]) -> bool:
    parts = rel.split("/")
    return any("/".join(parts[:n]) in paths for n in range(1, len(parts) + 1))
