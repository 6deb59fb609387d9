"""The event loop's side of the blocking parts of streaming: a thread per long call, an iterator read in a thread,
descriptors and the monitor's attach socket read and written without blocking the loop.

Long calls (an exec's ``runc``, a followed log) get a thread of their own rather than one of the backend's pool:
they last as long as their process or their client, and must not starve the short calls.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator

MAX_PENDING = 4096  # items an iterator's thread may run ahead of the client


def in_thread(fn: Callable, *args, **kwargs) -> asyncio.Future:
    """``fn(*args, **kwargs)`` in a thread of its own; the future has its result or exception."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(ok: bool, value) -> None:
        if not future.done():
            future.set_result(value) if ok else future.set_exception(value)

    def run() -> None:
        try:
            result, ok = fn(*args, **kwargs), True
        except BaseException as exc:  # handed to the awaiting coroutine
            result, ok = exc, False
        try:
            loop.call_soon_threadsafe(settle, ok, result)
        except RuntimeError:
            pass  # the loop has closed: nobody waits any more
    threading.Thread(target=run, daemon=True, name=f"dockerapi-{getattr(fn, '__name__', 'call')}").start()
    return future


class ThreadedIterator:
    """A blocking iterator, made by ``make(cancel)``, read in a thread and handed to the loop in batches.

    ``cancel`` is an eventfd that becomes readable when ``stop`` is called: the iterator watches it where it
    blocks (``Engine.logs`` follows a log until then). The thread runs at most ``MAX_PENDING`` items ahead."""

    def __init__(self, make: Callable[[int], Iterator]) -> None:
        self.loop = asyncio.get_running_loop()
        self.cancel = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self.items: deque = deque()
        self.lock = threading.Condition()
        self.ready = asyncio.Event()
        self.done = self.stopped = False
        self.error: BaseException | None = None
        threading.Thread(target=self._run, args=(make,), daemon=True, name="dockerapi-iterator").start()

    def _run(self, make: Callable[[int], Iterator]) -> None:
        iterator = None
        try:
            iterator = make(self.cancel)
            for item in iterator:
                if not self._put(item):
                    break
        except BaseException as exc:
            self.error = exc
        finally:
            if iterator is not None and hasattr(iterator, "close"):
                iterator.close()
            with self.lock:
                self.done = True
                os.close(self.cancel)
            self._wake()

    def _put(self, item) -> bool:
        with self.lock:
            while len(self.items) >= MAX_PENDING and not self.stopped:
                self.lock.wait()
            if self.stopped:
                return False
            first = not self.items
            self.items.append(item)
        if first:
            self._wake()
        return True

    def _wake(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.ready.set)
        except RuntimeError:
            pass  # the loop has closed

    async def batches(self) -> AsyncIterator[list]:
        """Lists of items as they come; raises what the iterator raised."""
        while True:
            await self.ready.wait()
            self.ready.clear()
            with self.lock:
                batch, done = list(self.items), self.done
                self.items.clear()
                self.lock.notify_all()
            if batch:
                yield batch
            if done:
                if self.error is not None:
                    raise self.error
                return

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            self.lock.notify_all()
            if not self.done:
                os.eventfd_write(self.cancel, 1)


async def readable(fd: int) -> None:
    """Until ``fd`` is readable (or has hung up)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    loop.add_reader(fd, lambda: future.done() or future.set_result(None))
    try:
        await future
    finally:
        loop.remove_reader(fd)


async def writable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    loop.add_writer(fd, lambda: future.done() or future.set_result(None))
    try:
        await future
    finally:
        loop.remove_writer(fd)


async def read_fd(fd: int) -> bytes:
    """The next bytes from a non-blocking descriptor; b"" at its end (EIO: a terminal whose other side closed)."""
    while True:
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            await readable(fd)
        except OSError:
            return b""


async def write_fd(fd: int, data: bytes) -> bool:
    """All of ``data`` to a non-blocking descriptor; False when its reader has gone."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            await writable(fd)
        except OSError:
            return False
    return True


def drain_fd(fd: int) -> bytes:
    """What a non-blocking descriptor holds now, without waiting."""
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # BlockingIOError: nothing more now; EIO: a terminal's other side has closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


class AsyncAttachment:
    """An ``attach.Attachment`` (the monitor's socket) used from the event loop."""

    def __init__(self, attachment) -> None:
        self.attachment = attachment
        self.sock = attachment.sock
        self.sock.setblocking(False)

    async def receive(self) -> tuple[int, bytes] | None:
        """The next (STDOUT or STDERR, bytes); None once the monitor has closed (the container ended)."""
        from portside.runtime.attach import MAX_MESSAGE, STDERR, STDOUT

        while True:
            try:
                message = self.sock.recv(MAX_MESSAGE + 1)
            except BlockingIOError:
                await readable(self.sock.fileno())
                continue
            except OSError:
                return None
            if not message:
                return None
            if message[0] in (STDOUT, STDERR):
                return message[0], message[1:]

    async def send_stdin(self, data: bytes) -> None:
        from portside.runtime.attach import MAX_MESSAGE, STDIN

        for i in range(0, len(data), MAX_MESSAGE):
            await self._send(bytes([STDIN]) + data[i:i + MAX_MESSAGE])

    async def close_stdin(self) -> None:
        from portside.runtime.attach import CLOSE_STDIN

        await self._send(bytes([CLOSE_STDIN]))

    async def _send(self, message: bytes) -> None:
        """Sent whole, once the monitor has room (it stops reading while the container's input is full)."""
        while True:
            try:
                self.sock.send(message)
                return
            except BlockingIOError:
                await writable(self.sock.fileno())
            except OSError:
                return  # the monitor has closed: the end of the output says so next

    def close(self) -> None:
        self.attachment.close()
