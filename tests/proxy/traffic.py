"""Clients for the proxy tests: one request per new connection (each is a fresh balancing decision)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter

REQUEST = b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def get(host: str, port: int, path: str = "/", timeout: float = 5) -> str:
    """The body of one response; OSError (e.g. ConnectionResetError, ConnectionRefusedError) when refused."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(REQUEST % path.encode())
        data = b""
        while chunk := s.recv(1 << 16):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return body.decode()


def spread(host: str, port: int, n: int) -> Counter:
    return Counter(get(host, port) for _ in range(n))


def within_even(counts: Counter, n: int, backends: int, tolerance: float = 0.15) -> bool:
    even = n / backends
    return len(counts) == backends and all(abs(c - even) <= tolerance * even for c in counts.values())


async def _one(host: str, port: int, path: bytes) -> float:
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(REQUEST % path)
    await reader.read()
    writer.close()
    return time.perf_counter() - start


async def _loop(host: str, port: int, path: bytes, deadline: float, out: list[float]) -> None:
    while time.perf_counter() < deadline:
        out.append(await _one(host, port, path))


async def load(host: str, port: int, seconds: float, concurrency: int, path: str = "/slow") -> list[float]:
    """Latencies (s) of requests from ``concurrency`` clients in a closed loop for ``seconds``."""
    out: list[float] = []
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_loop(host, port, path.encode(), deadline, out) for _ in range(concurrency)))
    return out


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
