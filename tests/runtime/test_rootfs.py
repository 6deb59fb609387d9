"""Overlay root filesystems: writes land in the upper directory, never in the image layer."""

from pathlib import Path

import pytest

from portside.runtime.rootfs import MountError, is_mounted, mount_overlay, unmount


@pytest.fixture
def merged(needs_root: None, busybox_layer: Path, tmp_path: Path):
    target = tmp_path / "merged"
    mount_overlay([busybox_layer], tmp_path / "upper", tmp_path / "work", target)
    try:
        yield target
    finally:
        unmount(target)


def test_writes_go_to_upper_not_to_the_layer(merged: Path, busybox_layer: Path, tmp_path: Path) -> None:
    (merged / "etc" / "passwd").write_text("changed\n")
    (merged / "new-file").write_text("x")
    assert (tmp_path / "upper" / "new-file").read_text() == "x"
    assert "root:x:0:0" in (busybox_layer / "etc" / "passwd").read_text()
    assert not (busybox_layer / "new-file").exists()


def test_layers_stack_lowest_first(needs_root: None, busybox_layer: Path, tmp_path: Path) -> None:
    top = tmp_path / "top"
    (top / "etc").mkdir(parents=True)
    (top / "etc" / "motd").write_text("from the top layer\n")
    target = tmp_path / "m"
    mount_overlay([busybox_layer, top], tmp_path / "u", tmp_path / "w", target)
    try:
        assert (target / "etc" / "motd").read_text() == "from the top layer\n"
        assert (target / "bin" / "busybox").exists()
    finally:
        unmount(target)
    assert not is_mounted(target)


def test_a_layer_that_recurs_counts_where_it_is_highest(needs_root: None, busybox_layer: Path,
                                                         tmp_path: Path) -> None:
    """Two build steps with the same diff give an image with the same layer twice; overlayfs refuses a directory
    listed twice, and the view must be the stack's: the higher copy wins over what lies between."""
    same, between = tmp_path / "same", tmp_path / "between"
    (same / "etc").mkdir(parents=True)
    (same / "etc" / "motd").write_text("from the recurring layer\n")
    (between / "etc").mkdir(parents=True)
    (between / "etc" / "motd").write_text("from the layer between\n")
    (between / "etc" / "only-between").write_text("kept\n")
    target = tmp_path / "m"
    mount_overlay([busybox_layer, same, between, same], tmp_path / "u", tmp_path / "w", target)
    try:
        assert (target / "etc" / "motd").read_text() == "from the recurring layer\n"
        assert (target / "etc" / "only-between").read_text() == "kept\n"
        assert (target / "bin" / "busybox").exists()
    finally:
        unmount(target)


def test_unmount_is_idempotent(merged: Path) -> None:
    unmount(merged)
    unmount(merged)
    assert not is_mounted(merged)


def test_no_layers_is_an_error(needs_root: None, tmp_path: Path) -> None:
    with pytest.raises(MountError, match="no image layers"):
        mount_overlay([], tmp_path / "u", tmp_path / "w", tmp_path / "t")


def test_a_volatile_overlay_skips_syncs_and_still_keeps_writes_out_of_the_layer(
        needs_root: None, busybox_layer: Path, tmp_path: Path) -> None:
    target = tmp_path / "v"
    mount_overlay([busybox_layer], tmp_path / "u", tmp_path / "w", target, volatile=True)
    try:
        (target / "new-file").write_text("x")
        with open("/proc/self/mountinfo") as f:
            options = next(line.split()[-1] for line in f if line.split()[4] == str(target))
        assert {"volatile", "fsync=volatile"} & set(options.split(","))  # newer kernels show the latter
        assert (tmp_path / "u" / "new-file").read_text() == "x" and not (busybox_layer / "new-file").exists()
    finally:
        unmount(target)
    assert not is_mounted(target)
