"""Fixtures for the runtime's tests: an unpacked busybox root filesystem to use as an image layer."""

import tarfile
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def busybox_layer(busybox_rootfs_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention layer directory; tests mount overlays over it and check it never changes."""
    layer = tmp_path_factory.mktemp("layer")
    with tarfile.open(busybox_rootfs_tar) as tar:
        tar.extractall(layer, filter="fully_trusted")
    return layer
