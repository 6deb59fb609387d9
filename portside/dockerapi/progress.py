"""docker's JSON message stream: what build, pull, push, load and import answer while they work.

One JSON object per line (``{"stream": "Step 1/5 : FROM busybox\\n"}``, ``{"status": "Pull complete", "id":
"abc123"}``, ``{"aux": {...}}``), chunked, so the docker CLI prints as it goes and docker-py parses each message.
The work runs in the engine's threads and sends messages from there; the event loop writes them in order.

A failure before the first message is an ordinary HTTP error (docker answers a pull of an unknown repository
with a 404, and docker-py raises ``NotFound`` on it); once the 200 is sent, a failure is the stream's last message,
``{"errorDetail": {"message": ...}, "error": ...}``, which both clients turn into an error of their own.
"""

from __future__ import annotations

import asyncio
import codecs
import io
import json
import logging
import os
import select
import threading
import time
from collections.abc import Callable

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.image.registry.progress import LayerState
from portside.runtime.errors import PortsideError

log = logging.getLogger("portside.dockerapi")

Send = Callable[[dict], None]
RED = ("\x1b[91m", "\x1b[0m")


class JsonStream:
    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[dict] = asyncio.Queue()
        self.response: web.StreamResponse | None = None
        self.gone = False  # the client hung up: the work still finishes (and cleans up), unheard

    def send(self, message: dict) -> None:
        """Queue a message; safe from any thread."""
        self.loop.call_soon_threadsafe(self.queue.put_nowait, message)

    async def run(self, job: Callable, *args, eager: bool = False) -> web.StreamResponse:
        """``job(*args)`` in the engine's threads, its messages forwarded as they come; ``eager`` sends the 200
        at once, so that every failure is in the stream (dockerd's ``load`` answers so)."""
        if eager:
            await self.open()
        task = asyncio.ensure_future(backend(self.request).call(job, *args))
        while not task.done():
            getter = asyncio.ensure_future(self.queue.get())
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                await self.write(getter.result())
            else:
                getter.cancel()
        # the job's last messages were queued before its result (both go through the loop in order)
        while not self.queue.empty():
            await self.write(self.queue.get_nowait())
        failure = task.exception()
        if failure is not None:
            if self.response is None:
                raise failure
            await self.write(error_message(failure))
        return await self.finish()

    async def open(self) -> web.StreamResponse:
        if self.response is None:
            self.response = web.StreamResponse(headers={"Content-Type": "application/json"})
            self.response.enable_chunked_encoding()  # docker-py reads a stream only when it is chunked
            await self.response.prepare(self.request)
        return self.response

    async def write(self, message: dict) -> None:
        response = await self.open()
        if self.gone:
            return
        try:
            await response.write(json.dumps(message).encode() + b"\r\n")
        except (ConnectionError, RuntimeError):
            self.gone = True

    async def finish(self) -> web.StreamResponse:
        response = await self.open()
        if not self.gone:
            try:
                await response.write_eof()
            except (ConnectionError, RuntimeError):
                self.gone = True
        return response


def error_message(exc: BaseException) -> dict:
    if isinstance(exc, PortsideError):
        text = str(exc)
    else:  # a bug of ours: the log gets the traceback, the client a message
        log.error("a streamed request failed", exc_info=exc)
        text = f"{type(exc).__name__}: {exc}"
    return {"errorDetail": {"message": text}, "error": text}


class TextStream(io.TextIOBase):
    """A text file whose writes become ``{"stream": text}`` messages: the builder's progress lines.

    A RUN step's command writes to ``fileno()``, a pipe that a thread forwards as it fills, so its output
    shows while it runs. The builder's own lines first take what is left in the pipe (and in ``companion``'s,
    the command's stderr): a step's output always comes before the line that follows the step. ``around``
    wraps what comes through the pipe: dockerd shows a RUN step's stderr in red.
    """

    def __init__(self, send: Send, around: tuple[str, str] = ("", ""), companion: TextStream | None = None) -> None:
        self.send = send
        self.around = around
        self.companion = companion
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.lock = threading.Lock()
        self.pump = threading.Thread(target=self._pump, name="build-output", daemon=True)
        self.pump.start()

    def fileno(self) -> int:
        return self.write_fd

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if self.companion is not None:
            self.companion._drain()
        self._drain()
        if text:
            self.send({"stream": text})
        return len(text)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        """End the pump (it forwards what is still in the pipe first)."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1
            self.pump.join()
            os.close(self.read_fd)
        super().close()

    def _drain(self) -> bool:
        """Forward what the pipe holds now; False once every writer has closed it."""
        with self.lock:
            chunks = []
            while True:
                try:
                    data = os.read(self.read_fd, 65536)
                except BlockingIOError:
                    break
                if not data:
                    self._forward(chunks)
                    return False
                chunks.append(data)
            self._forward(chunks)
            return True

    def _forward(self, chunks: list[bytes]) -> None:
        text = self.decoder.decode(b"".join(chunks))
        if text:
            self.send({"stream": self.around[0] + text + self.around[1]})

    def _pump(self) -> None:
        while True:
            select.select([self.read_fd], [], [])
            if not self._drain():
                return


class LayerEvents:
    """The registry client's layer events as docker's pull and push messages (``{"status": "Pull complete",
    "progressDetail": {}, "id": "abc123def456"}``), byte counts at most every ``EVERY_S`` per layer."""

    EVERY_S = 0.25
    # a layer already here is only "Already exists" in dockerd's pull, so "Pulling fs layer" waits for the download
    PULL = {LayerState.EXISTS: "Already exists", LayerState.DOWNLOADING: "Pulling fs layer",
            LayerState.DOWNLOADED: "Pull complete"}
    PUSH = {LayerState.WAITING: "Preparing", LayerState.EXISTS: "Layer already exists",
            LayerState.PUSHING: "Pushing", LayerState.PUSHED: "Pushed", LayerState.MOUNTED: "Mounted"}

    def __init__(self, send: Send, pushing: bool = False, first: dict | None = None, hidden: str = "") -> None:
        """``first``: a message sent before the first layer's (a pull's "Pulling from REPO", which must wait
        until the manifest was found: a missing one is a 404 rather than a stream). ``hidden``: the short id of
        a blob docker shows no line for (a push's config)."""
        self.send = send
        self.words = self.PUSH if pushing else self.PULL
        self.last: dict[str, float] = {}
        self.first = first
        self.hidden = hidden

    def start(self) -> None:
        if self.first is not None:
            self.send(self.first)
            self.first = None

    def moved(self, short: str, state: LayerState, note: str, total: int) -> None:
        self.start()
        word = self.words.get(state)
        if word is not None and short != self.hidden:  # a failure is reported once, as the stream's error
            self.send({"status": f"{word} {note}".strip(), "progressDetail": {}, "id": short})

    def transferred(self, short: str, done: int, total: int) -> None:
        self.start()
        now = time.monotonic()
        if short == self.hidden or now - self.last.get(short, 0.0) < self.EVERY_S and done < total:
            return
        self.last[short] = now
        word = "Pushing" if self.words is self.PUSH else "Downloading"
        self.send({"status": word, "progressDetail": {"current": done, "total": total},
                   "progress": bar(done, total), "id": short})


def bar(done: int, total: int) -> str:
    """docker's progress text, ``[=====>      ]  1.2MB/2.4MB``."""
    from portside.image.registry.progress import human_size

    width = 50
    filled = width * done // total if total else width
    arrow = ("=" * max(0, filled - 1) + ">") if filled < width else "=" * width
    return f"[{arrow.ljust(width)}]  {human_size(done)}/{human_size(total)}"
