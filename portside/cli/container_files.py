"""Container file commands with docker's names and rules: ``cp``, ``diff``, ``export``, and ``container top``.

``cp`` follows docker's CLI: a path ending in ``/.`` copies a directory's contents, a destination that exists as
a directory receives the source under its own name, one that does not exist is created with the source's content
under the destination's name, and ``-`` is a tar on stdin or stdout. The container side is the engine's
(``engine.archive``, ``engine.extract``); the local side unpacks with the image package's safe extraction, so a
tar from a container cannot write outside the destination either.
"""

from __future__ import annotations

import os
import sys
import tarfile
import threading
from pathlib import Path

from portside.cli.container_info import print_table
from portside.cli.containers import command, engine_at
from portside.cli.flags import Parser, flag
from portside.runtime.errors import InvalidArgument, NotFound

CP_USAGE = "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       portside cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"


@command
def cmd_cp(argv: list[str], root: str) -> int:
    flags = [flag("-a --archive", "archive", help="files in the container belong to its user (--user)"),
             flag("-L --follow-link", "follow", help="copy what a symlink source points to")]
    opts, args = Parser("cp", CP_USAGE, flags, interspersed=True).parse(argv)
    if len(args) != 2:
        raise InvalidArgument("cp: requires exactly 2 arguments: CONTAINER:SRC_PATH DEST_PATH, or the reverse")
    src, dst = (split_cp_arg(a) for a in args)
    if src[0] and dst[0]:
        raise InvalidArgument("cp: copying between containers is not supported")
    if not src[0] and not dst[0]:
        raise InvalidArgument("cp: must specify at least one container source (CONTAINER:PATH)")
    engine = engine_at(root)
    if src[0]:
        copy_from(engine, src[0], src[1], dst[1], opts["follow"])
    else:
        copy_to(engine, src[1], dst[0], dst[1], opts["archive"], opts["follow"])
    return 0


def split_cp_arg(arg: str) -> tuple[str, str]:
    """("container", "path") for ``CONTAINER:PATH``, ("", "path") for a local path; like docker, a path that
    starts with / or . is local even with a colon in it."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return "", arg
    ref, _, path = arg.partition(":")
    return ref, path


# -- from a container ------------------------------------------------------------------------------------------

def copy_from(engine, ref: str, path: str, dst: str, follow: bool) -> None:
    archive = engine.archive(ref, path)
    try:
        if follow and archive.stat.link_target:
            archive.close()
            path = archive.stat.link_target
            archive = engine.archive(ref, path)
        if dst == "-":
            archive.write(sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        into, rename = _local_target(dst, archive.stat.is_dir)
        _pipe(archive.write, lambda tar: _extract_local(tar, into, _base(path), rename))
    finally:
        archive.close()


def _local_target(dst: str, src_is_dir: bool) -> tuple[Path, str]:
    """Where to unpack on this side, and the name the source takes there ("" keeps its own)."""
    target = Path(dst)
    if target.is_dir():
        return target, ""
    if target.exists() and src_is_dir:
        raise InvalidArgument(f"cp: cannot copy a directory to {dst}, which is a file")
    if not target.exists() and not src_is_dir and dst.endswith("/"):
        raise InvalidArgument(f"cp: destination directory {dst} does not exist")
    parent = target.parent
    if not parent.is_dir():
        raise InvalidArgument(f"cp: destination directory {parent} does not exist")
    return parent, target.name


def _extract_local(tar: tarfile.TarFile, into: Path, base: str, rename: str) -> None:
    from portside.image.errors import UnsafeLayer
    from portside.image.unpack import Extractor

    extractor = Extractor(into, convert_whiteouts=False)
    try:
        for member in tar:
            if rename:
                member.name = _rebase(member.name, base, rename)
            extractor.extract(tar, member)
        extractor.finish()
    except UnsafeLayer as exc:
        raise InvalidArgument(f"cp: {exc}".replace("refusing layer", "refusing the archive's")) from None


# -- into a container ------------------------------------------------------------------------------------------

def copy_to(engine, src: str, ref: str, path: str, archive: bool, follow: bool) -> None:
    if src == "-":
        engine.extract(ref, path, sys.stdin.buffer, allow_overwrite_dir=False, copy_uid_gid=archive)
        return
    local = Path(src)
    if follow:
        local = local.resolve()
    if not os.path.lexists(local):
        raise NotFound(f"cp: {src}: no such file or directory")
    src_is_dir = local.is_dir() and not local.is_symlink()
    into, rename = _container_target(engine, ref, path, src_is_dir)
    base = "." if src.endswith("/.") else local.name or "."
    name = rename or base

    def produce(out) -> None:
        from portside.engine.files import TreeWriter

        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            TreeWriter(tar).add(str(local), name)

    _pipe(produce, raw=lambda f: engine.extract(ref, into, f, allow_overwrite_dir=False, copy_uid_gid=archive))


def _container_target(engine, ref: str, path: str, src_is_dir: bool) -> tuple[str, str]:
    """docker's rules for the container side: (directory to extract into, name the source takes, "" for its
    own)."""
    try:
        found = engine.stat_path(ref, path)
    except NotFound:
        found = None
    if found is not None and found.link_target:
        path, found = found.link_target, engine.stat_path(ref, found.link_target)
    if found is not None and found.is_dir:
        return path, ""
    if found is not None and src_is_dir:
        raise InvalidArgument(f"cp: cannot copy a directory to {ref}:{path}, which is a file")
    if found is None and not src_is_dir and path.endswith("/"):
        raise InvalidArgument(f"cp: destination directory {ref}:{path} does not exist")
    parent, _, name = path.rstrip("/").rpartition("/")
    return parent or "/", name


# -- shared ----------------------------------------------------------------------------------------------------

def _base(path: str) -> str:
    from portside.engine.files import base_name, container_path

    return base_name(container_path(path))


def _rebase(name: str, old: str, new: str) -> str:
    """A member's first component ``old`` renamed ``new`` (docker's RebaseArchiveEntries)."""
    stripped = name.rstrip("/")
    if stripped == old:
        return new
    if stripped.startswith(old + "/"):
        return new + name[len(old):]
    return name


def _pipe(produce, consume=None, raw=None) -> None:
    """``produce(out)`` writes a tar in a thread; this thread reads it: as a tar (``consume(tar)``) or as a file
    (``raw(file)``). The first failure of either is raised."""
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with open(write_fd, "wb", buffering=1 << 16) as out:
                produce(out)
        except BrokenPipeError:
            pass  # the reader failed first: its error is the one to show
        except BaseException as exc:  # noqa: BLE001 - raised below, in the caller's thread
            failure.append(exc)

    writer = threading.Thread(target=run, daemon=True)
    writer.start()
    try:
        with open(read_fd, "rb") as source:
            if raw is not None:
                raw(source)
            else:
                with tarfile.open(fileobj=source, mode="r|") as tar:
                    consume(tar)
            while source.read(1 << 16):
                pass  # the zero blocks after the tar's end: let the writer finish
    finally:
        writer.join()
    if failure:
        raise failure[0]


# -- diff, export, container top --------------------------------------------------------------------------------

@command
def cmd_diff(argv: list[str], root: str) -> int:
    _, args = Parser("diff", "CONTAINER", [], interspersed=True).parse(argv)
    if len(args) != 1:
        raise InvalidArgument("diff: requires exactly one CONTAINER argument")
    for change in engine_at(root).changes(args[0]):
        sys.stdout.write(f"{change.letter} {change.path}\n")
    return 0


@command
def cmd_export(argv: list[str], root: str) -> int:
    flags = [flag("-o --output", "output", "value", "write to a file instead of stdout", "FILE")]
    opts, args = Parser("export", "[OPTIONS] CONTAINER", flags, interspersed=True).parse(argv)
    if len(args) != 1:
        raise InvalidArgument("export: requires exactly one CONTAINER argument")
    if not opts["output"] and sys.stdout.isatty():
        raise InvalidArgument("export: refusing to write a tar to a terminal: use -o FILE or redirect stdout")
    engine = engine_at(root)
    if opts["output"]:
        with open(opts["output"], "wb") as out:
            engine.export(args[0], out)
    else:
        engine.export(args[0], sys.stdout.buffer)
        sys.stdout.buffer.flush()
    return 0


def container_top(argv: list[str], root: str) -> int:
    _, args = Parser("container top", "CONTAINER [ps OPTIONS]", []).parse(argv)
    if not args:
        raise InvalidArgument("container top: requires a CONTAINER argument")
    found = engine_at(root).top(args[0], " ".join(args[1:]))
    print_table(found.titles, found.processes)
    return 0


ALIASES = {"ls": "ps", "list": "ps", "remove": "rm"}


@command
def cmd_container(argv: list[str], root: str) -> int:
    """docker's ``container`` group: ``container top``, and each container command under its own name (with
    docker's ``ls`` for ``ps``)."""
    from portside.cli.main import COMMANDS, serve

    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write("usage: portside container COMMAND [ARG...]\n\n  top CONTAINER [ps OPTIONS]   the "
                         "container's processes\n  prune [-f] [--filter F]      remove the stopped containers\n"
                         "  and every container command: run, ps (ls), cp, diff, ...\n")
        return 0 if argv else 2
    sub = ALIASES.get(argv[0], argv[0])
    if sub == "top":
        return container_top(argv[1:], root)
    if sub == "prune":
        from portside.cli.containers import cmd_container_prune

        return cmd_container_prune(argv[1:], root)
    if COMMANDS.get(sub, ("",))[0] != "portside.cli.containers" or sub == "container":
        raise InvalidArgument(f"container: unknown command {argv[0]!r} (expected top or a container command)")
    return serve([sub] + argv[1:], root)
