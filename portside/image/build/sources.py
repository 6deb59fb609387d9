"""COPY and ADD planning: what a step copies, its cache key parts, and the copy itself on a cache miss.

Sources come from the build context (after ``.dockerignore``), from an earlier stage (``--from=NAME|INDEX``) or
from an image (``--from=IMAGE``).  The input digest is the content of the context files (memoised by stat), or the
source stage's image id, which already pins its content.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from portside.image.build.cache import State
from portside.image.build.context import GLOB_CHARS, clean, pattern_regex
from portside.image.build.dockerfile import Instruction
from portside.image.build.expand import word, words
from portside.image.build.rootfs import View
from portside.image.build.stages import find
from portside.image.store import LayerRef


@dataclass
class CopyPlan:
    """One COPY/ADD resolved: its cache key parts, and what to copy from where on a miss."""

    inst: Instruction
    created_by: str
    inputs: str
    dest: str
    srcs: list[str]
    named: list[str]  # context sources as matched; ``rels`` are the same after symlinks are followed
    rels: list[str]
    source_state: State | None

    def execute(self, b, state: State) -> LayerRef:
        """Copy into a fresh layer directory over ``state``'s layers and publish it as a layer."""
        import shutil

        from portside.image.build.steps import publish

        view = View(b.store.dirs(state.layers))
        layer = b.store.temp_dir("copy")
        try:
            if self.source_state is None:
                self.copy(b, view, layer, self.context_sources(b))
            else:
                with stage_sources(b, self.inst, self.source_state, self.srcs) as found:
                    self.copy(b, view, layer, found)
            return publish(b, layer)
        finally:
            shutil.rmtree(layer, ignore_errors=True)

    def context_sources(self, b) -> list:
        from portside.image.build.copy import Source

        return [Source(b.context.root / r, b.context.tree(r), os.path.basename(n))
                for r, n in zip(self.rels, self.named)]

    def copy(self, b, view: View, layer: Path, found: list) -> None:
        from portside.image.build.copy import CopySpec, copy_into_layer

        spec = CopySpec(found, self.dest, owner(self.inst, self.inst.flags.get("chown"), view), mode(self.inst),
                        unpack_archives=self.inst.cmd == "ADD")
        copy_into_layer(spec, view, layer)


def split_args(b, inst: Instruction, env: dict[str, str]) -> tuple[list[str], str]:
    items = ([word(inst, w, env, b.escape) for w in inst.form] if inst.form is not None
             else words(inst, inst.args, env, b.escape))
    if len(items) < 2:
        raise inst.error(f"{inst.cmd} requires at least one source and a destination")
    for src in items[:-1]:
        if inst.cmd == "ADD" and "://" in src:
            raise inst.error(f"ADD {src}: URLs are not supported; download the file into the build context")
    return items[:-1], items[-1]


def context_path(inst: Instruction, src: str) -> str:
    rel = clean(src)
    if rel == ".." or rel.startswith("../"):
        raise inst.error(f'{inst.cmd} source "{src}" is outside the build context')
    return rel


def destination(inst: Instruction, dest: str, workdir: str, many: bool) -> str:
    """The absolute destination; a trailing ``/`` (or ``.``) marks a directory, and several sources need one."""
    is_dir = dest.endswith("/") or dest in (".", "..") or dest.endswith("/.")
    if many and not is_dir:
        raise inst.error(f"{inst.cmd} with more than one source needs a destination directory ending in '/', "
                         f"got {dest!r}")
    path = posixpath.normpath(posixpath.join(workdir or "/", dest))
    return path.rstrip("/") + "/" if is_dir else path


def tree(path: Path) -> list[tuple[str, os.stat_result]]:
    """A source's entries relative to itself: ("" , itself), then everything below it. For another stage's
    files: ``.dockerignore`` filters only the build context (``Context.tree``)."""
    from portside.image.diff import walk

    st = os.lstat(path)
    below = list(walk(path)) if os.path.isdir(path) and not os.path.islink(path) else []
    return [("", st)] + below


def owner(inst: Instruction, spec: str | None, view: View) -> tuple[int, int] | None:
    if not spec:
        return None
    user, _, group = spec.partition(":")
    uid = int(user) if user.isdigit() else view.lookup_id(user, "etc/passwd")
    gid = uid if not group else int(group) if group.isdigit() else view.lookup_id(group, "etc/group")
    if uid is None or gid is None:
        missing = user if uid is None else group
        raise inst.error(f"{inst.cmd} --chown={spec}: no {missing!r} in the image's /etc/passwd or /etc/group")
    return uid, gid


def mode(inst: Instruction) -> int | None:
    text = inst.flags.get("chmod")
    if text is None:
        return None
    if not text or any(c not in "01234567" for c in text) or len(text) > 4:
        raise inst.error(f"{inst.cmd} --chmod={text}: expected an octal mode such as 0755")
    return int(text, 8)


def dereference(b, inst: Instruction, rel: str) -> str:
    """A source that is itself a symlink is copied as what it points to (docker's rule), inside the context."""
    path = b.context.root / rel
    if not path.is_symlink():
        return rel
    real, root = os.path.realpath(path), os.path.realpath(b.context.root)
    if os.path.commonpath([real, root]) != root or not os.path.exists(real):
        raise inst.error(f'{inst.cmd} source "{rel}" is a symlink to {os.readlink(path)!r}, which is not in the '
                         "build context")
    target = os.path.relpath(real, root) if real != root else ""
    if not b.context.exists(target):
        raise inst.error(f'{inst.cmd} source "{rel}" is a symlink to {os.readlink(path)!r}, which .dockerignore '
                         "excludes from the build context")
    return target


def context_sources(b, inst: Instruction, srcs: list[str]) -> list[str]:
    found = []
    for src in srcs:
        matches = b.context.match(context_path(inst, src))
        if not matches:
            raise inst.error(f'{inst.cmd} source "{src}" not found in the build context')
        found += matches
    return found


def plan(b, run, inst: Instruction) -> CopyPlan:
    from portside.image.build.steps import scope_env

    srcs, dest = split_args(b, inst, scope_env(run))
    flags = "".join(f"--{k}={inst.flags[k]} " for k in ("from", "chown", "chmod") if k in inst.flags)
    ref = inst.flags.get("from")
    source_state = from_state(b, run, inst, ref) if ref else None
    named = [] if ref else context_sources(b, inst, srcs)
    rels = [dereference(b, inst, rel) for rel in named]
    inputs = source_state.id if source_state else b.context.digest(rels) + "".join(f"|{n}" for n in named)
    dest_path = destination(inst, dest, run.state.inner.get("WorkingDir"), len(rels) > 1 or len(srcs) > 1)
    return CopyPlan(inst, f"{inst.cmd} {flags}{' '.join(srcs)} {dest}", inputs, dest_path, srcs, named, rels,
                    source_state)


def from_state(b, run, inst: Instruction, ref: str) -> State:
    stage = find(b.stages, ref, run.stage.index)
    if stage is not None:
        return b.states[stage.index]
    image = b.store.resolve(ref)
    return State(image.full_config, b.store.layers(image), image.id, image.digest)


@contextmanager
def stage_sources(b, inst: Instruction, state: State, srcs: list[str]) -> Iterator[list]:
    """The sources inside another stage's file system, mounted read-through for the copy when it has layers."""
    from portside.image.build.copy import Source
    from portside.image.build.run import cleanup
    from portside.runtime import mount_overlay, unmount

    dirs = b.store.dirs(state.layers)
    work = b.store.temp_dir("from")
    root = dirs[0] if len(dirs) == 1 else work / "merged"
    try:
        if len(dirs) > 1:
            mount_overlay(dirs, work / "upper", work / "work", root)
        yield [Source(root / rel, tree(root / rel)) for rel in stage_paths(inst, View(dirs), root, srcs)]
    finally:
        if len(dirs) > 1:
            unmount(root)
        cleanup(work)


def stage_paths(inst: Instruction, view: View, root: Path, srcs: list[str]) -> list[str]:
    from portside.image.diff import walk

    found = []
    for src in srcs:
        if GLOB_CHARS & set(src):
            regex = pattern_regex(src.strip("/"))
            matches = [rel for rel, _ in walk(root) if regex.match(rel)]
        else:
            rel = view.resolve(src)
            matches = [rel] if rel == "" or os.path.lexists(root / rel) else []
        if not matches:
            raise inst.error(f'{inst.cmd} --from={inst.flags["from"]}: "{src}" not found in that stage')
        found += matches
    return found


def check(b, stage, inst: Instruction) -> None:
    """Before the build: --from names an earlier stage or an image; plain context sources exist."""
    ref = inst.flags.get("from")
    if ref and find(b.stages, ref, stage.index) is None:
        from portside.image.errors import ImageNotFound
        try:
            b.store.resolve(ref)
        except ImageNotFound:
            raise inst.error(f"{inst.cmd} --from={ref}: no build stage of that name before this one, "
                             f"and no image {ref!r}") from None
    if "$" in inst.args:
        return
    srcs, _ = split_args(b, inst, {})
    if not ref:
        context_sources(b, inst, srcs)
