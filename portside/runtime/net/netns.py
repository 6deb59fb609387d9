"""Persistent network namespaces: a namespace kept alive by a bind mount on a file, as ``ip netns add`` does.

The engine creates a container's namespace before runc starts (runc joins it by path), so the namespace must
outlive any process. Creating one costs no subprocess: a short-lived thread ``unshare``s a new network namespace
(network namespaces are per thread, so the rest of the process is untouched) and bind-mounts its
``/proc/thread-self/ns/net`` onto the file. The thread ends; the mount keeps the namespace.

``run_in`` does the reverse to run a command inside: a thread ``setns``es into the namespace and starts the
subprocess from there, which inherits the thread's namespace. That is ``ip netns exec`` without its extra exec.
``socket_in`` makes a socket the same way: a socket belongs to the namespace it was made in for its whole life,
whichever thread uses it later, so no process ever has to run inside (``kubectl port-forward``'s dialer).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from portside.runtime.errors import NetworkError

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MNT_DETACH = 0x2
EINVAL = 22
ENOENT = 2

T = TypeVar("T")
_libc = ctypes.CDLL(None, use_errno=True)


def create(path: Path) -> None:
    """Create a network namespace pinned at ``path``; a pin left there by a crashed engine is replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove(path)
    path.touch(exist_ok=False)
    try:
        _in_thread(lambda: _unshare_and_pin(path))
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _unshare_and_pin(path: Path) -> None:
    _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
    _check(_libc.mount(b"/proc/thread-self/ns/net", os.fsencode(path), None, MS_BIND, None), f"bind-mount {path}")


def remove(path: Path) -> None:
    """Unpin and delete; the namespace itself goes when its last process does. Idempotent."""
    if _libc.umount2(os.fsencode(path), MNT_DETACH) != 0 and ctypes.get_errno() not in (EINVAL, ENOENT):
        _check(-1, f"unmount {path}")
    path.unlink(missing_ok=True)


def run_in(path: Path, argv: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside the namespace pinned at ``path``."""
    return _in_thread(lambda: _enter(path, lambda: _run(argv, stdin)))


def socket_in(path: Path):
    """A new TCP/IPv4 socket of the namespace pinned at ``path``: connecting it to 127.0.0.1 reaches that
    namespace's loopback, where a pod's server may listen only."""
    import socket  # not at the top: a container's start reaches this module and need not pay for it

    return _in_thread(lambda: _enter(path, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)))


def _enter(path: Path, body: Callable[[], T]) -> T:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, CLONE_NEWNET), f"setns {path}")
    finally:
        os.close(fd)
    return body()


def _run(argv: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)


def _in_thread(body: Callable[[], T]) -> T:
    """Run ``body`` on a fresh thread (whose namespaces it may change freely) and return or raise its outcome."""
    outcome: list = []

    def target() -> None:
        try:
            outcome.append((True, body()))
        except BaseException as err:  # handed to the calling thread below
            outcome.append((False, err))

    thread = threading.Thread(target=target, name="portside-netns")
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise NetworkError(f"{what} failed: {os.strerror(err)}")
