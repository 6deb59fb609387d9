"""Fixtures for the runtime's tests: an unpacked busybox root filesystem to use as an image layer."""

import tarfile
from pathlib import Path

import pytest

from portside.runtime.rootfs import mount_overlay, unmount


@pytest.fixture(scope="session")
def busybox_layer(busybox_rootfs_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention layer directory; tests mount overlays over it and check it never changes."""
    layer = tmp_path_factory.mktemp("layer")
    with tarfile.open(busybox_rootfs_tar) as tar:
        tar.extractall(layer, filter="fully_trusted")
    return layer


@pytest.fixture
def bundle(needs_root: None, busybox_layer: Path, tmp_path: Path):
    """A bundle directory whose rootfs is an overlay over the busybox layer, unmounted afterwards."""
    rootfs = tmp_path / "rootfs"
    mount_overlay([busybox_layer], tmp_path / "upper", tmp_path / "work", rootfs)
    try:
        yield tmp_path
    finally:
        unmount(rootfs)
