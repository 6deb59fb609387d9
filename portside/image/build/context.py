"""The build context: ``.dockerignore``, COPY source matching, and a digest of the files a step copies.

The digest is what makes a no-change rebuild fast: each file's content hash is remembered by (path, size, mtime,
inode, mode) in a small JSON memo in the store, so an unchanged file is never read again, only ``lstat``ed.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

GLOB_CHARS = frozenset("*?[")


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's ignore/COPY glob: ``*`` and ``?`` stay within a path component, ``**`` crosses them; a class
    is negated by ``[^...]`` as in Go's ``filepath.Match`` (``!`` inside a class is a plain character)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            out.append("[" + pattern[i + 1:end].replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


def clean(path: str) -> str:
    """A context-relative path without leading ``/``, ``.`` parts or trailing slashes; one that climbs out of
    the context keeps its leading ``..`` so the caller can refuse it."""
    cleaned = os.path.normpath(path.lstrip("/") or ".")
    return "" if cleaned == "." else cleaned


@dataclass
class Ignore:
    """``.dockerignore`` rules, later ones winning; a rule that matches a directory covers what is inside."""

    rules: list[tuple[bool, re.Pattern[str]]] = field(default_factory=list)

    @classmethod
    def load(cls, context: Path) -> Ignore:
        try:
            text = (context / ".dockerignore").read_text()
        except FileNotFoundError:
            return cls()
        rules = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            body = clean(line[1:].strip() if negate else line)
            if body and body != ".":
                rules.append((negate, pattern_regex(body)))
        return cls(rules)

    @property
    def has_exceptions(self) -> bool:
        return any(negate for negate, _ in self.rules)

    def ignored(self, rel: str) -> bool:
        parts = rel.split("/")
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        result = False
        for negate, regex in self.rules:
            if any(regex.match(p) for p in prefixes):
                result = not negate
        return result


class Context:
    def __init__(self, root: Path, memo_path: Path) -> None:
        self.root = root
        self.ignore = Ignore.load(root)
        self.memo_path = memo_path
        self.memo: dict[str, list] | None = None
        self.dirty = False

    def walk(self, rel: str = "") -> Iterator[tuple[str, os.stat_result]]:
        """Every entry under ``rel`` that ``.dockerignore`` keeps, parents first, sorted.

        An excluded directory is still entered when exceptions exist, and is kept (as docker's context keeps it)
        when something below it is brought back, so that what is copied always has its parent.
        """
        with os.scandir(self.root / rel if rel else self.root) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            st = entry.stat(follow_symlinks=False)
            skip = self.ignore.ignored(path)
            if not stat.S_ISDIR(st.st_mode):
                if not skip:
                    yield path, st
            elif not skip:
                yield path, st
                yield from self.walk(path)
            elif self.ignore.has_exceptions:
                below = list(self.walk(path))
                if below:
                    yield path, st
                    yield from below

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` is in the context as docker sends it: present, and kept or holding something kept."""
        if rel == "":
            return True
        if not os.path.lexists(self.root / rel):
            return False
        if not self.ignore.ignored(rel):
            return True
        is_dir = os.path.isdir(self.root / rel) and not os.path.islink(self.root / rel)
        return is_dir and self.ignore.has_exceptions and next(self.walk(rel), None) is not None

    def match(self, pattern: str) -> list[str]:
        """Context paths a COPY source names: itself, or what its glob matches (``*`` stays in one component)."""
        rel = "" if pattern in ("", ".") else pattern
        if not GLOB_CHARS & set(rel):
            return [rel] if self.exists(rel) else []
        regex = pattern_regex(rel)
        return [path for path, _ in self.walk() if regex.match(path)]

    def content_digest(self, rel: str, st: os.stat_result) -> str:
        """sha256 of a file's bytes, from the memo when size, mtime, inode and mode are unchanged."""
        import hashlib

        if self.memo is None:
            self.memo = self.load_memo()
        path = str(self.root / rel)
        key = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode]
        known = self.memo.get(path)
        if known and known[:4] == key:
            return known[4]
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        self.memo[path] = key + [digest]
        self.dirty = True
        return digest

    def load_memo(self) -> dict[str, list]:
        try:
            return json.loads(self.memo_path.read_bytes())
        except (FileNotFoundError, ValueError):
            return {}

    def save_memo(self) -> None:
        if self.dirty and self.memo is not None:
            from portside.image.layout import write_atomic

            self.memo_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.memo_path, json.dumps(self.memo).encode())
            self.dirty = False

    def entries(self, rel: str) -> Iterator[tuple[str, os.stat_result]]:
        """A source and, for a directory, everything under it that is not ignored."""
        st = os.lstat(self.root / rel) if rel else os.stat(self.root)
        if rel:
            yield rel, st
        if stat.S_ISDIR(st.st_mode):
            yield from self.walk(rel)

    def tree(self, rel: str) -> list[tuple[str, os.stat_result]]:
        """What a COPY of ``rel`` copies, relative to ``rel``: ("", itself), then what ``.dockerignore`` keeps
        below it. The filter applies to every context source alike, however the source was spelled."""
        st = os.lstat(self.root / rel) if rel else os.stat(self.root)
        if not stat.S_ISDIR(st.st_mode):
            return [("", st)]
        cut = len(rel) + 1 if rel else 0
        return [("", st)] + [(path[cut:], below) for path, below in self.walk(rel)]

    def digest(self, sources: list[str]) -> str:
        """One digest over what a COPY of ``sources`` would copy: names, types, modes, contents, link targets."""
        import hashlib

        hasher = hashlib.sha256()
        for source in sources:
            for rel, st in self.entries(source):
                if stat.S_ISREG(st.st_mode):
                    detail = self.content_digest(rel, st)
                elif stat.S_ISLNK(st.st_mode):
                    detail = os.readlink(self.root / rel)
                else:
                    detail = ""
                hasher.update(f"{rel}\0{st.st_mode:o}\0{detail}\n".encode())
        return hasher.hexdigest()
