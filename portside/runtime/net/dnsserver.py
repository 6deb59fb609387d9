"""A DNS server's sockets: UDP and TCP on one address, answering each query through a ``Resolve`` function.

What a name means is the caller's (the cluster DNS answers Services from its zone, the engine's responder answers
containers on user networks); everything about the wire is here, shared by both:

- a UDP query takes the fast path when the server keeps a ``ReplyCache`` and the question was answered before
  (``dnswire``: a stored reply with the query's ID spliced in, no parsing, no awaiting); else the full one:
  dnspython parses it, ``resolve`` answers it (perhaps awaiting an upstream), and a reply the resolver marks
  cacheable is stored for the next query with the same question;
- a reply too large for the client's UDP size goes out truncated (TC), and the client asks again over TCP, where
  replies are sent whole; a TCP connection may carry many queries and is closed after ``TCP_IDLE_S`` without one;
- a message too broken to parse gets FORMERR with its ID; a response (QR set) gets nothing.

The sockets are bound with IP_FREEBIND: the address (a bridge's gateway) may not exist yet when the server
starts, since the bridge is made with its first container, and the server should answer from the moment it does.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable

import dns.exception
import dns.flags
import dns.message
import dns.rcode

from portside.runtime.net import dnswire as wire

__all__ = ["DNSServer", "Resolve", "TCP_PAYLOAD", "udp_limit"]

log = logging.getLogger("portside.dns")
TCP_IDLE_S = 10.0
TCP_PAYLOAD = 65535
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)

# (query, client address) -> (response, cacheable): cacheable when the answer depends on the question alone
Resolve = Callable[[dns.message.Message, tuple], Awaitable[tuple[dns.message.Message, bool]]]


class DNSServer:
    def __init__(self, resolve: Resolve, address: str, port: int = 53, cache: wire.ReplyCache | None = None) -> None:
        self.resolve = resolve
        self.address, self.port = address, port
        self.cache = cache
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    # -- sockets ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind UDP and TCP; with port 0 (tests), any port free for both."""
        loop = asyncio.get_running_loop()
        for attempt in range(1 if self.port else 20):
            self._udp, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self),
                                                               sock=self._socket(socket.SOCK_DGRAM))
            try:
                self._tcp = await asyncio.start_server(self._stream, sock=self._socket(socket.SOCK_STREAM))
                break
            except OSError:
                await self.close()
                if self.port or attempt == 19:
                    raise
        if self.port == 0:
            self.port = self._udp.get_extra_info("sockname")[1]

    def _socket(self, kind: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        sock = socket.socket(family, kind)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_IP if family == socket.AF_INET else socket.IPPROTO_IPV6,
                            IP_FREEBIND, 1)
            # TCP takes the UDP socket's port, so that port 0 (tests) gives one port for both
            sock.bind((self.address, self.port if kind == socket.SOCK_DGRAM or self._udp is None
                       else self._udp.get_extra_info("sockname")[1]))
            if kind == socket.SOCK_STREAM:
                sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            self._tcp = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- answering -------------------------------------------------------------------------------------------

    def quick(self, data: bytes, tcp: bool = False) -> tuple[bytes | None, wire.Question | None]:
        """A stored reply for ``data``, and its parsed question (None: the full path must parse it)."""
        if self.cache is None:
            return None, None
        question = wire.parse(data)
        if question is None:
            return None, None
        if tcp:
            question = wire.Question(question.key, question.end, TCP_PAYLOAD)
        reply = self.cache.get(data, question)
        if reply is not None and not tcp:
            self.cache.remember(data, reply)
        return reply, question

    async def full(self, data: bytes, question: wire.Question | None, tcp: bool = False,
                   client: tuple = ()) -> bytes | None:
        """The reply to a query the fast path could not answer; None for what is no query at all."""
        try:
            query = dns.message.from_wire(data)
        except dns.message.UnknownTSIGKey:
            return None
        except dns.exception.DNSException:
            return _formerr(data)
        if query.flags & dns.flags.QR:
            return None
        response, cacheable = await self.resolve(query, client)
        response.flags |= query.flags & dns.flags.CD
        limit = TCP_PAYLOAD if tcp else udp_limit(query)
        rendered = _render(response, TCP_PAYLOAD)
        reply = rendered if len(rendered) <= limit else _truncated(response)
        if cacheable and question is not None and self.cache is not None:
            self.cache.put(question, rendered, _truncated(response))
            if not tcp:
                self.cache.remember(data, reply)
        return reply

    # -- transports ------------------------------------------------------------------------------------------

    def spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = writer.get_extra_info("peername") or ()
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_S):
                    size = int.from_bytes(await reader.readexactly(2), "big")
                    data = await reader.readexactly(size)
                reply, question = self.quick(data, tcp=True)
                if reply is None:
                    reply = await self.full(data, question, tcp=True, client=client)
                if reply is None:
                    break
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server
        # the hot path's one lookup, without an attribute walk (an empty dict when the server keeps no cache)
        self.exact = server.cache.exact if server.cache is not None else {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        hit = self.exact.get(data[2:])
        if hit is not None:
            self.transport.sendto(data[:2] + hit, addr)
            return
        reply, question = self.server.quick(data)
        if reply is not None:
            self.transport.sendto(reply, addr)
        else:
            self.server.spawn(self._answer(data, question, addr))

    async def _answer(self, data: bytes, question: wire.Question | None, addr) -> None:
        try:
            reply = await self.server.full(data, question, client=addr)
        except Exception:  # noqa: BLE001 - one bad query must not stop the server
            log.exception("dns: query from %s failed", addr)
            return
        if reply is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable from a client that left
        log.debug("dns: %s", exc)


def udp_limit(query: dns.message.Message) -> int:
    return max(512, query.payload) if query.edns >= 0 else 512


def _render(response: dns.message.Message, limit: int) -> bytes:
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        return _truncated(response)


def _truncated(response: dns.message.Message) -> bytes:
    """The reply with only its question (and OPT), TC set: the client asks again over TCP."""
    short = dns.message.Message(id=response.id)
    short.flags = response.flags | dns.flags.TC
    short.question = list(response.question)
    if response.edns >= 0:
        short.use_edns(0, 0, response.payload)
    short.set_rcode(response.rcode())
    return short.to_wire()


def _formerr(data: bytes) -> bytes | None:
    """FORMERR with the query's ID, for a message too broken to parse (none for fewer than 12 bytes)."""
    if len(data) < 12 or data[2] & 0x80:
        return None
    flags = 0x8000 | (data[2] & 0x78) << 8 | dns.rcode.FORMERR
    return data[:2] + flags.to_bytes(2, "big") + bytes(8)
