"""COPY and ADD: files from the context (or another stage) written into a fresh layer directory.

No mount is needed: the destination is resolved against the layers below (``rootfs.View``), parent directories
are created in the new layer with the metadata they already have below (so the layer does not change them), and
every copied entry gets a fixed mtime so that identical inputs make an identical layer.  ADD of a local tar
archive unpacks it through the same safe extraction as a pulled layer.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from portside.image.build.rootfs import View

EPOCH = 0


@dataclass(frozen=True)
class Source:
    """One named source: its host path and its entries (relative path, lstat), "" being the source itself."""

    path: Path
    entries: list[tuple[str, os.stat_result]]
    name: str = ""  # the name it is copied under into a directory (a dereferenced symlink keeps its own)

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.entries[0][1].st_mode)


@dataclass(frozen=True)
class CopySpec:
    sources: list[Source]
    dest: str  # absolute path inside the image, WORKDIR already applied
    owner: tuple[int, int] | None = None
    mode: int | None = None
    unpack_archives: bool = False


def ensure_dir(layer: Path, view: View, rel: str, owner: tuple[int, int] | None) -> Path:
    """Create ``rel`` and its parents in the layer, copying metadata of directories that already exist below."""
    path = layer
    parts = [p for p in rel.split("/") if p]
    for n, part in enumerate(parts):
        path = path / part
        if os.path.isdir(path) and not os.path.islink(path):
            continue
        os.mkdir(path)
        below = view.find("/".join(parts[:n + 1]))
        if below is not None and below.is_dir() and not below.is_symlink():
            st = os.lstat(below)
            os.chown(path, st.st_uid, st.st_gid)
            os.chmod(path, stat.S_IMODE(st.st_mode))
        else:
            os.chmod(path, 0o755)
            if owner and n == len(parts) - 1:
                os.chown(path, *owner)
        os.utime(path, (EPOCH, EPOCH))
    return path


def place(src: Path, st: os.stat_result, dst: Path, spec: CopySpec) -> None:
    """Copy one entry (file, directory, symlink) with docker's ownership rule: root unless --chown."""
    import shutil

    if os.path.lexists(dst) and not (stat.S_ISDIR(st.st_mode) and os.path.isdir(dst)):
        shutil.rmtree(dst) if os.path.isdir(dst) and not os.path.islink(dst) else os.unlink(dst)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISDIR(st.st_mode):
        os.makedirs(dst, exist_ok=True)
    elif stat.S_ISREG(st.st_mode):
        shutil.copyfile(src, dst, follow_symlinks=False)
    else:
        return  # sockets, devices and fifos are not copied (as docker)
    uid, gid = spec.owner or (0, 0)
    os.lchown(dst, uid, gid)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, spec.mode if spec.mode is not None else stat.S_IMODE(st.st_mode))
    os.utime(dst, (EPOCH, EPOCH), follow_symlinks=False)


def join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent and name else parent or name


def copy_source(source: Source, target: str, spec: CopySpec, view: View, layer: Path) -> None:
    """A directory's contents go into ``target`` (a path in the image); anything else becomes ``target``.

    A directory that is a symlink in the image (``/bin`` -> ``usr/bin``) is followed rather than replaced by a
    real directory, which would hide everything the link led to.
    """
    actual_of: dict[str, str] = {}
    for rel, st in source.entries:
        if rel == "" and source.is_dir:
            continue
        parent, _, name = join(target, rel).rpartition("/")
        actual = join(actual_of.get(parent, parent), name)
        if stat.S_ISDIR(st.st_mode):
            actual = followed_dir(view, layer, actual)
            actual_of[join(target, rel)] = actual
        place(source.path / rel if rel else source.path, st, layer / actual, spec)
    if source.is_dir:
        os.utime(layer / target, (EPOCH, EPOCH))


def followed_dir(view: View, layer: Path, rel: str) -> str:
    below = view.find(rel) if not os.path.lexists(layer / rel) else None
    if below is None or not below.is_symlink():
        return rel
    resolved = view.resolve(rel)
    if not view.is_dir(resolved):
        return rel
    ensure_dir(layer, view, resolved, None)
    return resolved


def is_archive(source: Source) -> bool:
    import tarfile

    return not source.is_dir and stat.S_ISREG(source.entries[0][1].st_mode) and tarfile.is_tarfile(source.path)


def unpack_archive(source: Source, target: Path) -> None:
    """ADD of a local tar: unpack (safely) beside the layer, then merge into the destination."""
    import shutil

    from portside.image.unpack import unpack

    tmp = target.parent / f".add-{os.urandom(4).hex()}"
    try:
        unpack(source.path, tmp)
        merge_tree(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def merge_tree(src: Path, dst: Path) -> None:
    import shutil

    for entry in os.scandir(src):
        target = dst / entry.name
        if entry.is_dir(follow_symlinks=False) and target.is_dir() and not target.is_symlink():
            merge_tree(Path(entry.path), target)
            continue
        if os.path.lexists(target):
            shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
        os.rename(entry.path, target)


def copy_into_layer(spec: CopySpec, view: View, layer: Path) -> None:
    """Carry out one COPY/ADD into the empty layer directory ``layer`` over the layers in ``view``."""
    dest_rel = view.resolve(spec.dest)
    into_dir = spec.dest.endswith("/") or len(spec.sources) > 1 or view.is_dir(dest_rel)
    for source in spec.sources:
        if spec.unpack_archives and is_archive(source):
            unpack_archive(source, ensure_dir(layer, view, dest_rel, spec.owner))
            continue
        if into_dir or source.is_dir:
            ensure_dir(layer, view, dest_rel, spec.owner)
        else:
            ensure_dir(layer, view, dest_rel.rpartition("/")[0], None)
        target = join(dest_rel, source.name or source.path.name) if into_dir and not source.is_dir else dest_rel
        copy_source(source, target, spec, view, layer)
