"""Docker's connection hijacking: attach and exec start take the HTTP connection over for the process's stdio.

The client sends ``Upgrade: tcp`` and ``Connection: Upgrade``; the answer is ``101 UPGRADED`` with the stream's
media type, and from then on the socket carries the process's input one way and its output the other, with no
HTTP framing. A client that does not ask for the upgrade gets ``200 OK`` and the same bytes, the connection's end
marking theirs. The client half-closes (shutdown of its write side) at the end of its input: that must reach the
process as end-of-file while the output goes on, so the connection is taken from aiohttp whole (its protocol would
close the socket on a half-close): ``take_over`` installs a protocol of ours on the transport, after collecting
what aiohttp had already read past the request.

The output is the process's bytes as they are when it has a terminal (one stream), and otherwise docker's
multiplexed frames: an 8-byte header (the stream, 1 stdout or 2 stderr; three zero bytes; the payload's length,
big-endian) before each chunk. API 1.42 and later say so in the media type; 1.41 clients get the raw-stream type
over the same frames, and know from the container's or exec's ``Tty`` how to read them.
"""

from __future__ import annotations

import asyncio
import struct
import weakref

from aiohttp import web

from portside.dockerapi.routing import api_version

RAW, MULTIPLEXED = "application/vnd.docker.raw-stream", "application/vnd.docker.multiplexed-stream"
STDOUT, STDERR = 1, 2
MAX_INPUT_QUEUED = 1 << 20  # bytes read from the client and not yet taken: past this, reading pauses


_LIVE: weakref.WeakKeyDictionary[web.Application, set] = weakref.WeakKeyDictionary()  # beside the app: its
# own state is frozen once it runs


class streaming:
    """``with streaming(request):`` around a long stream: the service's stop ends it (``end_streams``, a shutdown
    hook of the modules that stream) rather than waiting for its client or its container."""

    def __init__(self, request: web.Request) -> None:
        self.live, self.task = _LIVE.setdefault(request.app, set()), asyncio.current_task()

    def __enter__(self) -> None:
        self.live.add(self.task)

    def __exit__(self, *_exc) -> None:
        self.live.discard(self.task)


async def end_streams(app: web.Application) -> None:
    for task in list(_LIVE.get(app, ())):
        task.cancel()


class ClientGone(ConnectionResetError):
    """The client closed its connection before the stream began: nothing to answer, nothing to report."""


def frame(stream: int, data: bytes) -> bytes:
    """One chunk of output in docker's multiplexed format."""
    return struct.pack(">BxxxL", stream, len(data)) + data


def wants_upgrade(request: web.Request) -> bool:
    connection = [t.strip().lower() for t in request.headers.get("Connection", "").split(",")]
    return "upgrade" in connection and request.headers.get("Upgrade", "").lower() == "tcp"


def media_type(request: web.Request, tty: bool) -> str:
    return MULTIPLEXED if not tty and api_version(request) >= (1, 42) else RAW


class Hijacked(web.StreamResponse):
    """What the handler returns once the connection was taken over: aiohttp has nothing left to write, and does
    not keep the connection for another request."""

    def __init__(self) -> None:
        super().__init__(status=101)
        self.force_close()

    async def prepare(self, request):
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


class Connection(asyncio.Protocol):
    """The hijacked connection: ``read`` the client's bytes (b"" at its end of input), ``write`` output (waiting
    while the client does not keep up), ``close`` when done. ``lost`` is set once the client has gone."""

    def __init__(self, transport: asyncio.Transport, previous: asyncio.BaseProtocol, tail: bytes) -> None:
        self.transport, self.previous = transport, previous
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.queued = 0
        self.ended = False  # the client's input has ended (half-close, or the connection's end)
        self.lost = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()
        if tail:
            self.data_received(tail)

    # -- asyncio.Protocol ------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if data and not self.ended:
            self.incoming.put_nowait(bytes(data))
            self.queued += len(data)
            if self.queued > MAX_INPUT_QUEUED:
                self.transport.pause_reading()

    def eof_received(self) -> bool:
        self._end_input()
        return True  # a half-close: the output goes on

    def connection_lost(self, exc: BaseException | None) -> None:
        self._end_input()
        self.lost.set()
        self.writable.set()
        self.previous.connection_lost(exc)  # aiohttp's server forgets the connection

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    # -- for the handler -------------------------------------------------------------------------------------

    async def read(self) -> bytes:
        data = await self.incoming.get()
        self.queued -= len(data)
        if self.queued <= MAX_INPUT_QUEUED // 2 and not self.lost.is_set() and not self.transport.is_reading():
            self.transport.resume_reading()
        return data

    async def write(self, data: bytes) -> bool:
        """False once the client has gone."""
        if self.lost.is_set() or self.transport.is_closing():
            return False
        if data:
            self.transport.write(data)
            await self.writable.wait()
        return not self.lost.is_set()

    def close(self) -> None:
        self.transport.close()

    def _end_input(self) -> None:
        if not self.ended:
            self.ended = True
            self.incoming.put_nowait(b"")


class _Tail:
    """Takes what aiohttp read past the request (a client may send input right after its request)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.data += data
        return False, b""

    def feed_eof(self) -> None:
        pass


async def take_over(request: web.Request, content_type: str) -> Connection:
    """Answer the request as docker does (``101 UPGRADED``, or ``200 OK`` without the upgrade) and take its
    connection over."""
    if wants_upgrade(request):
        head = (f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {content_type}\r\nConnection: Upgrade\r\n"
                "Upgrade: tcp\r\n\r\n")
    else:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {RAW}\r\n\r\n"
    transport, protocol = request.transport, request.protocol
    if transport is None or transport.is_closing():
        raise ClientGone("the client went away before its stream began")
    tail = _Tail()
    protocol.set_parser(tail)
    conn = Connection(transport, protocol, bytes(tail.data))
    transport.set_protocol(conn)
    if not transport.is_reading():
        transport.resume_reading()
    transport.write(head.encode())
    return conn


class _Watched(asyncio.Protocol):
    """aiohttp's protocol with one more listener for the connection's end (see ``disconnected``)."""

    def __init__(self, inner: asyncio.Protocol, gone: asyncio.Event) -> None:
        self.inner, self.gone = inner, gone

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self):
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.gone.set()
        self.inner.connection_lost(exc)


def disconnected(request: web.Request) -> asyncio.Event:
    """Set once the client's connection is lost: a long response with nothing to send for a while (``logs -f``
    of a quiet container) learns of a client's going this way rather than at its next write."""
    gone = asyncio.Event()
    transport = request.transport
    if transport is None or transport.is_closing():
        gone.set()
    else:
        transport.set_protocol(_Watched(transport.get_protocol(), gone))
    return gone
