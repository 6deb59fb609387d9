"""run_oneshot: one process in a real runc container that leaves nothing behind."""

import os
from pathlib import Path

import pytest
from leftovers import TEST_CGROUP_PARENT

from portside.runtime import CommandNotFound, InvalidArgument, mount_overlay, run_oneshot, unmount
from portside.runtime.cgroups import Cgroup


@pytest.fixture
def rootfs(needs_root: None, busybox_layer: Path, tmp_path: Path):
    target = tmp_path / "rootfs"
    mount_overlay([busybox_layer], tmp_path / "upper", tmp_path / "work", target)
    try:
        yield target
    finally:
        unmount(target)


def oneshot(*args, **kw) -> int:
    return run_oneshot(*args, cgroup_parent=TEST_CGROUP_PARENT, **kw)


def _portside_cgroups() -> set[str]:
    base = Path("/sys/fs/cgroup/memory" if not Cgroup("x").v2 else "/sys/fs/cgroup") / TEST_CGROUP_PARENT
    return {p.name for p in base.iterdir() if p.is_dir()} if base.exists() else set()


def test_exit_code_output_and_no_leftovers(rootfs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with open(out, "wb") as f:
        code = oneshot(rootfs, ["sh", "-c", "echo $GREETING; pwd; id -u; touch /made 2>/dev/null; exit 3"],
                           ["GREETING=hello"], cwd="/tmp", user="nobody", stdout=f, stderr=f,
                           container_id_prefix=f"oneshot-{os.getpid()}")
    assert code == 3
    assert out.read_text().split() == ["hello", "/tmp", "65534"]
    assert not (tmp_path / "upper" / "made").exists()  # nobody may not write /
    assert {c for c in _portside_cgroups() if c.startswith(f"oneshot-{os.getpid()}")} == set()


def test_writes_land_in_the_mounted_rootfs(rootfs: Path, tmp_path: Path) -> None:
    assert oneshot(rootfs, ["sh", "-c", "echo built > /artifact"], []) == 0
    assert (tmp_path / "upper" / "artifact").read_text() == "built\n"


def test_default_capabilities_are_dockers(rootfs: Path, tmp_path: Path) -> None:
    r, w = os.pipe()
    with os.fdopen(r) as reader:
        oneshot(rootfs, ["grep", "CapEff", "/proc/self/status"], [], stdout=w)
        os.close(w)
        assert reader.read().split() == ["CapEff:", "00000000a80425fb"]


def test_missing_command_raises_and_cleans_up(rootfs: Path) -> None:
    with pytest.raises(CommandNotFound, match="nosuchcommand"), open(os.devnull, "wb") as null:
        oneshot(rootfs, ["nosuchcommand"], [], stderr=null, container_id_prefix=f"missing-{os.getpid()}")
    assert {c for c in _portside_cgroups() if c.startswith(f"missing-{os.getpid()}")} == set()


def test_bad_network_is_refused(rootfs: Path) -> None:
    with pytest.raises(InvalidArgument, match="network 'bridge'"):
        oneshot(rootfs, ["true"], [], network="bridge")


def test_host_network_sees_host_interfaces(rootfs: Path) -> None:
    """Other tests add and remove their bridges and veths meanwhile: what stayed throughout must be seen (one that
    came and went during the run may be seen too)."""
    r, w = os.pipe()
    before = set(os.listdir("/sys/class/net"))
    with os.fdopen(r) as reader:
        oneshot(rootfs, ["ls", "/sys/class/net"], [], network="host", stdout=w)
        os.close(w)
        inside = set(reader.read().split())
    after = set(os.listdir("/sys/class/net"))
    assert before & after <= inside
    assert "lo" in inside and len(inside) > 1
