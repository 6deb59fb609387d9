"""Reaching what a test started on loopback: a free port, an HTTP GET that waits for the server to come up, and
whether a port is closed."""

from __future__ import annotations

import socket
import urllib.request

from support.wait import eventually


def free_port() -> int:
    """A port free on 127.0.0.1 right now (tests use their own, never a fixed one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10) -> str:
    """The body at ``url``, once something answers there (a server may still be binding)."""
    return eventually(lambda: _get(url), timeout, what=f"an answer from {url}")[0]


def _get(url: str) -> tuple[str] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return (response.read().decode(),)  # a tuple: an empty body is an answer too
    except OSError:
        return None


def port_closed(host: str, port: int) -> bool:
    """True once nothing listens at ``host:port`` any more (a connection is refused, not accepted)."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
