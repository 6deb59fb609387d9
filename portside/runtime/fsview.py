"""A thread that sees a container's filesystem as its root: what ``cp``, ``export`` and the archive endpoints read
and write through.

Theory of operation. The thread leaves the host's mount namespace (``unshare(CLONE_NEWNS)`` applies to the
calling thread alone, with a root and working directory of its own), marks every mount a slave so nothing it
mounts reaches the host, mounts what the caller asks (the container's root filesystem, its volumes on top), and
``chroot``s into it. From then on every path the thread opens resolves as it would in the container: an absolute
symlink planted by the container points into the container, ``..`` stops at its root. When the thread ends, its
namespace goes with it and every mount it made is gone, even if the process is killed half-way: nothing to leak.

Work is handed to the thread as functions (``run``); each runs there and its result or exception comes back to
the caller. Everything such a function uses must be imported before the ``chroot``: an import inside would look
for modules in the container's filesystem. For the same reason the functions never look up user or group names
(glibc's NSS would load libraries from the container) or the local time zone.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from portside.runtime import libc
from portside.runtime.errors import PortsideError

_STOP = object()


class FSView:
    """``with FSView(setup) as view: view.run(fn, *args)``: ``setup()`` mounts (in the thread's private
    namespace) and returns the directory that becomes the thread's root."""

    def __init__(self, setup: Callable[[], Path]) -> None:
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        ready: Future = Future()
        self._thread = threading.Thread(target=self._serve, args=(setup, ready), name="fsview", daemon=True)
        self._thread.start()
        try:
            ready.result()
        except BaseException:
            self._thread.join()
            raise

    def run(self, fn: Callable, *args):
        """``fn(*args)`` inside the view; its exception is raised here."""
        done: Future = Future()
        self._tasks.put((fn, args, done))
        return done.result()

    def close(self) -> None:
        if self._thread.is_alive():
            self._tasks.put(_STOP)
            self._thread.join()

    def __enter__(self) -> FSView:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _serve(self, setup: Callable[[], Path], ready: Future) -> None:
        try:
            libc.unshare(libc.CLONE_NEWNS)
            _check(libc.mount("none", "/", "", libc.MS_REC | libc.MS_SLAVE), "make / a slave mount")
            os.chroot(setup())
            os.chdir("/")
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            ready.set_exception(exc)
            return
        ready.set_result(None)
        while (task := self._tasks.get()) is not _STOP:
            fn, args, done = task
            try:
                done.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
                done.set_exception(exc)


def _check(err: int, what: str) -> None:
    if err:
        raise PortsideError(f"cannot {what}: {os.strerror(err)}")


def resolve_in(root: Path, path: str, follow_last: bool = True) -> Path:
    """Where ``path`` (absolute, inside the container) is under ``root`` on the host, following symlinks as the
    container would see them: an absolute target starts again at ``root``, ``..`` never climbs above it. Used
    only before the ``chroot``, to place mounts."""
    pending = [p for p in path.split("/") if p not in ("", ".")]
    done: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        here = root.joinpath(*done, part)
        if (pending or follow_last) and here.is_symlink():
            hops += 1
            if hops > 40:
                raise OSError(40, f"too many levels of symbolic links in {path}")
            target = os.readlink(here)
            if target.startswith("/"):
                done = []
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
            continue
        done.append(part)
    return root.joinpath(*done)
