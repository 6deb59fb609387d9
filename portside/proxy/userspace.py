"""The userspace data plane's forwarding core: asyncio Protocols spliced to each other, one pair per connection.

Bytes go from ``data_received`` of one side straight into ``write`` of the other: no coroutine, no ``drain`` per
chunk. Flow control is the transports' own: when a side's write buffer passes its high-water mark asyncio calls
that side's ``pause_writing``, and we pause *reading* on the peer that feeds it, resuming on ``resume_writing``.
The only coroutine is the connect to the backend, once per connection.

A ``Listener`` is one Service port in this process: its balancer, its affinity table, its counters. Updating its
backends only changes whom new connections go to; connections already open keep their backend until either end
closes (draining). Idle connections are closed by a sweep (``sweep_idle``) rather than a timer per chunk: a pair
that moved no byte between two sweeps is closed.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass, field

from portside.proxy.balance import Affinity, Backend, Balancer, make_balancer

__all__ = ["Listener", "Settings", "Stats"]

_LINGER_RESET = struct.pack("ii", 1, 0)
CONNECT_ATTEMPTS = 3


@dataclass(frozen=True)
class Settings:
    connect_timeout_s: float = 5.0
    idle_timeout_s: float = 300.0


@dataclass
class Stats:
    """Per backend: connections established, open now (or being connected), bytes each way, failed connects.

    A connect the backend refused or let time out is an error and nothing else: it is no connection, and the
    client's first bytes, held while connecting, count for the backend that finally receives them.
    """

    connections: int = 0
    active: int = 0
    bytes_in: int = 0  # client -> backend
    bytes_out: int = 0  # backend -> client
    errors: int = 0

    def as_list(self) -> list[int]:
        return [self.connections, self.active, self.bytes_in, self.bytes_out, self.errors]


@dataclass
class Listener:
    key: str
    balancer: Balancer
    affinity: Affinity | None = None
    settings: Settings = field(default_factory=Settings)
    stats: dict[str, Stats] = field(default_factory=dict)
    refused: int = 0
    pairs: set[Downstream] = field(default_factory=set)
    last_sweep: float = 0.0
    drained: asyncio.Event = field(default_factory=asyncio.Event)  # set whenever no connection is open

    def configure(self, algorithm: str, backends: list[Backend], affinity_s: int) -> None:
        """New backend set, algorithm or affinity; open connections are left alone."""
        if algorithm != self.balancer.name:
            old = self.balancer
            self.balancer = make_balancer(algorithm, backends)
            self.balancer.active.update({b: n for b, n in old.active.items() if b in self.balancer.active})
        else:
            self.balancer.update(backends)
        if not affinity_s:
            self.affinity = None
        elif self.affinity is None or self.affinity.timeout != affinity_s:
            self.affinity = Affinity(affinity_s)

    def pick(self, client_ip: str, now: float) -> Backend | None:
        if self.affinity is not None:
            return self.affinity.pick(self.balancer, client_ip, now)
        return self.balancer.pick()

    def stat(self, backend: Backend) -> Stats:
        key = str(backend)
        s = self.stats.get(key)
        if s is None:
            s = self.stats[key] = Stats()
        return s

    def sweep_idle(self) -> None:
        for pair in list(self.pairs):
            if not pair.moved:
                pair.close()
            pair.moved = False


class Downstream(asyncio.Protocol):
    """The client's side of a pair; it owns the pair's life and its accounting."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.upstream: Upstream | None = None
        self.backend: Backend | None = None
        self.stats: Stats | None = None
        self.moved = True
        self.closed = False
        self.eofs = 0  # both directions finished: the pair is done
        self.pending: list[bytes] = []
        self.forward = self.pending.append  # until the backend answers; then the backend transport's write
        self.eof_pending = False

    def half_closed(self) -> None:
        self.eofs += 1
        if self.eofs == 2:
            self.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        loop = asyncio.get_running_loop()
        client_ip = transport.get_extra_info("peername")[0]
        self._assign(self.listener.pick(client_ip, loop.time()))
        if self.backend is None:
            self.listener.refused += 1
            _reset(transport)
            return
        transport.pause_reading()  # until a backend answers
        self.listener.pairs.add(self)
        self.listener.drained.clear()
        loop.create_task(self._connect(loop, client_ip))

    def _assign(self, backend: Backend | None) -> None:
        if self.backend is not None:  # the previous attempt failed: uncount it
            self.listener.balancer.release(self.backend)
            self.stats.active -= 1
        self.backend = backend
        if backend is not None:
            self.stats = self.listener.stat(backend)
            self.stats.active += 1

    async def _connect(self, loop: asyncio.AbstractEventLoop, client_ip: str) -> None:
        """Connect to the picked backend; one that refuses or times out counts an error, and the next pick is
        tried (a pod may die before its Endpoints change arrives), up to ``CONNECT_ATTEMPTS``."""
        for attempt in range(CONNECT_ATTEMPTS):
            if self.closed:  # the client left meanwhile; close() has uncounted the backend
                return
            if attempt:
                self._assign(self.listener.pick(client_ip, loop.time()))
            if self.backend is None:
                break
            try:
                async with asyncio.timeout(self.listener.settings.connect_timeout_s):
                    transport, self.upstream = await loop.create_connection(
                        lambda: Upstream(self), self.backend.ip, self.backend.port)
                break
            except (OSError, TimeoutError):
                self.stats.errors += 1
        if self.upstream is None:
            self._assign(None)
            _reset(self.transport)
            self.close()
            return
        if self.closed:
            transport.close()
            return
        self.stats.connections += 1
        self.stats.bytes_in += sum(map(len, self.pending))
        self.forward = transport.write
        transport.writelines(self.pending)
        self.pending.clear()
        if self.eof_pending:
            self.eof_received()
        self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        self.moved = True
        if self.upstream is not None:  # else held in ``pending`` and counted once a backend takes it
            self.stats.bytes_in += len(data)
        self.forward(data)

    def eof_received(self) -> bool:
        if self.upstream is None:
            self.eof_pending = True
            return True
        if self.upstream.transport.can_write_eof():
            self.upstream.transport.write_eof()
        self.half_closed()
        return True  # keep the other direction open (half-close)

    def pause_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.listener.pairs.discard(self)
        if not self.listener.pairs:
            self.listener.drained.set()
        if self.backend is not None:
            self.listener.balancer.release(self.backend)
            self.stats.active -= 1
        for t in (self.transport, self.upstream.transport if self.upstream else None):
            if t is not None:
                t.close()


class Upstream(asyncio.Protocol):
    """The backend's side: forwards to the client and mirrors flow control."""

    def __init__(self, down: Downstream) -> None:
        self.down = down
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.down.moved = True
        self.down.stats.bytes_out += len(data)
        self.down.transport.write(data)

    def eof_received(self) -> bool:
        if self.down.transport.can_write_eof():
            self.down.transport.write_eof()
        self.down.half_closed()
        return True

    def pause_writing(self) -> None:
        self.down.transport.pause_reading()

    def resume_writing(self) -> None:
        self.down.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.down.close()


def _reset(transport: asyncio.BaseTransport) -> None:
    """Close with a TCP RST (linger 0): the client learns at once that nobody serves this port."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        except OSError:
            pass
    transport.abort()
