"""Fixtures for the image tests: a fresh store per test and the busybox image imported into it."""

from __future__ import annotations

from pathlib import Path

import pytest

from portside.image import Image, ImageStore


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "image")


@pytest.fixture
def busybox(store: ImageStore, busybox_rootfs_tar: Path, needs_root: None) -> Image:
    return store.import_rootfs(busybox_rootfs_tar, "busybox")
