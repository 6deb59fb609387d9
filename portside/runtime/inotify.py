"""A file's "something was written", through inotify (ctypes; no dependency), as a descriptor that becomes
readable: a followed log is read again when the monitor appends to it, not on a timer.

``FileWatch`` is the plain form (``select`` on it, ``drain`` after); the node agent wraps it for asyncio.
"""

from __future__ import annotations

import ctypes
import os

IN_MODIFY, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x2, 0x80, 0x100, 0x200
IN_CLOEXEC, IN_NONBLOCK = 0o2000000, 0o4000
_libc = ctypes.CDLL(None, use_errno=True)


class FileWatch:
    """Readable once ``path`` was written to since the last ``drain``; ``close`` when done (or use ``with``).
    ``path`` may be a directory: then a write to any file in it, or a file created or renamed into it (a log's
    rotation), makes it readable; with ``deletion``, so does a deletion in it (a container's directory removed
    from the containers' one: the removed directory's own watch may never end while a socket bound in it lives).
    Without ``writes``, only names count (created, renamed in, and with ``deletion`` deleted): a file replaced by a
    rename (a container's state) wakes the watcher, a log appended to does not."""

    def __init__(self, path: str | os.PathLike, deletion: bool = False, writes: bool = True) -> None:
        self.fd = _libc.inotify_init1(IN_CLOEXEC | IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        mask = (IN_MODIFY if writes else 0) | IN_CREATE | IN_MOVED_TO | (IN_DELETE if deletion else 0)
        if _libc.inotify_add_watch(self.fd, os.fsencode(path), mask) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, f"cannot watch {path}")

    def fileno(self) -> int:
        return self.fd

    def drain(self) -> None:
        """Forget the writes seen so far: the next one makes the descriptor readable again."""
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> FileWatch:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
