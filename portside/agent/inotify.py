"""A file's "something was written" as an asyncio event, through inotify (ctypes; no dependency): a followed
log is read again when the monitor appends to it, not on a timer."""

from __future__ import annotations

import asyncio
import ctypes
import os

IN_MODIFY, IN_CLOEXEC, IN_NONBLOCK = 0x2, 0o2000000, 0o4000
_libc = ctypes.CDLL(None, use_errno=True)


class FileWatch:
    """``await watch.changed(timeout)`` returns once the file was written to (or the timeout passed)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.fd = _libc.inotify_init1(IN_CLOEXEC | IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        if _libc.inotify_add_watch(self.fd, os.fsencode(path), IN_MODIFY) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, f"cannot watch {path}")
        self.event = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass
        self.event.set()

    async def changed(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        self.event.clear()

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.fd)
        os.close(self.fd)
