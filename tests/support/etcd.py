"""A real three-member etcd cluster (Debian's etcd-server) on loopback ports, for the etcd store's tests.

Each member has its own data directory and log file; ``kill`` and ``start`` let a test take one member down and
bring it back with its data. ``stop`` ends every member and is safe to call more than once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

READY_TIMEOUT_S = 30


def require_etcd() -> str:
    """The etcd binary; under CI a missing one fails the test (CI installs etcd-server), elsewhere it skips."""
    path = shutil.which("etcd")
    if path is None:
        reason = "needs etcd (apt-get install etcd-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must provide this: {reason}")
        pytest.skip(reason)
    return path


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def post(client_url: str, path: str, body: dict, timeout: float = 2) -> dict:
    req = urllib.request.Request(client_url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


class EtcdCluster:
    def __init__(self, base: Path, members: int = 3) -> None:
        self.binary = require_etcd()
        self.base = base
        ports = _free_ports(2 * members)
        self.names = [f"m{i}" for i in range(members)]
        self.client_ports, self.peer_ports = ports[:members], ports[members:]
        self.procs: list[subprocess.Popen | None] = [None] * members
        self.initial = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(self.names, self.peer_ports, strict=True))

    @property
    def client_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.client_ports]

    @property
    def store_url(self) -> str:
        return self.store_url_from(0)

    def store_url_from(self, first: int) -> str:
        """The store URL with member ``first`` listed first: the member the store talks to until it fails."""
        ports = self.client_ports[first:] + self.client_ports[:first]
        return "etcd://" + ",".join(f"127.0.0.1:{p}" for p in ports)

    def _argv(self, i: int, state: str) -> list[str]:
        peer, client = f"http://127.0.0.1:{self.peer_ports[i]}", self.client_urls[i]
        return [self.binary, "--name", self.names[i], "--data-dir", str(self.base / self.names[i]),
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--initial-cluster", self.initial, "--initial-cluster-state", state,
                "--initial-cluster-token", f"portside-test-{self.peer_ports[0]}"]

    def start(self, i: int | None = None, state: str = "new") -> EtcdCluster:
        """Start every member (a new cluster), or member ``i`` again on its existing data."""
        for j in range(len(self.names)) if i is None else [i]:
            log = open(self.base / f"{self.names[j]}.log", "ab")
            self.procs[j] = subprocess.Popen(self._argv(j, state if i is None else "existing"), stdout=log,
                                             stderr=subprocess.STDOUT)
            log.close()
        self.wait_ready([j for j, p in enumerate(self.procs) if p is not None])
        return self

    def wait_ready(self, members: list[int]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not all(self._healthy(i) for i in members):
            for i in members:
                if self.procs[i].poll() is not None:
                    raise AssertionError(f"etcd {self.names[i]} exited {self.procs[i].returncode}: {self.log(i)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"etcd members {members} not ready in {READY_TIMEOUT_S} s: {self.log(0)}")
            time.sleep(0.05)

    def _healthy(self, i: int) -> bool:
        """Answers a linearizable read (so it has a leader)."""
        try:
            post(self.client_urls[i], "/v3/kv/range", {"key": "AA=="})
            return True
        except (OSError, urllib.error.URLError):
            return False

    def leader(self) -> int:
        """The index of the member that is leader now (asked of any member that answers)."""
        for i, url in enumerate(self.client_urls):
            if self.procs[i] is None:
                continue
            try:
                status = post(url, "/v3/maintenance/status", {})
            except (OSError, urllib.error.URLError):
                continue
            ids = {int(post(u, "/v3/maintenance/status", {})["header"]["member_id"]): j
                   for j, u in enumerate(self.client_urls) if self.procs[j] is not None}
            return ids[int(status["leader"])]
        raise AssertionError("no etcd member answered a status request")

    def kill(self, i: int) -> None:
        proc, self.procs[i] = self.procs[i], None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def wipe(self) -> None:
        """Delete every key (revisions keep counting), so each test starts from an empty key space."""
        live = next(u for i, u in enumerate(self.client_urls) if self.procs[i] is not None)
        post(live, "/v3/kv/deleterange", {"key": "AA==", "range_end": "AA=="}, timeout=10)

    def log(self, i: int) -> str:
        path = self.base / f"{self.names[i]}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        for i in range(len(self.names)):
            self.kill(i)
