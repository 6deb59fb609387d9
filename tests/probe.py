"""Reaching what a test started: an HTTP GET that waits for the server to come up."""

import time
import urllib.request


def http_get(url: str, timeout: float = 10) -> str:
    """The body at ``url``, retried until ``timeout`` while nothing answers yet (a server still binding)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def port_closed(host: str, port: int) -> bool:
    """True once nothing listens at ``host:port`` any more (a connection is refused, not accepted)."""
    import socket

    try:
        socket.create_connection((host, port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
