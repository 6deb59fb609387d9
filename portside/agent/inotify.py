"""``runtime.inotify.FileWatch`` as an asyncio event: ``await watch.changed(timeout)`` returns once the file was
written to (or the timeout passed)."""

from __future__ import annotations

import asyncio
import os

from portside.runtime.inotify import FileWatch as _Watch


class FileWatch:
    def __init__(self, path: str | os.PathLike) -> None:
        self.watch = _Watch(path)
        self.event = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.watch.fileno(), self._readable)

    def _readable(self) -> None:
        self.watch.drain()
        self.event.set()

    async def changed(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            pass
        self.event.clear()

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.watch.fileno())
        self.watch.close()
