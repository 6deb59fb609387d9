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


def make_busybox_rootfs(dest: "os.PathLike[str]") -> None:
    """Lay out a minimal root filesystem: Debian's static busybox with a symlink per applet, /etc basics."""
    import pathlib
    import subprocess

    root = pathlib.Path(dest)
    busybox = shutil.which("busybox") or "/bin/busybox"
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "var/www"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], check=True, capture_output=True, text=True).stdout.split()
    for applet in applets:
        link = root / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (root / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")


@pytest.fixture(scope="session")
def busybox_rootfs_tar(tmp_path_factory: pytest.TempPathFactory) -> "pathlib.Path":
    """A root filesystem tarball (busybox-static), the test image every runtime test imports."""
    import pathlib
    import tarfile

    base = tmp_path_factory.mktemp("busybox")
    make_busybox_rootfs(base / "rootfs")
    tar_path = pathlib.Path(base / "busybox.tar")
    with tarfile.open(tar_path, "w") as tar:
        tar.add(base / "rootfs", arcname=".")
    return tar_path
