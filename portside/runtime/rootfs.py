"""Copy-on-write root filesystems: an overlay of read-only image layers under a per-container upper directory.

The image's layer directories are only ever overlay *lower* dirs, so nothing a container writes reaches the image.
Mounting goes through libc's mount(2) directly: spawning mount(8) would cost a fork and an exec on the path every
``portside run`` takes.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from portside.runtime import libc
from portside.runtime.errors import PortsideError


class MountError(PortsideError):
    """mount(2) or umount(2) failed; the message names the target and the kernel's reason."""


def mount_overlay(lower: list[Path], upper: Path, work: Path, target: Path, volatile: bool = False) -> None:
    """Mount ``lower`` (lowest layer first, as the image store lists them) + ``upper`` at ``target``.

    ``upper`` and ``work`` are created if missing and must be on the same filesystem. ``volatile`` (for writes
    nobody keeps) skips overlayfs's syncs of the upper filesystem, which make an unmount wait for the host's
    disk; such an upper directory cannot be mounted again, and a kernel older than 5.10 gets a plain mount.
    """
    if not lower:
        raise MountError(f"overlay at {target}: no image layers given")
    for d in (upper, work, target):
        d.mkdir(parents=True, exist_ok=True)
    # overlayfs lists lowerdirs top first; the image store lists them bottom first. A layer that recurs (two RUN
    # steps that changed nothing leave the same empty diff, so the same directory) would be refused by overlayfs
    # (ELOOP); only its topmost copy counts, since it holds all that the copies below it hold, so those go.
    lowers = ":".join(str(p) for p in dict.fromkeys(reversed(lower)))
    data = f"lowerdir={lowers},upperdir={upper},workdir={work}"
    err = libc.mount("overlay", str(target), "overlay", 0, data + ",volatile") if volatile else errno.EINVAL
    if err == errno.EINVAL:
        err = libc.mount("overlay", str(target), "overlay", 0, data)
    if err:
        raise MountError(f"cannot mount overlay at {target}: {os.strerror(err)}")


def unmount(target: Path) -> None:
    """Unmount ``target``; a target that is not mounted (or does not exist) is fine: cleanup is idempotent."""
    err = libc.umount2(str(target))
    if err in (0, errno.EINVAL, errno.ENOENT):
        return
    if err == errno.EBUSY and libc.umount2(str(target), libc.MNT_DETACH) == 0:
        return
    raise MountError(f"cannot unmount {target}: {os.strerror(err)}")


def is_mounted(target: Path) -> bool:
    wanted = str(target)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == wanted for line in f)


def bind(source: Path, target: Path, writable: bool = True) -> None:
    """A recursive bind mount, made read-only (a remount: the kernel ignores MS_RDONLY on the bind itself)."""
    err = libc.mount(str(source), str(target), "", libc.MS_BIND | libc.MS_REC)
    if not err and not writable:
        err = libc.mount("", str(target), "", libc.MS_REMOUNT | libc.MS_BIND | libc.MS_RDONLY)
    if err:
        raise MountError(f"cannot bind {source} at {target}: {os.strerror(err)}")
