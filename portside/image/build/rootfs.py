"""Reading a stage's root filesystem straight from its layer directories, without mounting them.

COPY writes a new layer directory and needs to know what the layers below hold at its destination: whether a
path is a directory, the metadata of an existing parent, where a symlink in the path leads (docker resolves the
destination inside the image's root, so ``COPY x /bin/`` on a merged-/usr image lands in ``/usr/bin``).  Lookups
go top layer down and stop at whiteouts and opaque directories, as overlayfs does.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from portside.image.layout import OPAQUE_XATTR

MAX_LINKS = 40


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


class View:
    """The merged view of ``layers`` (lowest first) as overlayfs would present it."""

    def __init__(self, layers: list[Path]) -> None:
        self.top_down = list(reversed(layers))

    def find(self, rel: str) -> Path | None:
        """The topmost layer's entry for ``rel`` (no symlinks followed), or None if absent or whited out."""
        parts = [p for p in rel.split("/") if p]
        for layer in self.top_down:
            path = layer.joinpath(*parts)
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                if self.hides_below(layer, parts):
                    return None
                continue
            return None if is_whiteout(st) else path
        return None

    def hides_below(self, layer: Path, parts: list[str]) -> bool:
        """Whether a parent of the path in this layer is opaque or not a directory (so lower layers are hidden)."""
        path = layer
        for part in parts[:-1]:
            path = path / part
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                return False
            if not stat.S_ISDIR(st.st_mode) or opaque(path):
                return True
        return False

    def resolve(self, path: str, follow_last: bool = True) -> str:
        """``path`` with every symlink resolved inside the root; returned relative to it, without ``..``."""
        todo, done, hops = [p for p in path.split("/") if p not in ("", ".")], [], 0
        while todo:
            part = todo.pop(0)
            if part == "..":
                done = done[:-1]
                continue
            entry = self.find("/".join(done + [part]))
            if entry is None or not entry.is_symlink() or (not todo and not follow_last):
                done.append(part)
                continue
            hops += 1
            if hops > MAX_LINKS:
                raise OSError(f"too many levels of symbolic links resolving {path}")
            target = os.readlink(entry)
            done = [] if target.startswith("/") else done
            todo = [p for p in target.split("/") if p not in ("", ".")] + todo
        return "/".join(done)

    def is_dir(self, rel: str) -> bool:
        entry = self.find(rel) if rel else None
        return rel == "" or entry is not None and entry.is_dir() and not entry.is_symlink()

    def read_text(self, rel: str) -> str:
        entry = self.find(self.resolve(rel))
        return entry.read_text(errors="replace") if entry is not None and entry.is_file() else ""

    def lookup_id(self, name: str, database: str) -> int | None:
        """A user or group id by name from the image's /etc/passwd or /etc/group."""
        for line in self.read_text(database).splitlines():
            fields = line.split(":")
            if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
                return int(fields[2])
        return None
