"""The userspace plane against real sockets: worker processes, real backends on 127.0.0.1, real clients."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from support.net import free_port, port_closed
from support.wait import eventually

from portside.proxy.balance import Backend
from portside.proxy.model import ServicePort
from portside.proxy.userspace import Settings
from portside.proxy.workers import UserspacePlane

from .traffic import REQUEST, get, load, p99, spread, within_even


@pytest.fixture
def plane() -> Iterator:
    planes: list[UserspacePlane] = []

    def make(workers: int = 0, settings: Settings = Settings()) -> UserspacePlane:
        planes.append(UserspacePlane(workers, "127.0.0.1", settings))
        return planes[-1]

    yield make
    for p in planes:
        p.close()


def lb(backends, algorithm: str = "round-robin", affinity_s: int = 0) -> ServicePort:
    return ServicePort("default", "web", "", "tcp", 80, "LoadBalancer", "10.96.0.10", 0, affinity_s, algorithm,
                       tuple(backends))


def serve(plane: UserspacePlane, sp: ServicePort) -> int:
    port = free_port()
    assert plane.sync({sp.key: (sp, port)}) == {}
    return port


def refused(port: int) -> bool:
    try:
        get("127.0.0.1", port, timeout=2)
    except (ConnectionResetError, ConnectionRefusedError):
        return True
    return False


def test_round_robin_spreads_300_requests_evenly_over_3(plane, backends) -> None:
    port = serve(plane(), lb([backends(f"b{i}") for i in range(3)]))
    counts = spread("127.0.0.1", port, 300)
    print("round-robin over 3 backends, 300 requests:", dict(counts))
    assert within_even(counts, 300, 3), counts


def test_no_backends_is_a_fast_reset(plane) -> None:
    port = serve(plane(), lb([]))
    start = time.monotonic()
    with pytest.raises(ConnectionResetError):
        get("127.0.0.1", port)
    assert time.monotonic() - start < 0.5


def test_removed_backend_gets_nothing_new_within_1s_and_in_flight_finishes(plane, backends) -> None:
    slow, fast1, fast2 = backends("slow", slow=2.0), backends("fast1"), backends("fast2")
    p = plane(workers=1)
    sp = lb([slow, fast1, fast2])
    port = serve(p, sp)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(get("127.0.0.1", port, "/slow"))) for _ in range(3)]
    for t in threads:
        t.start()
    eventually(lambda: p.stats().get(sp.key, {}).get("backends", {}).get(str(slow), [0, 0])[1] == 1, 5,
             what="the slow request in flight")
    removed_at = time.monotonic()
    p.sync({sp.key: (dataclasses.replace(sp, backends=(fast1, fast2)), port)})
    seen = [(time.monotonic() - removed_at, get("127.0.0.1", port)) for _ in range(100)]
    late = [t for t, body in seen if body == "slow" and t > 1.0]
    assert not late, f"the removed backend still got new requests {late} s after removal"
    for t in threads:
        t.join(10)
    assert sorted(results) == ["fast1", "fast2", "slow"]  # the in-flight request finished on its backend
    print("removal: last request to the removed backend at",
          max([t for t, b in seen if b == "slow"], default=None), "s after the change")


@pytest.mark.parametrize("algorithm", ["least-connections", "power-of-two-choices"])
def test_load_aware_algorithms_beat_round_robin_p99_with_one_slow_backend(plane, backends, algorithm) -> None:
    """One backend takes 2 s per request, longer than the run: round-robin keeps sending it every third request
    (p99 is its 2 s), while a load-aware pick sees its connections pile up and sends it almost nothing."""
    group = [backends("slow", slow=2.0), backends("fast1"), backends("fast2")]
    p = plane(workers=1)  # one worker: the connection counts these algorithms read are exact
    rr_port, other_port = serve(p, lb(group)), free_port()
    other = dataclasses.replace(lb(group, algorithm), port=81)
    assert p.sync({**p.served, other.key: (other, other_port)}) == {}
    rr = asyncio.run(load("127.0.0.1", rr_port, 1.5, 6))
    smart = asyncio.run(load("127.0.0.1", other_port, 1.5, 6))
    print(f"p99 with one backend 2 s slow: round-robin {p99(rr) * 1000:.1f} ms over {len(rr)} requests, "
          f"{algorithm} {p99(smart) * 1000:.1f} ms over {len(smart)} requests")
    assert p99(smart) < 1.0 < 2.0 <= p99(rr)


def test_affinity_keeps_a_client_on_one_backend(plane, backends) -> None:
    port = serve(plane(workers=1), lb([backends(f"b{i}") for i in range(3)], affinity_s=60))
    assert len(spread("127.0.0.1", port, 20)) == 1


def test_removing_the_service_closes_its_listener(plane, backends) -> None:
    p = plane()
    port = serve(p, lb([backends("b")]))
    assert get("127.0.0.1", port) == "b"
    assert p.sync({}) == {}

    eventually(lambda: port_closed("127.0.0.1", port), 5, what="the listener to close")


def test_a_taken_port_is_a_conflict_and_nothing_is_left_half_open(plane, backends) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        p = plane()
        sp = lb([backends("b")])
        assert p.sync({sp.key: (sp, port)}) == {
            sp.key: f"port {port}/TCP on 127.0.0.1 is already in use by another program or Service"}
        assert p.served == {} and p.children == []
    finally:
        holder.close()


def test_idle_connections_are_closed(plane, backends) -> None:
    port = serve(plane(workers=1, settings=Settings(idle_timeout_s=0.5)), lb([backends("b")]))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        start = time.monotonic()
        assert s.recv(1) == b""  # closed by the proxy, not by us
        assert time.monotonic() - start < 3


def test_a_slow_reader_pauses_the_backend_and_still_gets_every_byte(plane, backends) -> None:
    """Flow control: while the client reads nothing, the proxy stops reading the backend (bytes stay in the
    backend's socket), instead of buffering the whole response in memory."""
    p = plane(workers=1)
    sp = lb([backends("b")])
    port = serve(p, sp)
    n = 64 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET /big?n=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % n)
        seen: list[int] = []

        def stalled() -> bool:
            out = p.stats().get(sp.key, {}).get("backends", {}).get(str(sp.backends[0]), [0] * 5)[3]
            seen.append(out)
            return len(seen) > 2 and 0 < seen[-1] == seen[-2]
        eventually(stalled, 10, interval=0.6, what="forwarding to stall while the client does not read")
        assert seen[-1] < n // 4, f"{seen[-1]} bytes buffered: the backend was not paused"
        received = 0
        while chunk := s.recv(1 << 20):
            received += len(chunk)
    assert received > n  # the body plus the headers


def test_counters_per_backend(plane, backends) -> None:
    p = plane(workers=1)
    sp = lb([backends("a"), backends("b")])
    port = serve(p, sp)
    counts = spread("127.0.0.1", port, 10)
    assert counts == Counter({"a": 5, "b": 5})
    stats = eventually(lambda: (s := p.stats().get(sp.key)) and sum(v[0] for v in s["backends"].values()) == 10 and s,
                     5, what="stats")
    for conns, active, bytes_in, bytes_out, errors in stats["backends"].values():
        assert (conns, active, errors) == (5, 0, 0) and bytes_in > 0 and bytes_out > 0


def test_a_dead_backend_is_skipped_and_counted_as_errors(plane, backends) -> None:
    """A refused connect is an error of that backend and nothing else: no connection, and the request's bytes
    count for the backend that served it."""
    p = plane(workers=1)
    dead, alive = Backend("127.0.0.1", free_port()), backends("alive")  # nothing listens on dead's port
    sp = lb([dead, alive])
    port = serve(p, sp)
    assert spread("127.0.0.1", port, 10) == {"alive": 10}
    stats = eventually(lambda: (b := p.stats().get(sp.key, {}).get("backends", {})) and
                       b.get(str(alive), [0])[0] == 10 and b, 5, what="stats")
    conns, active, bytes_in, bytes_out, errors = stats[str(dead)]
    assert (conns, active, bytes_in, bytes_out) == (0, 0, 0, 0) and errors >= 5  # failed connects only
    conns, active, bytes_in, bytes_out, errors = stats[str(alive)]
    assert (conns, active, errors) == (10, 0, 0) and bytes_in == 10 * len(REQUEST % b"/") and bytes_out > 0
