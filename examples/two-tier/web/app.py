"""The two-tier example's web tier: notes kept in Redis, which it reaches by the Service name ``redis``.

``PUT /notes/KEY`` stores the request's body, ``GET /notes/KEY`` answers it (404 when there is no such note),
``/healthz`` answers ``ok`` as soon as the server accepts connections (it does not ask Redis: a web pod is no less
ready while the database restarts; its requests answer 503 meanwhile). Redis is spoken in its own protocol (RESP)
over a socket, a new connection per request, so the image needs nothing beyond Python and a restarted database
pod with a new address is found again through DNS.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST, _, PORT = os.environ.get("REDIS_ADDRESS", "redis:6379").rpartition(":")
PREFIX = "/notes/"


class RedisError(Exception):
    pass


def command(*args: bytes) -> bytes | None:
    """Send one command; its answer (None for a missing value). Errors, and a Redis out of reach, raise."""
    try:
        with socket.create_connection((HOST, int(PORT)), timeout=5) as conn:
            conn.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
            return _reply(conn.makefile("rb"))
    except OSError as exc:
        raise RedisError(f"redis at {HOST}:{PORT}: {exc}") from exc


def _reply(stream) -> bytes | None:
    line = stream.readline()
    kind, rest = line[:1], line[1:].rstrip(b"\r\n")
    if kind in (b"+", b":"):
        return rest
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else stream.read(size + 2)[:-2]
    if kind == b"-":
        raise RedisError(rest.decode(errors="replace"))
    raise RedisError(f"unexpected answer {line!r}")


class Notes(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        if self.path == "/healthz":
            return self._answer(200, b"ok\n")
        key = self._key()
        if key is not None:
            self._with_redis(lambda: self._found(command(b"GET", key)))

    def do_PUT(self) -> None:  # noqa: N802
        key = self._key()
        if key is not None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._with_redis(lambda: (command(b"SET", key, body), self._answer(201, b"stored\n")))

    def _key(self) -> bytes | None:
        if not self.path.startswith(PREFIX) or len(self.path) == len(PREFIX):
            self._answer(404, b"not found: use /notes/KEY\n")
            return None
        return b"note:" + self.path[len(PREFIX):].encode()

    def _found(self, value: bytes | None) -> None:
        self._answer(404, b"no such note\n") if value is None else self._answer(200, value)

    def _with_redis(self, act) -> None:
        try:
            act()
        except RedisError as exc:
            self._answer(503, f"{exc}\n".encode())

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    # As a container's first process the app gets no default SIGTERM action: without this handler every pod
    # deletion would wait out the whole grace period.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Notes).serve_forever()
