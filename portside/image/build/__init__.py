"""``portside build``: Dockerfiles to images, with docker's instructions, stages and a layer cache."""

from __future__ import annotations

import sys
from io import IOBase as IO
from pathlib import Path

from portside.image.build.builder import Builder, BuildOptions
from portside.image.build.dockerfile import DockerfileError, Instruction, parse
from portside.image.store import Image, ImageStore


def build(store: ImageStore, opts: BuildOptions, out: IO | None = None) -> Image:
    """Build ``opts.context`` and return the image; progress goes to ``out`` (stdout by default)."""
    from portside.image.errors import ImageError

    if not opts.context.is_dir():
        raise ImageError(f"build context {str(opts.context)!r} is not a directory")
    return Builder(store, opts, out or sys.stdout).build()


def parse_build_args(items: list[str]) -> dict[str, str]:
    """``K=V``, or ``K`` alone taking the value from the environment (docker's rule)."""
    import os

    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not key:
            from portside.image.errors import InvalidReference
            raise InvalidReference(f"--build-arg {item!r}: expected KEY=VALUE")
        if eq or key in os.environ:
            out[key] = value if eq else os.environ[key]
    return out


def registry_fetch(store: ImageStore, root: str):
    """FROM's fallback: pull the image from its registry into the store, then resolve it."""
    def fetch(ref: str) -> Image:
        from portside.image.registry import pull, run

        run(pull(store, root, ref, sys.stderr))
        return store.resolve(ref)
    return fetch


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the RUN step's container, mount and work directory are cleaned up."""
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def build_from_argv(store: ImageStore, argv: list[str], cgroup_parent: str = "portside") -> int:
    """``portside build``'s flags (docker's names) to ``BuildOptions``; prints the id alone under ``-q``."""
    import argparse

    p = argparse.ArgumentParser(prog="portside build", description="Build an image from a Dockerfile")
    p.add_argument("-t", "--tag", action="append", default=[], metavar="NAME[:TAG]")
    p.add_argument("-f", "--file", metavar="DOCKERFILE")
    p.add_argument("--build-arg", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--target", metavar="STAGE")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image id")
    p.add_argument("--platform", help="accepted; images are built for this machine's platform")
    p.add_argument("--network", help="accepted; RUN uses the host network")
    p.add_argument("context", metavar="CONTEXT")
    args = p.parse_args(argv)
    stop_on_sigterm()
    opts = BuildOptions(context=Path(args.context), dockerfile=Path(args.file) if args.file else None,
                        tags=args.tag, build_args=parse_build_args(args.build_arg), target=args.target,
                        no_cache=args.no_cache, quiet=args.quiet, fetch=registry_fetch(store, str(store.root.parent)),
                        cgroup_parent=cgroup_parent)
    image = build(store, opts)
    if args.quiet:
        print(image.id)
    return 0


__all__ = ["BuildOptions", "Builder", "DockerfileError", "Instruction", "build", "build_from_argv", "parse"]
