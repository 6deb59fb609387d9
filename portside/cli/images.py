"""Image commands: each parses its flags and delegates to ``portside.image``; errors become one line and 125."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from portside.cli.main import fail
from portside.runtime.errors import PortsideError


def command(func: Callable[[list[str], str], int]) -> Callable[[list[str], str], int]:
    """Turn a ``PortsideError`` into the one-line error every command prints."""
    @wraps(func)
    def run(argv: list[str], root: str) -> int:
        try:
            return func(argv, root)
        except PortsideError as exc:
            return fail(str(exc), exc.exit_code)
    return run


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"portside {prog}", description=description)


def store_at(root: str):
    from functools import partial

    from portside.engine.records import image_event
    from portside.image import ImageStore

    return ImageStore(Path(root) / "image", on_event=partial(image_event, Path(root)))


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for row in [headers] + rows:
        sys.stdout.write("   ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")


@command
def cmd_import(argv: list[str], root: str) -> int:
    p = parser("import", "Make a one-layer image from a root filesystem tarball")
    p.add_argument("tarball")
    p.add_argument("reference", metavar="NAME[:TAG]")
    args = p.parse_args(argv)
    image = store_at(root).import_rootfs(Path(args.tarball), args.reference)
    print(image.id)
    return 0


@command
def cmd_images(argv: list[str], root: str) -> int:
    from portside.image.report import image_rows

    p = parser("images", "List images")
    p.add_argument("-a", "--all", action="store_true", help="accepted for docker compatibility")
    p.add_argument("-q", "--quiet", action="store_true", help="only image ids")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("--format", choices=["table", "json"], default="table")
    args = p.parse_args(argv)
    rows = [row for image in store_at(root).list() for row in image_rows(image)]
    if args.no_trunc:
        rows = [{**r, "ID": "sha256:" + r["ID"]} for r in rows]
    if args.quiet:
        sys.stdout.write("".join(f"{id}\n" for id in dict.fromkeys(r["ID"] for r in rows)))
    elif args.format == "json":
        sys.stdout.write("".join(json.dumps(r) + "\n" for r in rows))
    else:
        print_table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
                    [[r["Repository"], r["Tag"], r["ID"], r["CreatedSince"], r["Size"]] for r in rows])
    return 0


@command
def cmd_tag(argv: list[str], root: str) -> int:
    p = parser("tag", "Give an image another name")
    p.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    p.add_argument("target", metavar="TARGET_IMAGE[:TAG]")
    args = p.parse_args(argv)
    store_at(root).tag(args.source, args.target)
    return 0


@command
def cmd_rmi(argv: list[str], root: str) -> int:
    p = parser("rmi", "Remove images (refused while a container uses one, unless -f)")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    args = p.parse_args(argv)
    failed = 0
    for ref in args.images:
        try:
            sys.stdout.write("".join(line + "\n" for line in remove_one(root, ref, args.force)))
        except PortsideError as exc:
            failed = fail(str(exc), exc.exit_code)
    return 1 if failed else 0


def remove_one(root: str, ref: str, force: bool) -> list[str]:
    from portside.engine import Engine, remove_image

    return remove_image(Engine(Path(root)), ref, force)


@command
def cmd_commit(argv: list[str], root: str) -> int:
    from portside.engine import Engine, commit

    p = parser("commit", "Make an image from a container's changes")
    p.add_argument("-m", "--message", default="", help="the commit message (the history entry's comment)")
    p.add_argument("-a", "--author", default="")
    p.add_argument("-c", "--change", action="append", default=[], metavar="INSTRUCTION",
                   help="a Dockerfile instruction to apply (CMD, ENV, LABEL, WORKDIR, ...)")
    p.add_argument("-p", "--pause", action="store_true", help="accepted for docker compatibility")
    p.add_argument("container")
    p.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")
    args = p.parse_args(argv)
    image = commit(Engine(Path(root)), args.container, args.reference, args.message, args.author, args.change)
    print(image.id)
    return 0


@command
def cmd_history(argv: list[str], root: str) -> int:
    from portside.image.report import history_rows

    p = parser("history", "Show how an image was made")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("image")
    args = p.parse_args(argv)
    store = store_at(root)
    rows = history_rows(store, store.resolve(args.image))
    if args.quiet:
        sys.stdout.write("".join(r["ID"] + "\n" for r in rows))
    elif args.format == "json":
        sys.stdout.write("".join(json.dumps(r) + "\n" for r in rows))
    else:
        cut = (lambda s: s) if args.no_trunc else (lambda s: s if len(s) <= 45 else s[:44] + "…")
        print_table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
                    [[r["ID"], r["CreatedSince"], cut(r["CreatedBy"]), r["Size"], r["Comment"]] for r in rows])
    return 0


@command
def cmd_image(argv: list[str], root: str) -> int:
    """``portside image SUBCOMMAND``: docker's management-command aliases plus inspect and prune."""
    from portside.cli.registries import cmd_pull, cmd_push

    aliases = {"ls": cmd_images, "list": cmd_images, "rm": cmd_rmi, "remove": cmd_rmi, "tag": cmd_tag,
               "history": cmd_history, "import": cmd_import, "inspect": image_inspect, "prune": image_prune,
               "save": cmd_save, "load": cmd_load, "build": cmd_build, "pull": cmd_pull, "push": cmd_push}
    if not argv or argv[0] not in aliases:
        return fail(f"image: expected a subcommand, one of {', '.join(sorted(aliases))}", 2)
    return aliases[argv[0]](argv[1:], root)


@command
def cmd_builder(argv: list[str], root: str) -> int:
    """``portside builder prune``: drop the build cache, then what only it kept (docker's command)."""
    from portside.image.gc import prune_build_cache

    p = parser("builder prune", "Remove the build cache and the layers only it referenced")
    p.add_argument("subcommand", choices=["prune"])
    p.add_argument("-a", "--all", action="store_true", help="accepted for docker compatibility")
    p.add_argument("-f", "--force", action="store_true", help="accepted for docker compatibility")
    p.parse_args(argv)
    sys.stdout.write("".join(line + "\n" for line in prune_build_cache(store_at(root))))
    return 0


@command
def image_inspect(argv: list[str], root: str) -> int:
    from portside.image.report import inspect

    p = parser("image inspect", "Show images' configuration as JSON")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    args = p.parse_args(argv)
    store = store_at(root)
    docs = [inspect(store, store.resolve(ref)) for ref in args.images]
    sys.stdout.write(json.dumps(docs, indent=4) + "\n")
    return 0


@command
def image_prune(argv: list[str], root: str) -> int:
    p = parser("image prune", "Delete blobs and layers that no image or build-cache entry reaches")
    p.add_argument("-f", "--force", action="store_true", help="accepted for docker compatibility")
    p.parse_args(argv)
    removed = store_at(root).prune()
    sys.stdout.write("".join(line + "\n" for line in removed))
    sys.stdout.write(f"Total: {len(removed)} removed\n")
    return 0


@command
def cmd_save(argv: list[str], root: str) -> int:
    from portside.image.archive import save

    p = parser("save", "Write images to a tar archive")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--format", choices=["docker-archive", "oci-archive"], default="docker-archive")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    args = p.parse_args(argv)
    save(store_at(root), args.images, Path(args.output), args.format)
    return 0


@command
def cmd_load(argv: list[str], root: str) -> int:
    from portside.image.archive import load

    p = parser("load", "Load images from a docker-archive or OCI archive")
    p.add_argument("-i", "--input", required=True, metavar="FILE")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    for line in load(store_at(root), Path(args.input)):
        if not args.quiet:
            print(line)
    return 0


@command
def cmd_build(argv: list[str], root: str) -> int:
    from portside.cli.containers import engine_at
    from portside.image.build import build_from_argv
    from portside.runtime.errors import InvalidArgument

    cgroup_parent = engine_at(root).settings().get("cgroup_parent", "portside")
    try:
        return build_from_argv(store_at(root), argv, cgroup_parent)
    except PortsideError as exc:
        if not isinstance(exc, InvalidArgument):
            exc.exit_code = 1  # docker: a build that fails exits 1; a malformed command line, 125
        raise
