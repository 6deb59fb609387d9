"""A tiny test image from the host: Debian's static busybox, one symlink per applet, and the /etc basics.

Used by the demo and the start-latency benchmark, which must run on a machine with no registry in reach.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path


def make_rootfs(dest: Path) -> Path:
    busybox = shutil.which("busybox") or "/bin/busybox"
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "var/www"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    (dest / "tmp").chmod(0o1777)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], check=True, capture_output=True, text=True).stdout.split()
    for applet in applets:
        link = dest / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (dest / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return dest


def make_tarball(workdir: Path) -> Path:
    """``workdir/busybox.tar``, a root filesystem tarball for ``portside import``."""
    rootfs = make_rootfs(workdir / "rootfs")
    tar_path = workdir / "busybox.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(rootfs, arcname=".")
    return tar_path
