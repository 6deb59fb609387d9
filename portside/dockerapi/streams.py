"""A container's streams: ``logs``, ``attach`` (hijacked, see ``hijack.py``) and ``resize``.

``logs`` reads the engine's json-file log (``Engine.logs``: rotated files first, following until the container
stops) and sends each entry as docker does: a multiplexed frame for a container without a terminal, the bytes as
they are for one with a terminal.

``attach`` serves the monitor's attachments (``runtime/attach.py``) over the hijacked connection. A container that
runs is attached at once; one that does not yet (docker's ``run`` attaches, then starts) gets a ``Waiting``
attachment, which its next start connects, so that not a byte of its output is missed. The session ends when the
container ends (the monitor closes the attachment), when the client goes, or when the client detaches: with its
detach keys on a terminal, or by ending its input, unless that input is the container's one-time stdin (docker's
``StdinOnce``, set by ``run -i``), which the container then reads to its end while the output goes on.
``attach/ws`` is the same over a WebSocket, whose messages carry the raw output and the input.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation

from aiohttp import WSMsgType, web

from portside.dockerapi.backend import backend
from portside.dockerapi.errors import bad_parameter, conflict
from portside.dockerapi.hijack import (
    STDERR,
    STDOUT,
    ClientGone,
    Hijacked,
    disconnected,
    end_streams,
    frame,
    media_type,
    streaming,
    take_over,
)
from portside.dockerapi.params import qbool, qint, qstr
from portside.dockerapi.relay import AsyncAttachment, ThreadedIterator, readable
from portside.dockerapi.routing import Routes
from portside.runtime.attach import DEFAULT_DETACH_KEYS, parse_keys, split_detach
from portside.runtime.errors import Conflict, PortsideError
from portside.runtime.inotify import FileWatch

routes = Routes()
routes.on_shutdown(end_streams)  # every stream ends with the service

STREAMS = {"stdout": STDOUT, "stderr": STDERR}


# -- logs ----------------------------------------------------------------------------------------------------


@routes.get("/containers/{id}/logs")
async def logs(request: web.Request) -> web.StreamResponse:
    wanted = {name for name in STREAMS if qbool(request, name)}
    if not wanted:
        raise bad_parameter("Bad parameters: you must choose at least one stream")  # docker's words
    follow, timestamps = qbool(request, "follow"), qbool(request, "timestamps")
    since, until, tail = unix_ns(request, "since"), unix_ns(request, "until"), _tail(request)
    b = backend(request)
    record = await b.call(b.engine.record, request.match_info["id"])
    tty = record.config.tty
    response = web.StreamResponse(headers={"Content-Type": media_type(request, tty)})
    try:
        await response.prepare(request)
    except ConnectionError:
        return Hijacked()  # the client went away already: nothing to answer
    entries = ThreadedIterator(lambda cancel: b.engine.logs(record.id, tail=tail, follow=follow, since=since,
                                                            until=until, cancel=cancel))
    gone = disconnected(request)
    watcher = asyncio.ensure_future(gone.wait())
    try:
        with streaming(request):
            async for batch in _until(entries.batches(), watcher):
                chunk = b"".join(_render(e, tty, timestamps) for e in batch if e.stream in wanted)
                if chunk:
                    await response.write(chunk)
    except ConnectionError:
        pass  # the client went away
    except PortsideError:
        pass  # the container was removed while followed: its log ends there, as with docker
    finally:
        entries.stop()
        watcher.cancel()
    if gone.is_set():
        return Hijacked()  # nothing more can be written
    try:
        await response.write_eof()
    except ConnectionError:  # it went after the last entry, before we heard of it
        return Hijacked()
    return response


def _render(entry, raw: bool, timestamps: bool) -> bytes:
    data = entry.text.encode()
    if timestamps:
        data = f"{entry.time} ".encode() + data
    return data if raw else frame(STREAMS.get(entry.stream, STDOUT), data)


async def _until(batches, stop: asyncio.Future):
    """The batches, until ``stop`` is done (the client went away)."""
    iterator = batches.__aiter__()
    while True:
        step = asyncio.ensure_future(iterator.__anext__())
        await asyncio.wait([step, stop], return_when=asyncio.FIRST_COMPLETED)
        if not step.done():
            step.cancel()
            return
        try:
            yield step.result()
        except StopAsyncIteration:
            return


def unix_ns(request: web.Request, name: str) -> int:
    """docker's ``since`` and ``until``: unix seconds, with a fraction down to nanoseconds (0 or absent: none)."""
    value = qstr(request, name)
    if not value:
        return 0
    try:
        seconds = Decimal(value)
    except InvalidOperation:
        raise bad_parameter(f"invalid value for {name}: {value!r} is not a unix timestamp (seconds since "
                            "1970-01-01, e.g. 1700000000 or 1700000000.5)") from None
    if seconds < 0 or not seconds.is_finite():
        raise bad_parameter(f"invalid value for {name}: {value!r} is not a unix timestamp")
    return int(seconds * 1_000_000_000)


def _tail(request: web.Request) -> int | None:
    """docker's ``tail``: a number of lines from the end, or "all" (as are a negative number and no value)."""
    value = qstr(request, "tail", "all")
    if value in ("", "all"):
        return None
    try:
        lines = int(value)
    except ValueError:
        raise bad_parameter(f"invalid value for tail: {value!r} (expected a number of lines or \"all\")") from None
    return None if lines < 0 else lines


# -- attach --------------------------------------------------------------------------------------------------


@routes.post("/containers/{id}/attach")
async def attach(request: web.Request) -> web.StreamResponse:
    ask = await _ask(request)
    try:
        conn = await take_over(request, media_type(request, ask.tty))
    except BaseException as exc:
        ask.close()
        if isinstance(exc, ClientGone):
            return Hijacked()
        raise
    try:
        with streaming(request):
            await ask.serve(conn, multiplexed=not ask.tty)
    finally:
        conn.close()
    return Hijacked()


@routes.get("/containers/{id}/attach/ws")
async def attach_websocket(request: web.Request) -> web.StreamResponse:
    """docker's attach over a WebSocket: the output in binary messages, never multiplexed; the input from the
    client's messages."""
    ask = await _ask(request)
    ws = web.WebSocketResponse()
    try:
        await ws.prepare(request)
    except BaseException:
        ask.close()
        raise
    conn = WebSocketConnection(ws)
    try:
        with streaming(request):
            await ask.serve(conn, multiplexed=False)
    finally:
        await conn.aclose()
    return ws


class _Ask:
    """One attach request, checked, and its attachment (or the wait for one) made before the answer."""

    def __init__(self, engine, record, source, replay: bool, wanted: set[str], stdin: bool, keys: bytes) -> None:
        self.engine, self.record, self.source = engine, record, source
        self.replay, self.wanted, self.stdin, self.keys = replay, wanted, stdin, keys
        self.tty = record.config.tty

    async def serve(self, conn, multiplexed: bool) -> None:
        attachment = None
        try:
            if self.replay:
                await _replay(self.engine, self.record.id, conn, multiplexed, self.wanted)
            if self.source is not None:
                attachment = await _attached(self.source, conn)
                if attachment is not None:
                    await Session(conn, attachment, self.tty, multiplexed, self.wanted, self.stdin,
                                  self.record.config.stdin_once and not self.tty, self.keys).run()
        finally:
            if attachment is not None:
                attachment.close()
            self.close()

    def close(self) -> None:
        if self.source is not None:
            self.source.close()


async def _ask(request: web.Request) -> _Ask:
    stream, replay = qbool(request, "stream"), qbool(request, "logs")
    wanted = {name for name in STREAMS if qbool(request, name)}
    b = backend(request)
    container = await b.call(b.engine.container, request.match_info["id"])
    record, state = container.record, container.state
    if state.status == "paused":
        raise conflict("You cannot attach to a paused container, unpause it first")  # docker's words
    if state.status == "restarting":
        raise conflict("You cannot attach to a restarting container, wait until it is running")
    stdin = qbool(request, "stdin") and record.config.open_stdin
    keys = _detach_keys(request)
    source = await _source(b, record.id, state.live) if stream else None
    return _Ask(b.engine, record, source, replay, wanted, stdin, keys)


def _detach_keys(request: web.Request) -> bytes:
    text = qstr(request, "detachKeys")
    try:
        return parse_keys(text) if text else DEFAULT_DETACH_KEYS
    except PortsideError as exc:
        raise bad_parameter(f"detachKeys: {exc}") from None


async def _source(b, cid: str, live: bool):
    """An attachment to the running container, else a ``Waiting`` one for its next start (also when it ended
    just now: its next start is then the one to wait for)."""
    if live:
        try:
            return AsyncAttachment(await b.call(b.engine.attach, cid))
        except Conflict:
            pass
    return await b.call(b.engine.attach_next, cid)


async def _attached(source, conn) -> AsyncAttachment | None:
    """The attachment: at once, or once the container's next start connected; None if the client went first."""
    if isinstance(source, AsyncAttachment):
        return source
    # the containers' directory is watched too: the container's removal ends the wait
    with FileWatch(source.path.parent.parent, deletion=True) as watch:
        while not source.gone():
            ready = asyncio.ensure_future(readable(source.fileno()))
            lost = asyncio.ensure_future(conn.lost.wait())
            changed = asyncio.ensure_future(readable(watch.fileno()))
            try:
                await asyncio.wait([ready, lost, changed], return_when=asyncio.FIRST_COMPLETED)
            finally:
                started = ready.done() and not ready.cancelled()
                for task in (ready, lost, changed):
                    task.cancel()
            watch.drain()
            if conn.lost.is_set():
                return None
            if started:
                break
        else:
            return None  # removed before it started
    attachment = source.accept()
    source.close()  # the listener: its one connection came
    return AsyncAttachment(attachment) if attachment is not None else None


async def _replay(engine, cid: str, conn, multiplexed: bool, wanted: set[str]) -> None:
    """``logs=1``: what the container wrote so far, before the live output."""
    entries = ThreadedIterator(lambda cancel: engine.logs(cid))
    try:
        async for batch in entries.batches():
            chunk = b"".join(_render(e, not multiplexed, False) for e in batch if e.stream in wanted)
            if chunk and not await conn.write(chunk):
                return
    finally:
        entries.stop()


class Session:
    """One client on one attachment, until the container ends, the client goes or it detaches."""

    def __init__(self, conn, attachment: AsyncAttachment, tty: bool, multiplexed: bool, wanted: set[str],
                 stdin: bool, stdin_once: bool, keys: bytes) -> None:
        self.conn, self.attachment, self.tty, self.wanted = conn, attachment, tty, wanted
        self.multiplexed = multiplexed
        self.stdin, self.stdin_once, self.keys = stdin, stdin_once, keys

    async def run(self) -> None:
        tasks = [asyncio.ensure_future(self._output()), asyncio.ensure_future(self.conn.lost.wait())]
        if self.stdin:
            tasks.append(asyncio.ensure_future(self._input()))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _output(self) -> None:
        wanted = {STREAMS[name] for name in self.wanted}
        while (message := await self.attachment.receive()) is not None:
            kind, data = message
            if kind in wanted and not await self.conn.write(frame(kind, data) if self.multiplexed else data):
                return

    async def _input(self) -> None:
        """The client's input to the container; returns when the session is to end (detached)."""
        held = b""
        while data := await self.conn.read():
            if self.tty:
                data, held, detached = split_detach(held + data, self.keys)
                if data:
                    await self.attachment.send_stdin(data)
                if detached:
                    return
            else:
                await self.attachment.send_stdin(data)
        if self.stdin_once:
            await self.attachment.close_stdin()
            await asyncio.Event().wait()  # the container reads to the end of its input; its output goes on


class WebSocketConnection:
    """A WebSocket in the place of the hijacked connection (``hijack.Connection``): its messages are the input
    (read all along, so that a close is seen), the output goes in binary messages."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.lost = asyncio.Event()
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT) and msg.data:
                    self.incoming.put_nowait(msg.data if isinstance(msg.data, bytes) else msg.data.encode())
        finally:
            self.incoming.put_nowait(b"")
            self.lost.set()

    async def read(self) -> bytes:
        return await self.incoming.get()

    async def write(self, data: bytes) -> bool:
        if self.ws.closed:
            return False
        try:
            await self.ws.send_bytes(data)
        except ConnectionError:
            return False
        return True

    async def aclose(self) -> None:
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)
        await self.ws.close()


# -- resize --------------------------------------------------------------------------------------------------


@routes.post("/containers/{id}/resize")
async def resize(request: web.Request) -> web.Response:
    rows, cols = terminal_size(request)
    b = backend(request)
    await b.call(b.engine.resize, request.match_info["id"], rows, cols)
    return web.Response(status=200)


def terminal_size(request: web.Request) -> tuple[int, int]:
    """``h`` and ``w``, both required, each from 0 to 65535."""
    size = []
    for name in ("h", "w"):
        value = qint(request, name)
        if value is None:
            raise bad_parameter(f"missing {name}: resize needs the terminal's height (h) and width (w)")
        if not 0 <= value <= 0xFFFF:
            raise bad_parameter(f"invalid value for {name}: {value} (expected 0 to 65535)")
        size.append(value)
    return size[0], size[1]
