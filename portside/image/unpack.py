"""Safe extraction of a layer tar into a directory, converting OCI whiteouts to overlayfs's form on the way.

Nothing in a layer may reach outside its directory: absolute member names, ``..`` components, members below a
symlink, hard links to paths outside, and symlinks whose relative target climbs above the root are refused with
an ``UnsafeLayer`` that names the member. A layer may not carry device nodes either (the runtime gives each
container its own ``/dev``); an imported root filesystem, which legitimately has some under ``dev/``, drops those.
Members are created by hand (never ``TarFile.extract``) so every path is checked with ``lstat`` before it is used.

Whiteouts (OCI image spec, "Whiteouts"): ``.wh.NAME`` becomes a 0/0 character device ``NAME`` and
``.wh..wh..opq`` sets ``trusted.overlay.opaque=y`` on its directory, which is how overlayfs reads them in a lower
directory.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from portside.image.errors import UnsafeLayer
from portside.image.layout import OPAQUE, OPAQUE_XATTR, WHITEOUT_PREFIX


def member_parts(name: str, original: str) -> list[str]:
    """Split a member name into checked components: refuse absolute names and ``..``."""
    if name.startswith("/"):
        raise UnsafeLayer(original, "has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayer(original, "climbs out of the root filesystem with '..'")
    return parts


def symlink_escapes(parts: list[str], target: str) -> bool:
    """Whether a relative symlink target, read from the link's directory, climbs above the root."""
    if target.startswith("/"):
        return False  # resolved against the container's root at run time, never the host's
    depth = len(parts) - 1
    for piece in target.split("/"):
        if piece == "..":
            depth -= 1
            if depth < 0:
                return True
        elif piece not in ("", "."):
            depth += 1
    return False


@dataclass
class Extractor:
    """One extraction into ``dest``; ``skip_dev_nodes`` is the import policy for ``dev/`` device nodes;
    ``convert_whiteouts`` False keeps ``.wh.`` names as plain files (a copy into a container is no layer)."""

    dest: Path
    skip_dev_nodes: bool = False
    size: int = 0
    dirs: list[tuple[Path, tarfile.TarInfo]] = field(default_factory=list)
    convert_whiteouts: bool = True

    def parent_dir(self, parts: list[str], original: str, create: bool = True) -> Path:
        """The member's directory inside ``dest``, each component a real directory (never a symlink)."""
        path = self.dest
        for part in parts:
            path = path / part
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if not create:
                    raise UnsafeLayer(original, f"refers to {'/'.join(parts)!r}, which the layer does not hold") from None
                os.mkdir(path, 0o755)
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafeLayer(original, f"lies below {part!r}, which is not a directory (a symlink escape?)")
        return path

    def extract(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = member_parts(member.name, member.name)
        if not parts:
            return  # the root directory itself: dest keeps its own metadata
        parent = self.parent_dir(parts[:-1], member.name)
        base = parts[-1]
        if not self.convert_whiteouts:
            self.create(tar, member, parts, parent / base)
        elif base == OPAQUE:
            os.setxattr(parent, OPAQUE_XATTR, b"y")
        elif base.startswith(WHITEOUT_PREFIX):
            self.whiteout(parent / base[len(WHITEOUT_PREFIX):], member.name)
        else:
            self.create(tar, member, parts, parent / base)

    def whiteout(self, path: Path, original: str) -> None:
        if path.name in ("", ".", ".."):
            raise UnsafeLayer(original, "is a whiteout with no name")
        clear(path, keep_dir=False)
        os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))

    def create(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parts: list[str], path: Path) -> None:
        if member.isdev():
            self.refuse_device(member, parts)
            return
        clear(path, keep_dir=member.isdir())
        if member.isreg():
            self.write_file(tar, member, path)
        elif member.isdir():
            os.makedirs(path, 0o755, exist_ok=True)
            self.dirs.append((path, member))
            return  # directory times are set last: adding entries changes them
        elif member.issym():
            if symlink_escapes(parts, member.linkname):
                raise UnsafeLayer(member.name, f"is a symlink pointing outside the root filesystem "
                                               f"({member.linkname!r})")
            os.symlink(member.linkname, path)
        elif member.islnk():
            self.hardlink(member, path)
        elif member.isfifo():
            os.mkfifo(path)
        else:
            raise UnsafeLayer(member.name, f"has an unsupported tar type {member.type!r}")
        apply_metadata(path, member)

    def refuse_device(self, member: tarfile.TarInfo, parts: list[str]) -> None:
        if self.skip_dev_nodes and parts[0] == "dev":
            return
        raise UnsafeLayer(member.name, "is a device node (layers may hold no device nodes)")

    def write_file(self, tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
        src = tar.extractfile(member)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        self.size += member.size

    def hardlink(self, member: tarfile.TarInfo, path: Path) -> None:
        target = member_parts(member.linkname, member.name)
        if not target:
            raise UnsafeLayer(member.name, "is a hard link to the root directory")
        source = self.parent_dir(target[:-1], member.name, create=False) / target[-1]
        if not os.path.lexists(source) or os.path.isdir(source) and not os.path.islink(source):
            raise UnsafeLayer(member.name, f"is a hard link to {member.linkname!r}, which is not a file of this layer")
        os.link(source, path, follow_symlinks=False)

    def finish(self) -> None:
        for path, member in reversed(self.dirs):
            apply_metadata(path, member)


def clear(path: Path, keep_dir: bool) -> None:
    """Remove what a later member replaces (tar semantics: the last entry for a name wins)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if not keep_dir:
            shutil.rmtree(path)
    else:
        os.unlink(path)


def apply_metadata(path: Path, member: tarfile.TarInfo) -> None:
    os.lchown(path, member.uid, member.gid)
    if not member.issym():
        os.chmod(path, member.mode & 0o7777)  # after chown, which clears set-id bits
    for key, value in member.pax_headers.items():
        if key.startswith("SCHILY.xattr.") and not key.startswith("SCHILY.xattr.trusted."):
            os.setxattr(path, key[len("SCHILY.xattr."):], value.encode("utf-8", "surrogateescape"),
                        follow_symlinks=False)
    os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)


class DiffIdReader:
    """Hashes the uncompressed stream as tarfile reads it, to check a compressed layer against its diff id."""

    def __init__(self, raw) -> None:
        import gzip
        import hashlib

        self.stream = gzip.GzipFile(fileobj=raw, mode="rb")
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.hasher.update(data)
        return data

    def digest(self) -> str:
        while self.read(1 << 20):
            pass  # the zero blocks after the tar's end are part of the diff id
        return "sha256:" + self.hasher.hexdigest()


def extract_all(tar_path: Path, extractor: Extractor, diff_id: str | None) -> None:
    with open(tar_path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        source = DiffIdReader(raw) if gzipped and diff_id else raw
        with tarfile.open(fileobj=source, mode="r|*") as tar:
            for member in tar:
                extractor.extract(tar, member)
        if source is not raw and source.digest() != diff_id:
            from portside.image.errors import CorruptBlob
            raise CorruptBlob(f"layer {tar_path.name}: its content does not match the config's diff id {diff_id}")


def unpack(tar_path: Path, dest: Path, skip_dev_nodes: bool = False, diff_id: str | None = None) -> int:
    """Extract ``tar_path`` (plain or compressed) into the new directory ``dest``; return the bytes of file data.

    A gzipped layer is checked against ``diff_id`` on the way (a plain one is its own blob digest, checked when
    it was stored). On any failure ``dest`` is removed entirely, so a refused layer leaves nothing behind.
    """
    os.mkdir(dest, 0o755)
    extractor = Extractor(dest, skip_dev_nodes)
    try:
        extract_all(tar_path, extractor, diff_id)
        extractor.finish()
    except BaseException as exc:
        shutil.rmtree(dest, ignore_errors=True)
        if isinstance(exc, (tarfile.TarError, EOFError, OSError)) and not isinstance(exc, UnsafeLayer):
            from portside.image.errors import ImageError
            raise ImageError(f"cannot unpack layer {tar_path.name}: {exc}") from exc
        raise
    return extractor.size
