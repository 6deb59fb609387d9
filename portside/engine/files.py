"""A container's files: ``cp`` both ways (a path's stat, a tar of it, a tar extracted into it), ``diff`` and
``export``, on running and stopped containers alike.

Reading and writing go through an ``FSView`` (``runtime/fsview.py``): a thread chrooted into the container's
root filesystem with its volumes mounted on top, in a mount namespace of its own, so paths resolve as in the
container and no mount is ever left on the host. A running container's root is its live overlay; a stopped one's
is mounted for the view alone: read-only from its layers and its upper directory for a read, read-write for a
write, which holds the container's start lock so that it cannot start meanwhile (two overlays over one upper
directory would corrupt it). ``changes`` needs no view: it compares the upper directory with the image's layers.

Members of an extracted tar land only under the destination: names with ``..`` or absolute names are refused, as
are members below a symlink (``image.unpack``'s checks); the ``chroot`` keeps every symlink inside the container.
"""

from __future__ import annotations

import bz2  # noqa: F401 - tarfile imports the decompressors lazily; they must be loaded before any chroot
import fcntl
import lzma  # noqa: F401 - as bz2
import os
import posixpath
import stat
import tarfile
import zlib  # noqa: F401 - as bz2
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from portside.engine.model import ContainerRecord
from portside.engine.records import Paths, Records
from portside.image.diff import is_opaque, is_whiteout
from portside.image.errors import UnsafeLayer
from portside.image.unpack import Extractor
from portside.runtime import libc, rootfs
from portside.runtime.errors import InvalidArgument, NotFound
from portside.runtime.fsview import FSView, resolve_in
from portside.runtime.plain import Plain
from portside.runtime.spec import resolve_user

MODIFIED, ADDED, DELETED = 0, 1, 2  # docker's change kinds (C, A, D)
ETC_FILES = ("hostname", "hosts", "resolv.conf")  # written per start beside the record, bound over /etc
RUNTIME_MOUNTS = ("/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys/fs/cgroup")


class PathStat(Plain):
    """docker's ``ContainerPathStat`` before rendering: ``mode`` is the st_mode (``lstat``: a symlink is one),
    ``link_target`` the symlink's final target inside the container."""

    __slots__ = ("name", "size", "mode", "mtime_ns", "link_target")

    def __init__(self, name: str, size: int, mode: int, mtime_ns: int, link_target: str = "") -> None:
        self.name, self.size, self.mode, self.mtime_ns, self.link_target = name, size, mode, mtime_ns, link_target

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)


class Change(Plain):
    __slots__ = ("path", "kind")

    def __init__(self, path: str, kind: int) -> None:
        self.path, self.kind = path, kind

    @property
    def letter(self) -> str:
        return "CAD"[self.kind]


class FileNotInContainer(NotFound):
    """docker's words, which its clients show as they are."""

    def __init__(self, path: str, container: str) -> None:
        super().__init__(f"Could not find the file {path} in container {container}")
        self.path, self.container = path, container


class ContainerFiles:
    """The file verbs of one engine root; ``images`` gives the image store when a stopped container's layers are
    needed."""

    def __init__(self, records: Records, images: Callable[[], object]) -> None:
        self.records, self._images = records, images

    # -- the verbs -------------------------------------------------------------------------------------------

    def stat(self, cid: str, path: str, ref: str = "") -> PathStat:
        """``path``'s stat inside the container (``lstat``: a symlink is reported as one, with its target)."""
        absolute = container_path(path)
        with self._view(cid) as view:
            return _missing_as(view.run(_stat, absolute), path, ref or cid)

    def archive(self, cid: str, path: str, ref: str = "") -> Archive:
        """An open archive of ``path``: its ``stat`` now, its tar when ``write`` is called; close it after."""
        absolute = container_path(path)
        view = self._view(cid)
        try:
            found = _missing_as(view.run(_stat, absolute), path, ref or cid)
        except BaseException:
            view.close()
            raise
        return Archive(view, absolute, found)

    def extract(self, cid: str, path: str, source: BinaryIO, ref: str = "", allow_overwrite_dir: bool = True,
                owner: tuple[int, int] | None = None) -> None:
        """Unpack the tar (plain or compressed) read from ``source`` into the directory ``path``. With
        ``allow_overwrite_dir`` False, a member may not replace a directory with a non-directory or the reverse;
        ``owner`` (uid, gid) replaces the members' own."""
        absolute = container_path(path)
        record = self.records.record(cid)
        with self._view(cid, writable=True) as view:
            target = view.run(_extraction_point, absolute)
            if target is None:
                raise FileNotInContainer(path, ref or cid)
            _check_writable(record, target)
            view.run(_extract, source, target, allow_overwrite_dir, owner)

    def owner(self, cid: str, user: str) -> tuple[int, int]:
        """The uid and gid of ``user`` (docker's ``--user`` forms) by the container's own passwd and group."""
        with self._view(cid) as view:
            uid, gid, _ = view.run(resolve_user, Path("/"), user)
        return uid, gid

    def export(self, cid: str, out: BinaryIO) -> None:
        """The container's root filesystem as a tar (its volumes are not part of it, as with docker)."""
        with self._view(cid, volumes=False) as view:
            view.run(_export, out)

    def changes(self, cid: str) -> list[Change]:
        """What the container changed in its image's files: the upper directory against the layers."""
        paths, record = self.records.paths(cid), self.records.record(cid)
        upper = paths.dir / "upper"
        if not upper.is_dir():
            return []
        images = self._images()
        layers = list(reversed(images.layer_dirs(images.resolve(record.image))))  # top first
        return Differ(upper, layers, _placeholders(record)).changes()

    # -- the view --------------------------------------------------------------------------------------------

    def _view(self, cid: str, writable: bool = False, volumes: bool = True) -> FSView:
        paths, record = self.records.paths(cid), self.records.record(cid)
        lock = None
        live = rootfs.is_mounted(paths.rootfs)
        if writable and not live:
            lock = _start_lock(paths)  # the container may not start while its upper directory is ours
            live = rootfs.is_mounted(paths.rootfs)
        try:
            layers = [] if live else self._layers(paths, record, writable)
            view = _LockedView(lambda: _setup(paths, record, layers, writable, volumes), lock)
        except BaseException:
            if lock is not None:
                os.close(lock)
            raise
        return view

    def _layers(self, paths: Paths, record: ContainerRecord, writable: bool) -> list[Path]:
        """The image's layers, lowest first, and for a read the container's own upper directory above them."""
        images = self._images()
        layers = images.layer_dirs(images.resolve(record.image))
        upper = paths.dir / "upper"
        return layers + [upper] if not writable and upper.is_dir() else layers


class Archive:
    """A path being archived: ``stat`` is known, ``write(out)`` streams the tar; ``close`` ends the view."""

    def __init__(self, view: FSView, absolute: str, found: PathStat) -> None:
        self.view, self.absolute, self.stat = view, absolute, found

    def write(self, out: BinaryIO) -> None:
        self.view.run(_archive, out, self.absolute, self.stat)

    def close(self) -> None:
        self.view.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _LockedView(FSView):
    """A view that releases the container's start lock (if it took it) when it closes."""

    def __init__(self, setup: Callable[[], Path], lock: int | None) -> None:
        self._lock = lock
        super().__init__(setup)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._lock is not None:
                os.close(self._lock)
                self._lock = None


def _start_lock(paths: Paths) -> int:
    fd = os.open(paths.dir / "start.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _setup(paths: Paths, record: ContainerRecord, layers: list[Path], writable: bool, volumes: bool) -> Path:
    """In the view's thread, before its chroot: the root filesystem (unless it is live) and the volumes on it;
    returns the root. A mount point the container lacks (it never started) is made where it lands: in its upper
    directory for a write, in the scratch one for a read."""
    root = paths.rootfs
    if layers and writable:
        rootfs.mount_overlay(layers, paths.dir / "upper", paths.dir / "work", root)
    elif layers:
        root = _scratch_overlay(paths.rootfs, layers)
    if not volumes:
        return root
    for m in record.mounts:
        if m.name:
            Path(m.source).mkdir(parents=True, exist_ok=True)  # a named volume is made at its first use
    binds = [(Path(m.source), m.destination, m.rw) for m in record.mounts]
    binds += [(paths.dir / name, f"/etc/{name}", True) for name in ETC_FILES if (paths.dir / name).exists()]
    for source, destination, rw in binds:
        if not source.exists():
            continue  # a bind of a host path that is not there (yet): nothing to see or write through
        target = resolve_in(root, destination)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.mkdir() if source.is_dir() else target.touch()
        rootfs.bind(source, target, writable=rw and writable)
    return root


def _scratch_overlay(at: Path, layers: list[Path]) -> Path:
    """``layers`` (the container's upper directory on top) under a throw-away upper directory on a tmpfs at
    ``at``: a read can place the volumes' mount points, and nothing it does reaches the container's files."""
    at.mkdir(exist_ok=True)  # a container that never started has no mount point yet
    err = libc.mount("tmpfs", str(at), "tmpfs", 0, "mode=0700")
    if err:
        raise rootfs.MountError(f"cannot mount a tmpfs at {at}: {os.strerror(err)}")
    for name in ("upper", "work", "root"):
        (at / name).mkdir()
    rootfs.mount_overlay(layers, at / "upper", at / "work", at / "root", volatile=True)
    return at / "root"


def _check_writable(record: ContainerRecord, target: str) -> None:
    """docker's refusals for a read-only destination, which would otherwise fail member by member."""
    for m in sorted(record.mounts, key=lambda m: len(m.destination), reverse=True):
        if target == m.destination or target.startswith(m.destination.rstrip("/") + "/"):
            if not m.rw:
                raise InvalidArgument("mounted volume is marked read-only")
            return
    if record.host.readonly_rootfs:
        raise InvalidArgument("container rootfs is marked read-only")


def container_path(path: str) -> str:
    """docker's reading of the ``path`` parameter: relative to the container's root (``tmp/x`` is ``/tmp/x``),
    cleaned, but keeping a trailing ``/`` or ``/.`` (they ask for a directory, or its contents)."""
    if not path:
        raise InvalidArgument("bad parameter: path cannot be empty")
    cleaned = posixpath.normpath("/" + path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/.") and cleaned != "/":
        return cleaned + "/."
    if path.endswith("/") and cleaned != "/":
        return cleaned + "/"
    return cleaned


def base_name(path: str) -> str:
    """Go's ``filepath.Base``: the last element, trailing slashes ignored (docker names entries with it)."""
    stripped = path.rstrip("/")
    if not stripped:
        return "/" if path else "."
    return stripped.rsplit("/", 1)[-1]


def _missing_as(found: PathStat | None, path: str, ref: str) -> PathStat:
    if found is None:
        raise FileNotInContainer(path, ref)
    return found


# -- what runs inside the view (no imports, no name or time zone lookups: see runtime/fsview.py) ----------------

def _stat(absolute: str) -> PathStat | None:
    try:
        st = os.lstat(absolute)
    except (FileNotFoundError, NotADirectoryError):
        return None
    target = os.path.realpath(absolute) if stat.S_ISLNK(st.st_mode) else ""
    return PathStat(base_name(absolute), st.st_size, st.st_mode, st.st_mtime_ns, target)


def _extraction_point(absolute: str) -> str | None:
    """The directory a tar is extracted into, symlinks (the last one too) followed; None when it is missing."""
    resolved = os.path.realpath(absolute)
    if not os.path.exists(resolved):
        return None
    if not os.path.isdir(resolved):
        raise InvalidArgument("extraction point is not a directory")
    return resolved


def _archive(out: BinaryIO, absolute: str, found: PathStat) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        TreeWriter(tar).add(absolute.removesuffix("/"), base_name(absolute))


def _export(out: BinaryIO) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        writer = TreeWriter(tar)
        for name in sorted(os.listdir("/")):
            writer.add("/" + name, name)


def _extract(source: BinaryIO, target: str, allow_overwrite_dir: bool, owner: tuple[int, int] | None) -> None:
    prefix = [p for p in target.split("/") if p]
    extractor = CopyExtractor(Path("/"), prefix=prefix, allow_overwrite_dir=allow_overwrite_dir, owner=owner)
    try:
        with tarfile.open(fileobj=source, mode="r|*") as tar:
            for member in tar:
                extractor.extract(tar, member)
        extractor.finish()
    except tarfile.ReadError as exc:
        if str(exc) != "empty file":  # an empty body is an empty archive, as dockerd takes it
            raise InvalidArgument(f"the archive is not a valid tar: {exc}") from None
    except (tarfile.TarError, EOFError) as exc:
        raise InvalidArgument(f"the archive is not a valid tar: {exc}") from None


class CopyExtractor(Extractor):
    """``image.unpack``'s safe extraction, with cp's rules: members go below ``prefix`` (the destination inside
    the container), ``.wh.`` names are plain files, and docker's noOverwriteDirNonDir check."""

    def __init__(self, dest: Path, prefix: list[str], allow_overwrite_dir: bool,
                 owner: tuple[int, int] | None) -> None:
        super().__init__(dest, convert_whiteouts=False)
        self.prefix, self.allow_overwrite_dir, self.owner = prefix, allow_overwrite_dir, owner

    def extract(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        original = member.name
        member.name = "/".join(self.prefix + [member.name.lstrip("/")])  # docker reads "/x" as "x" too
        if self.owner is not None:
            member.uid, member.gid = self.owner
        if member.islnk():
            member.linkname = "/".join(self.prefix + [member.linkname.lstrip("/")])
        try:
            super().extract(tar, member)
        except UnsafeLayer as exc:
            why = str(exc).split(f"{exc.member!r} ", 1)[-1].replace("the layer", "the archive")
            raise InvalidArgument(f"refusing archive member {original!r}: {why}") from None

    def create(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parts: list[str], path: Path) -> None:
        if not self.allow_overwrite_dir:
            try:
                existing = os.lstat(path)
            except FileNotFoundError:
                existing = None
            if existing is not None and stat.S_ISDIR(existing.st_mode) != member.isdir():
                what = ("directory", "non-directory") if stat.S_ISDIR(existing.st_mode) else \
                    ("non-directory", "directory")
                raise InvalidArgument(f'cannot overwrite {what[0]} "/{"/".join(parts)}" with {what[1]} '
                                      f'"{member.name}"')
        super().create(tar, member, parts, path)


class TreeWriter:
    """Adds a path (and everything under a directory) to a tar as docker's archives name them: numeric owners
    and no names (looking names up would read the container's NSS configuration), whole-second times, hard
    links as links, no sockets."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.inodes: dict[tuple[int, int], str] = {}

    def add(self, path: str, name: str) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return  # removed while we walked (a running container)
        self.entry(path, name, st)
        if stat.S_ISDIR(st.st_mode):
            try:
                children = sorted(os.listdir(path))
            except FileNotFoundError:
                return
            for child in children:
                self.add(f"{path.rstrip('/')}/{child}", f"{name}/{child}")

    def entry(self, path: str, name: str, st: os.stat_result) -> None:
        info = tarfile.TarInfo(name)
        info.mode, info.uid, info.gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
        info.mtime, info.uname, info.gname = int(st.st_mtime), "", ""
        mode = st.st_mode
        if stat.S_ISREG(mode):
            self.file(path, info, st)
            return
        if stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        else:
            return  # a socket: docker's archives leave them out
        self.tar.addfile(info)

    def file(self, path: str, info: tarfile.TarInfo, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.inodes:
            info.type, info.linkname = tarfile.LNKTYPE, self.inodes[key]
            self.tar.addfile(info)
            return
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return
        with os.fdopen(fd, "rb") as f:
            info.size = os.fstat(fd).st_size
            self.tar.addfile(info, _Exactly(f, info.size))
        self.inodes[key] = info.name


class _Exactly:
    """A file read as exactly ``size`` bytes: one that grows while archived is cut, one that shrinks is padded
    with zeros, so the tar stays well formed whatever the container does meanwhile."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self.f, self.left = f, size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n) if n else b""
        data += bytes(n - len(data))
        self.left -= n
        return data


# -- changes -----------------------------------------------------------------------------------------------------

def _placeholders(record: ContainerRecord) -> frozenset[str]:
    """The mount points the runtime creates in the upper directory at a start (docker keeps its own in an init
    layer below the container's): not the container's changes."""
    return frozenset(RUNTIME_MOUNTS + tuple(f"/etc/{n}" for n in ETC_FILES)
                     + tuple(m.destination.rstrip("/") for m in record.mounts))


class Differ:
    """docker's ``diff`` of an overlay upper directory: a whiteout is a deletion, an entry the layers lack an
    addition, one they have a modification, and a directory is listed as modified when something under it
    changed or its own metadata did; an opaque directory lists what it hides of the layers as deleted."""

    def __init__(self, upper: Path, layers: list[Path], placeholders: frozenset[str]) -> None:
        self.upper, self.layers, self.placeholders = upper, layers, placeholders
        self.out: list[Change] = []

    def changes(self) -> list[Change]:
        self.walk("")
        return self.out

    def walk(self, rel: str) -> bool:
        """Record the changes under the upper directory ``rel``; True when any was recorded."""
        directory = self.upper / rel if rel else self.upper
        found = False
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: os.fsencode(e.name))
        for entry in entries:
            found = self.visit(f"/{rel}/{entry.name}" if rel else f"/{entry.name}",
                               entry.stat(follow_symlinks=False)) or found
        if rel and is_opaque(directory):
            for name in sorted(self.lower_names(rel)):
                if not os.path.lexists(directory / name):
                    self.out.append(Change(f"/{rel}/{name}", DELETED))
                    found = True
        return found

    def visit(self, path: str, st: os.stat_result) -> bool:
        rel = path.lstrip("/")
        if is_whiteout(st):
            self.out.append(Change(path, DELETED))
            return True
        lower = self.lower(rel)
        if path in self.placeholders and lower is None and (st.st_size == 0 or stat.S_ISDIR(st.st_mode)):
            if stat.S_ISDIR(st.st_mode):
                return self.walk(rel)
            return False
        if not stat.S_ISDIR(st.st_mode):
            self.out.append(Change(path, ADDED if lower is None else MODIFIED))
            return True
        index = len(self.out)
        below = self.walk(rel)
        if lower is None:
            if not below and any(p.startswith(path + "/") for p in self.placeholders):
                return False  # made only to hold the runtime's mount points (an image without /etc, say)
            self.out.insert(index, Change(path, ADDED))
            return True
        if below or self.dir_changed(path, st, lower):
            self.out.insert(index, Change(path, MODIFIED))
            return True
        return False

    def dir_changed(self, path: str, st: os.stat_result, lower: os.stat_result) -> bool:
        """Its own metadata: mode and owner; its time too unless the runtime's mount points touched it."""
        if (st.st_mode, st.st_uid, st.st_gid) != (lower.st_mode, lower.st_uid, lower.st_gid):
            return True
        holds_placeholder = any(p.rsplit("/", 1)[0] == path for p in self.placeholders)
        return not holds_placeholder and int(st.st_mtime) != int(lower.st_mtime)

    def lower(self, rel: str) -> os.stat_result | None:
        """The entry in the topmost layer that has it (None when none has, or the top one whites it out)."""
        for layer in self.layers:
            try:
                st = os.lstat(layer / rel)
            except (FileNotFoundError, NotADirectoryError):
                continue
            return None if is_whiteout(st) else st
        return None

    def lower_names(self, rel: str) -> set[str]:
        names: set[str] = set()
        for layer in self.layers:
            try:
                names.update(os.listdir(layer / rel))
            except (FileNotFoundError, NotADirectoryError):
                pass
        return names

