"""``kubectl port-forward``: TCP connections into a pod's network namespace, over the kubelet's stream protocols.

``GET /portForward/{namespace}/{pod}`` is upgraded to a WebSocket speaking one of:

- ``SPDY/3.1+portforward.k8s.io``: its binary messages carry a SPDY/3.1 session (``spdy.py``), cut anywhere, as
  kubectl 1.31 and later tunnel it (the API server brings older clients' plain SPDY upgrades here the same way).
  Each forwarded connection is a pair of streams the client opens with the headers ``streamtype`` (``error``,
  then ``data``), ``port`` and ``requestid``; each gets a SYN_REPLY at once. Once both are in, the connection is
  dialled: the data stream's bytes go to it, its bytes come back on the data stream, and a failure is told as
  text on the error stream (kubectl prints it). The data stream's FIN half-closes the connection; the
  connection's end is FIN on both streams; a RST_STREAM drops it.
- ``v4.channel.k8s.io`` (also its base64 variant, and no subprotocol at all), the WebSocket protocol the Python
  client speaks: the ``ports`` query names the ports; port i has channel 2i for data and 2i+1 for errors, and the
  first frame on each, from this side, is the port number (16 bits, little-endian). One connection per port;
  the socket closes when all have ended.

The connection is dialled from a socket made inside the pod's network namespace (``netns.socket_in``) to
127.0.0.1, so that a server listening on the pod's loopback only is reached, as with the kubelet; no process
enters the namespace.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
from pathlib import Path

from aiohttp import WSMsgType, web

from portside.agent import spdy
from portside.runtime.net import netns

log = logging.getLogger("portside.agent.portforward")

TUNNEL = "SPDY/3.1+portforward.k8s.io"
CHANNELS, CHANNELS_BASE64 = "v4.channel.k8s.io", "v4.base64.channel.k8s.io"
PROTOCOLS = (TUNNEL, CHANNELS, CHANNELS_BASE64)
CHUNK = 32 * 1024


class Target:
    """Where connections go: the pod's namespace, and its names for the error messages kubectl shows."""

    def __init__(self, namespace_path: Path, pod: str, uid: str) -> None:
        self.namespace_path, self.pod, self.uid = namespace_path, pod, uid

    async def dial(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to ``port`` on the pod's loopback; OSError says why not, in a sentence of its own."""
        sock = await asyncio.to_thread(netns.socket_in, self.namespace_path)
        try:
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        except OSError as exc:
            sock.close()
            why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise OSError(exc.errno, f"failed to connect to 127.0.0.1:{port} in the pod's network namespace: "
                                     f"{why}") from None
        except BaseException:
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock)

    def failure(self, port: int, exc: OSError) -> str:
        return f"error forwarding port {port} to pod {self.pod}, uid {self.uid}: {exc.strerror or exc}"


async def serve_portforward(request: web.Request) -> web.StreamResponse:
    agent = request.app["agent"]
    ns, name = request.match_info["namespace"], request.match_info["pod"]
    worker = agent.find(ns, name)
    if worker is None:
        raise web.HTTPNotFound(text=f'pod "{name}" in namespace "{ns}" is not running on this node\n')
    path = await agent.engine.call(agent.sandboxes.netns, worker.uid)
    if path is None:
        raise web.HTTPBadRequest(text=f'pod "{name}" has no network namespace on this node yet\n')
    target = Target(path, name, worker.uid)
    asked = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    ports = _ports(request) if TUNNEL not in asked else []
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    await ws.prepare(request)
    try:
        if ws.ws_protocol == TUNNEL:
            await SpdySession(ws, target).run()
        else:
            await ChannelSession(ws, target, ports, ws.ws_protocol == CHANNELS_BASE64).run()
    finally:
        await ws.close()
    return ws


def _ports(request: web.Request) -> list[int]:
    """The ``ports`` query of the channel protocol: one or more, comma-separated or repeated."""
    texts = [p for value in request.query.getall("ports", []) for p in value.split(",")]
    if not texts:
        raise web.HTTPBadRequest(text='query parameter "ports" is required\n')
    ports = []
    for text in texts:
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise web.HTTPBadRequest(text=f'unable to parse "{text}" as a port: expected 1-65535\n')
        ports.append(int(text))
    return ports


class _Pair:
    """One forwarded connection: its two SPDY streams and what moves between them and the pod."""

    def __init__(self, request_id: str, port: int) -> None:
        self.request_id, self.port = request_id, port
        self.error_id = self.data_id = 0
        self.inbound: asyncio.Queue[bytes | None] = asyncio.Queue()  # to the pod; None: the client's FIN
        self.task: asyncio.Task | None = None

    @property
    def complete(self) -> bool:
        return bool(self.error_id and self.data_id)


class SpdySession:
    def __init__(self, ws: web.WebSocketResponse, target: Target) -> None:
        self.ws, self.target = ws, target
        self.parser, self.writer = spdy.Parser(), spdy.Writer()
        self.pairs: dict[str, _Pair] = {}
        self.by_stream: dict[int, _Pair] = {}
        self.sending = asyncio.Lock()  # header compression is one context: frames leave in the order made

    async def run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY:
                    break
                for frame in self.parser.feed(msg.data):
                    if isinstance(frame, spdy.GoAway):
                        return
                    await self.handle(frame)
        except spdy.ProtocolError as exc:
            log.warning("port-forward to pod %s: %s", self.target.pod, exc)
        finally:
            tasks = [p.task for p in self.pairs.values() if p.task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def send(self, frame: bytes | None = None, make=None) -> None:
        """``frame`` as it is, or the frame ``make()`` builds (under the lock: it may compress headers)."""
        async with self.sending:
            data = frame if make is None else make()
            if not self.ws.closed:
                await self.ws.send_bytes(data)

    async def handle(self, frame: spdy.Frame) -> None:
        if isinstance(frame, spdy.SynStream):
            await self.open_stream(frame)
        elif isinstance(frame, spdy.Data):
            pair = self.by_stream.get(frame.stream_id)
            if pair is not None and frame.stream_id == pair.data_id:
                if frame.data:
                    pair.inbound.put_nowait(frame.data)
                if frame.fin:
                    pair.inbound.put_nowait(None)
        elif isinstance(frame, spdy.RstStream):
            pair = self.by_stream.get(frame.stream_id)
            if pair is not None and pair.task is not None:
                pair.task.cancel()
        elif isinstance(frame, spdy.Ping) and frame.id % 2 == 1:  # the client's; ours would be even
            await self.send(self.writer.ping(frame.id))

    async def open_stream(self, frame: spdy.SynStream) -> None:
        await self.send(make=lambda: self.writer.syn_reply(frame.stream_id))
        kind, port = frame.headers.get("streamtype", ""), frame.headers.get("port", "")
        request_id = frame.headers.get("requestid") or str(frame.stream_id - (2 if kind == "data" else 0))
        if kind not in ("data", "error") or not port.isdigit() or not 0 < int(port) < 65536:
            await self.send(self.writer.rst_stream(frame.stream_id, spdy.INTERNAL_ERROR))
            return
        pair = self.pairs.setdefault(request_id, _Pair(request_id, int(port)))
        setattr(pair, "data_id" if kind == "data" else "error_id", frame.stream_id)
        self.by_stream[frame.stream_id] = pair
        if frame.fin and kind == "data":
            pair.inbound.put_nowait(None)
        if pair.complete and pair.task is None:
            pair.task = asyncio.ensure_future(self.forward(pair))

    async def forward(self, pair: _Pair) -> None:
        try:
            try:
                reader, writer = await self.target.dial(pair.port)
            except OSError as exc:
                message = self.target.failure(pair.port, exc).encode()
                await self.send(self.writer.data(pair.error_id, message))
                return
            await _copy_both(reader, writer, pair.inbound,
                             lambda chunk: self.send(self.writer.data(pair.data_id, chunk)))
        finally:
            self.pairs.pop(pair.request_id, None)
            for stream_id in (pair.data_id, pair.error_id):
                self.by_stream.pop(stream_id, None)
            await _quietly(self.send(self.writer.data(pair.data_id, fin=True) +
                                     self.writer.data(pair.error_id, fin=True)))


async def _copy_both(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     inbound: asyncio.Queue, send) -> None:
    """The pod's bytes out through ``send`` until it ends; the client's (from ``inbound``) in meanwhile. The
    pod's end is the connection's, as the kubelet has it: the client's FIN only half-closes."""
    async def to_pod() -> None:
        while (chunk := await inbound.get()) is not None:
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    pushing = asyncio.ensure_future(to_pod())
    try:
        while chunk := await reader.read(CHUNK):
            await send(chunk)
    finally:
        pushing.cancel()
        await asyncio.gather(pushing, return_exceptions=True)
        writer.close()


async def _quietly(coro) -> None:
    """A last frame to a client that may have gone already."""
    try:
        await coro
    except (ConnectionError, RuntimeError):
        pass


class ChannelSession:
    """The ``v4.channel.k8s.io`` protocol: one connection per port of the ``ports`` query."""

    def __init__(self, ws: web.WebSocketResponse, target: Target, ports: list[int], base64_frames: bool) -> None:
        self.ws, self.target, self.ports, self.base64 = ws, target, ports, base64_frames
        self.inbound = [asyncio.Queue() for _ in ports]

    async def run(self) -> None:
        for i, port in enumerate(self.ports):
            for channel in (2 * i, 2 * i + 1):
                await self.send(channel, port.to_bytes(2, "little"))
        forwards = [asyncio.ensure_future(self.forward(i, port)) for i, port in enumerate(self.ports)]
        reading = asyncio.ensure_future(self.read())
        all_ended = asyncio.ensure_future(asyncio.gather(*forwards))
        try:
            await asyncio.wait([all_ended, reading], return_when=asyncio.FIRST_COMPLETED)  # or the client left
        finally:
            for task in (reading, all_ended, *forwards):
                task.cancel()
            await asyncio.gather(reading, all_ended, *forwards, return_exceptions=True)

    async def send(self, channel: int, data: bytes) -> None:
        if self.ws.closed:
            return
        if self.base64:
            await self.ws.send_str(chr(ord("0") + channel) + base64.b64encode(data).decode())
        else:
            await self.ws.send_bytes(bytes([channel]) + data)

    async def read(self) -> None:
        async for msg in self.ws:
            channel, data = self._decode(msg)
            if channel is not None and channel % 2 == 0 and channel // 2 < len(self.ports) and data:
                self.inbound[channel // 2].put_nowait(data)

    def _decode(self, msg) -> tuple[int | None, bytes]:
        try:
            if msg.type == WSMsgType.BINARY and msg.data:
                return msg.data[0], msg.data[1:]
            if msg.type == WSMsgType.TEXT and msg.data and self.base64:
                return ord(msg.data[0]) - ord("0"), base64.b64decode(msg.data[1:])
        except (ValueError, binascii.Error):
            pass
        return None, b""

    async def forward(self, i: int, port: int) -> None:
        try:
            reader, writer = await self.target.dial(port)
        except OSError as exc:
            await self.send(2 * i + 1, self.target.failure(port, exc).encode())
            return
        await _copy_both(reader, writer, self.inbound[i], lambda chunk: self.send(2 * i, chunk))
