"""Fixtures for the image tests: a fresh store per test and the busybox image imported into it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from leftovers import TEST_CGROUP_PARENT

from portside.image import Image, ImageStore


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    """The image store of an engine root whose containers (``portside run``, build RUN steps through the CLI)
    go under the tests' own cgroup parent."""
    (tmp_path / "engine.json").write_text(json.dumps({"cgroup_parent": TEST_CGROUP_PARENT}))
    return ImageStore(tmp_path / "image")


@pytest.fixture
def busybox(store: ImageStore, busybox_rootfs_tar: Path, needs_root: None) -> Image:
    return store.import_rootfs(busybox_rootfs_tar, "busybox")
