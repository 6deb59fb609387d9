"""Suite-wide fixtures.

Tests that need root, runc or network namespaces use ``needs_root``: on a machine without them they skip with the
reason, except under CI (``CI=true``), which is root on a fresh Debian machine: there a missing prerequisite is a
failure, never a silent skip.
"""

import os
import shutil

import pytest


def _missing_prerequisite() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if shutil.which("runc") is None:
        return "needs runc (apt-get install runc)"
    return None


@pytest.fixture
def needs_root() -> None:
    reason = _missing_prerequisite()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _remove_test_cgroup_parent():
    from leftovers import TEST_CGROUP_PARENT, remove_cgroup_parent

    yield
    remove_cgroup_parent(TEST_CGROUP_PARENT, strict=False)  # what a failed test left, it reported itself


def make_busybox_rootfs(dest: "os.PathLike[str]") -> None:
    """Lay out a minimal root filesystem: Debian's static busybox with a symlink per applet, /etc basics."""
    import pathlib

    from examples.busybox import make_rootfs

    make_rootfs(pathlib.Path(dest))


@pytest.fixture(scope="session")
def busybox_rootfs_tar(tmp_path_factory: pytest.TempPathFactory) -> "os.PathLike[str]":
    """A root filesystem tarball (busybox-static), the test image every runtime test imports."""
    import pathlib
    import tarfile

    base = tmp_path_factory.mktemp("busybox")
    make_busybox_rootfs(base / "rootfs")
    tar_path = pathlib.Path(base / "busybox.tar")
    with tarfile.open(tar_path, "w") as tar:
        tar.add(base / "rootfs", arcname=".")
    return tar_path
