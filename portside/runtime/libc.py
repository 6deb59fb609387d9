"""The few libc calls the standard library lacks: mount(2), umount2(2), prctl(2), renameat2(2) and unshare(2).

Called through ctypes rather than mount(8) or a helper binary: each would cost a fork and an exec on the path
that ``portside run`` takes.
"""

from __future__ import annotations

import ctypes
import os

MNT_DETACH = 2
MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_SLAVE = 1 << 19
CLONE_NEWNS = 0x20000
AT_FDCWD = -100
RENAME_EXCHANGE = 2
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_renameat2 = getattr(_libc, "renameat2", None)  # glibc 2.28 and later
if _renameat2 is not None:
    _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]


def mount(source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> int:
    """0, or the errno of the failure."""
    ok = _libc.mount(source.encode(), os.fsencode(target), fstype.encode(), flags, data.encode()) == 0
    return 0 if ok else ctypes.get_errno()


def unshare(flags: int) -> None:
    """Leave the namespaces named in ``flags``: only the calling thread does for a mount namespace (with its own
    root and working directory), which is how one thread of a server can see a container's files."""
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare({flags:#x}): {os.strerror(err)}")


def umount2(target: str, flags: int = 0) -> int:
    return 0 if _libc.umount2(os.fsencode(target), flags) == 0 else ctypes.get_errno()


def exchange(a: str, b: str) -> bool:
    """Swap two existing names atomically (renameat2 RENAME_EXCHANGE); False, having changed nothing, where
    that is not possible: ``b`` missing, a filesystem or kernel without the flag, a libc without the call."""
    if _renameat2 is None:
        return False
    return _renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0


def set_child_subreaper() -> None:
    """Orphaned descendants (a container's init once ``runc run --detach`` exits) become our children."""
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def set_parent_death_signal(sig: int) -> None:
    """``sig`` (0: none) is sent to this process when the thread that forked it ends."""
    if _libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
