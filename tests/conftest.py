"""Suite-wide fixtures.

Tests that need root, runc or network namespaces use ``needs_root``; other prerequisites are asked for with
``support.require.require(tool)``. On a machine without them a test skips with the reason, except under CI
(``CI=true``), which is root on a fresh Debian machine: there a missing prerequisite is a failure, never a silent
skip.
"""

import os

import pytest
from support.cluster import Cluster
from support.require import require


@pytest.fixture
def needs_root() -> None:
    require("root", "runc")


@pytest.fixture(scope="module")
def up_flags(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """``portside up`` flags of the module's cluster: its ``UP_FLAGS``, or a directory's override of this."""
    return tuple(getattr(request.module, "UP_FLAGS", ()))


@pytest.fixture(scope="module")
def cluster(up_flags: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory):
    """One real ``portside up`` per test module (each test works in its own namespace), stopped even on failure;
    no node components unless the flags ask for them."""
    with Cluster(tmp_path_factory.mktemp("cluster") / "data", extra=up_flags) as c:
        yield c


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


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory):
    """Three etcd members on loopback, started once per test process by the first test that asks."""
    from support.etcd import EtcdCluster

    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def etcd_url(etcd_cluster):
    """The etcd cluster's store URL, its key space empty (what an earlier test wrote is deleted)."""
    etcd_cluster.wipe()
    return etcd_cluster.store_url


MULTI_HOST_DIRS = ("join", "chaos", "ha")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads the xdist_group marks
def pytest_collection_modifyitems(items) -> None:
    """The tests that run agents on network-namespace hosts run on one xdist worker, one after another: several
    at once on a 2-core machine stretch their timing windows (node grace, tolerations, fencing) past what they
    allow, and some share node names."""
    import pathlib

    for item in items:
        if pathlib.Path(str(item.fspath)).parent.name in MULTI_HOST_DIRS:
            item.add_marker(pytest.mark.xdist_group("multi-host"))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail the run when pytest-xdist dropped the group (it rewrites node ids, an internal that pytest releases
    have changed): the multi-host tests would run side by side and fail by timing, far from the cause."""
    if not getattr(session.config.option, "loadgroup", False):  # set on xdist workers only
        return
    ungrouped = [i.nodeid for i in session.items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
    if ungrouped:
        raise pytest.UsageError(f"--dist loadgroup ignored the xdist_group of {len(ungrouped)} tests, e.g. "
                                f"{ungrouped[0]}: this pytest-xdist does not work with this pytest")
