"""The Docker API's wire, read byte for byte: raw HTTP over the service's socket (what a client library would
hide: exact headers, error bodies, hijacked streams), docker's multiplexed frames, and the service's open
descriptors (a stream that ended must leave none behind)."""

from __future__ import annotations

import json
import os
import socket
import struct
import time


def request(api, method: str, path: str, body: dict | bytes | None = None, upgrade: bool = False, send: bytes = b"",
            half_close: bool = False, timeout: float = 30) -> tuple[int, dict, bytes]:
    """(status, headers with lower-case names, everything after the head until the server closed, dechunked);
    ``body`` goes as JSON, or as it is when bytes (a tar archive); ``send`` goes right after the request, then the
    write side is shut down when ``half_close``."""
    if isinstance(body, bytes):
        data, media = body, "application/octet-stream"
    else:
        data, media = json.dumps(body).encode() if body is not None else b"", "application/json"
    head = f"{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: {media}\r\n"
    head += f"Content-Length: {len(data)}\r\n"
    head += "Connection: Upgrade\r\nUpgrade: tcp\r\n" if upgrade else "Connection: close\r\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(api.socket))
        sock.sendall(head.encode() + b"\r\n" + data)
        received = b""
        if upgrade:  # as docker's clients do: the input follows the server's answer
            while b"\r\n\r\n" not in received and (chunk := sock.recv(65536)):
                received += chunk
        if send:
            sock.sendall(send)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        while chunk := sock.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        rest = dechunk(rest)
    return int(lines[0].split()[1]), headers, rest


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, data = data.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, data = out + data[:n], data[n + 2:]
    return out


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


def frames(data: bytes) -> list[tuple[int, bytes]]:
    """docker's multiplexed stream as (stream, payload) pairs; fails on a malformed or cut stream."""
    out = []
    while data:
        assert len(data) >= 8, f"a cut frame header: {data!r}"
        stream, size = struct.unpack(">BxxxL", data[:8])
        assert stream in (1, 2) and len(data) >= 8 + size, f"a malformed frame: {data[:40]!r}"
        out.append((stream, data[8:8 + size]))
        data = data[8 + size:]
    return out


def by_stream(data: bytes) -> dict[int, bytes]:
    joined: dict[int, bytes] = {1: b"", 2: b""}
    for stream, payload in frames(data):
        joined[stream] += payload
    return joined


def service_fds(api) -> int:
    return len(os.listdir(f"/proc/{api.process.pid}/fd"))


def settle_fds(api, at_most: int, timeout: float = 15) -> int:
    """The service's descriptor count once it is down to ``at_most`` (streams close their ends as they end);
    the last count seen after ``timeout``."""
    deadline = time.monotonic() + timeout
    while (count := service_fds(api)) > at_most and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def _conftest():
    """This directory's conftest as a module of its own: its ``DockerApi`` and readiness probe, reused."""
    import importlib.util
    import sys
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("dockerapi_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def start_service(ps, run_dir):
    """A second ``portside system service`` over the root of ``ps`` (the conftest's, on ``run_dir``)."""
    return _conftest().start_service(ps, run_dir)


def resized_shell(argv: list[str], size: tuple[int, int], new_size: tuple[int, int], exit_code: int
                  ) -> tuple[str, int]:
    """A shell started by the docker CLI (``argv``) on a terminal of ``size``: it is asked its terminal and size,
    resized to ``new_size`` and asked again, then exits with ``exit_code``; what it showed, and the CLI's code.

    As ``terminal.resized_shell``, for the docker CLI's timing (against dockerd as here): it sends the first size
    after the start, when the shell may have begun already, so the shell waits for a size; and it listens for
    SIGWINCH only after that (Go drops the signal until then), so the resize is signalled until it shows."""
    import select
    import signal

    from terminal import Terminal

    term = Terminal(argv, rows=size[0], cols=size[1])
    try:
        term.until("# ")
        term.type('while [ -z "$(stty size 2>/dev/null)" ]; do sleep 0.05; done; tty; stty size; echo $((6*7))\r')
        term.until("42\r\n")
        rows, cols = new_size
        term.resize(rows, cols)
        term.type(f"r=$(({rows}-1+1)); c=$(({cols}-1+1)); i=0; "
                  f'while [ "$(stty size)" != "$r $c" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; '
                  f"stty size; exit {exit_code}\r")
        wanted, deadline = f"{rows} {cols}".encode(), time.monotonic() + 20
        while wanted not in term.shown.split(b"exit", 1)[-1] and time.monotonic() < deadline:
            if select.select([term.leader], [], [], 0.5)[0]:
                try:
                    chunk = os.read(term.leader, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                term.shown += chunk
            else:
                term.proc.send_signal(signal.SIGWINCH)  # again: the first may have come before the CLI listened
        shown = term.shown.decode(errors="replace")
    finally:
        code = term.close()
    return shown, code
