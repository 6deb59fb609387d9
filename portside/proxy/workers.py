"""The userspace data plane's parent side: binds the ports, runs one worker process per core, gathers counters.

``UserspacePlane.sync({key: (ServicePort, port)})`` makes the set of served ports equal to the argument: a new
port is bound here (a plain bind first, without SO_REUSEPORT, so that a port anyone else holds is a conflict
rather than a silent share; then one SO_REUSEPORT socket per worker) and each worker receives its socket; a
changed backend set goes to every worker; a port no longer wanted is closed in every worker. Bind failures are
returned per key for the caller to report on the Service.

Workers start with the first port, so a cluster without LoadBalancer Services runs no extra process.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from portside.proxy.model import ServicePort
from portside.proxy.userspace import Settings

__all__ = ["Binding", "UserspacePlane"]

Binding = tuple[ServicePort, int]  # what to serve, and the host port to serve it on
BACKLOG = 4096
LISTEN_TIMEOUT_S = 10.0
MAX_MESSAGE = 1 << 20
STOP_TIMEOUT_S = 10.0


@dataclass
class _Child:
    proc: subprocess.Popen
    control: socket.socket
    stats: dict[str, Any]


def _probe(address: str, port: int) -> str:
    """Empty when nobody holds ``address:port``; otherwise why we cannot have it."""
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are no conflict
    try:
        probe.bind((address, port))
        return ""
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            return f"port {port}/TCP on {address} is already in use by another program or Service"
        return f"cannot bind port {port}/TCP on {address}: {err.strerror}"
    finally:
        probe.close()


def _reuseport_socket(address: str, port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((address, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


class UserspacePlane:
    def __init__(self, workers: int = 0, address: str = "0.0.0.0", settings: Settings = Settings()) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.address, self.settings = address, settings
        self.children: list[_Child] = []
        self.served: dict[str, Binding] = {}

    def _spawn(self) -> None:
        for _ in range(self.workers):
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            proc = subprocess.Popen([sys.executable, "-m", "portside.proxy.worker", str(theirs.fileno())],
                                    pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
            theirs.close()
            self.children.append(_Child(proc, mine, {}))

    def _send(self, child: _Child, msg: dict[str, Any], fds: list[int] = ()) -> None:
        socket.send_fds(child.control, [json.dumps(msg).encode()], list(fds))

    def _message(self, op: str, sp: ServicePort, port: int) -> dict[str, Any]:
        return {"op": op, "key": sp.key, "port": port, "algorithm": sp.algorithm, "affinity_s": sp.affinity_s,
                "backends": [[b.ip, b.port] for b in sp.backends], "backlog": BACKLOG,
                "connect_timeout_s": self.settings.connect_timeout_s, "idle_timeout_s": self.settings.idle_timeout_s}

    def _open(self, sp: ServicePort, port: int) -> str:
        conflict = _probe(self.address, port)
        if conflict:
            return conflict
        if not self.children:
            self._spawn()
        socks: list[socket.socket] = []
        try:
            socks = [_reuseport_socket(self.address, port) for _ in self.children]
            for child, sock in zip(self.children, socks):
                self._send(child, self._message("listen", sp, port), [sock.fileno()])
        except OSError as err:
            return f"cannot serve port {port}/TCP on {self.address}: {err.strerror}"
        finally:
            for sock in socks:
                sock.close()  # the workers hold their own copies now
        for child in self.children:
            self._await_listening(child, sp.key)
        return ""

    def _await_listening(self, child: _Child, key: str) -> None:
        """Block until the worker accepts on ``key``: when ``sync`` returns, the port is served by every worker.

        Costs a worker's start-up the first time, a round trip afterwards.
        """
        child.control.settimeout(LISTEN_TIMEOUT_S)
        try:
            while True:
                msg = json.loads(child.control.recv(MAX_MESSAGE) or b'{"op": "gone"}')
                if msg["op"] == "stats":
                    child.stats = msg.get("listeners", {})
                elif msg["op"] == "gone" or msg.get("key") == key:
                    return
        except (TimeoutError, OSError):
            return  # a stuck worker: its siblings still serve the port
        finally:
            child.control.settimeout(None)

    def _close(self, key: str) -> None:
        for child in self.children:
            self._send(child, {"op": "close", "key": key})

    def sync(self, wanted: dict[str, Binding]) -> dict[str, str]:
        """Serve exactly ``wanted``; returns {key: reason} for ports that could not be bound."""
        conflicts: dict[str, str] = {}
        for key in list(self.served):
            if key not in wanted or wanted[key][1] != self.served[key][1]:
                self._close(key)
                del self.served[key]
        for key, (sp, port) in wanted.items():
            if key not in self.served:
                reason = self._open(sp, port) if sp.protocol == "tcp" else "the userspace proxy serves TCP only"
                if reason:
                    conflicts[key] = reason
                    continue
            elif self.served[key][0] != sp:
                for child in self.children:
                    self._send(child, self._message("configure", sp, port))
            self.served[key] = (sp, port)
        return conflicts

    def collect(self) -> None:
        """Read whatever stats messages the workers sent since last time (non-blocking)."""
        for child in self.children:
            while True:
                try:
                    data = child.control.recv(MAX_MESSAGE, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                if not data:
                    break
                msg = json.loads(data)
                if msg["op"] == "stats":
                    child.stats = msg["listeners"]

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per served key: refused connections and per-backend [connections, active, in, out, errors], summed."""
        self.collect()
        out: dict[str, dict[str, Any]] = {}
        for child in self.children:
            for key, entry in child.stats.items():
                agg = out.setdefault(key, {"refused": 0, "backends": {}})
                agg["refused"] += entry["refused"]
                for backend, values in entry["backends"].items():
                    prev = agg["backends"].get(backend, [0] * len(values))
                    agg["backends"][backend] = [a + b for a, b in zip(prev, values)]
        return out

    def close(self) -> None:
        """Stop every worker (they let open connections finish for a short grace) and wait for them."""
        for child in self.children:
            child.control.close()
        for child in self.children:
            try:
                child.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()
        self.children, self.served = [], {}
