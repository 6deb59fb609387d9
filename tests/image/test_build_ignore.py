""".dockerignore against every form of COPY/ADD source, as docker applies it.

Docker filters the build context once, before any instruction sees it: whatever names a context path (a
directory with or without a trailing slash, a ``./`` prefix, a glob, ``.`` itself) copies only what the filter
kept, while ``--from`` copies out of another stage's file system and is not filtered at all.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from leftovers import TEST_CGROUP_PARENT

from portside.image import Image, ImageStore
from portside.image.build import BuildOptions, DockerfileError, build
from tests.image.test_build import write_context

CONTEXT = {
    "files/app.txt": "app\n",
    "files/secret.txt": "secret\n",
    "files/sub/deep.txt": "deep\n",
    "files/sub/secret.key": "key\n",
    "logs/a.txt": "log\n",
    "cache/keep.txt": "keep\n",
    "cache/drop.txt": "drop\n",
    "top.txt": "top\n",
    "top.log": "log\n",
}
# A leading "/" and "./" are cleaned away, "**" crosses directories, "!" brings a path back, later lines win.
IGNORE = "files/secret.txt\n./logs\n/cache\n!cache/keep.txt\n**/*.key\n*.log\n"
KEPT_FILES = ["app.txt", "sub/deep.txt"]

CASES = {
    "trailing-slash": ("COPY files/ /dst/", KEPT_FILES),
    "no-slash": ("COPY files /dst/", KEPT_FILES),
    "dot-slash-prefix": ("COPY ./files/ /dst/", KEPT_FILES),
    "dot-inside": ("COPY files/. /dst/", KEPT_FILES),
    "into-workdir": ("WORKDIR /dst\nCOPY files/ ./", KEPT_FILES),
    "add-directory": ("ADD ./files /dst/", KEPT_FILES),
    "glob-naming-a-directory": ("COPY fil* /dst/", KEPT_FILES),
    "glob-in-a-directory": ("COPY files/* /dst/", ["app.txt", "deep.txt"]),
    "glob-of-files": ("COPY files/*.txt /dst/", ["app.txt"]),
    "whole-context": ("COPY . /dst/", [".dockerignore", "Dockerfile", "cache/keep.txt", "files/app.txt",
                                       "files/sub/deep.txt", "top.txt"]),
    "dot-slash-context": ("COPY ./ /dst/", [".dockerignore", "Dockerfile", "cache/keep.txt", "files/app.txt",
                                            "files/sub/deep.txt", "top.txt"]),
    "ignored-dir-with-exception": ("COPY cache/ /dst/", ["keep.txt"]),
    "several-sources": ("COPY files/sub ./cache top.txt /dst/", ["deep.txt", "keep.txt", "top.txt"]),
}


def do_build(store: ImageStore, ctx: Path, dockerfile: str) -> Image:
    (ctx / "Dockerfile").write_text(dockerfile)
    return build(store, BuildOptions(context=ctx, cgroup_parent=TEST_CGROUP_PARENT), io.StringIO())


def files_under(layer: Path) -> list[str]:
    """Regular files (and links) below ``layer``, relative to it, sorted."""
    found = []
    for top, _, names in os.walk(layer):
        found += [os.path.relpath(os.path.join(top, name), layer) for name in names]
    return sorted(found)


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    return write_context(tmp_path / "ctx", {**CONTEXT, ".dockerignore": IGNORE})


@pytest.mark.parametrize("case", sorted(CASES))
def test_copy_from_the_context_leaves_out_what_dockerignore_excludes(store: ImageStore, busybox: Image, ctx: Path,
                                                                   case: str) -> None:
    copy, expected = CASES[case]
    image = do_build(store, ctx, f"FROM busybox\n{copy}\n")
    assert files_under(store.layer_dirs(image)[-1] / "dst") == expected


def test_an_excluded_file_changing_does_not_bust_the_cache(store: ImageStore, busybox: Image, ctx: Path) -> None:
    first = do_build(store, ctx, "FROM busybox\nCOPY files/ /dst/\n")
    (ctx / "files" / "secret.txt").write_text("rotated\n")
    assert do_build(store, ctx, "FROM busybox\nCOPY files/ /dst/\n").id == first.id


@pytest.mark.parametrize("source", ["files/secret.txt", "./files/secret.txt", "logs", "logs/", "./logs/a.txt",
                                    "cache/drop.txt", "*.log"])
def test_an_excluded_source_is_not_found(store: ImageStore, busybox: Image, ctx: Path, source: str) -> None:
    with pytest.raises(DockerfileError, match=f'Dockerfile:2: COPY source "{source.replace("*", ".")}" not found'):
        do_build(store, ctx, f"FROM busybox\nCOPY {source} /dst/\n")


def test_a_symlink_to_an_excluded_file_is_not_followed_out_of_the_filter(store: ImageStore, busybox: Image,
                                                                         ctx: Path) -> None:
    os.symlink("files/secret.txt", ctx / "link.txt")
    with pytest.raises(DockerfileError, match='Dockerfile:2: COPY source "link.txt"'):
        do_build(store, ctx, "FROM busybox\nCOPY link.txt /dst/\n")


@pytest.mark.parametrize("source", ["/files/", "/files", "files/", "/files/*"])
def test_copy_from_a_stage_is_not_filtered(store: ImageStore, busybox: Image, ctx: Path, source: str) -> None:
    """The stage's /files holds the same names that .dockerignore excludes from the context: all are copied."""
    image = do_build(store, ctx, (
        "FROM busybox AS src\nRUN mkdir -p /files/sub && echo s > /files/secret.txt && echo a > /files/app.txt "
        "&& echo k > /files/sub/secret.key\n"
        f"FROM busybox\nCOPY --from=src {source} /dst/\n"))
    expected = ["app.txt", "secret.txt", "sub/secret.key"] if source != "/files/*" else [
        "app.txt", "secret.key", "secret.txt"]
    assert files_under(store.layer_dirs(image)[-1] / "dst") == expected
