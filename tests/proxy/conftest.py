"""Fixtures for the proxy tests: HTTP backends as processes, a lab of network namespaces on a test bridge.

Every backend process, namespace, veth and bridge a test creates is removed when it ends, pass or fail. Names
and subnets are random per test so that tests run in parallel (pytest-xdist) without meeting.
"""

from __future__ import annotations

import json
import random
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portside.proxy.balance import Backend

HERE = Path(__file__).parent


def _spawn_backend(argv: list[str]) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        proc.kill()
        raise AssertionError(f"backend did not start: {line!r} {proc.stderr.read()}")
    return proc, int(line.split()[1])


@pytest.fixture
def backends() -> Iterator:
    """``start(name, slow=0.0, host="127.0.0.1", netns="")`` -> Backend; processes killed at the end."""
    procs: list[subprocess.Popen] = []

    def start(name: str, slow: float = 0.0, host: str = "127.0.0.1", netns: str = "", port: int = 0) -> Backend:
        argv = [sys.executable, str(HERE / "backend.py"), host, str(port), name, str(slow)]
        proc, bound = _spawn_backend(["ip", "netns", "exec", netns, *argv] if netns else argv)
        procs.append(proc)
        return Backend(host, bound)

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def unique_vip() -> str:
    """A ClusterIP-like address no other test is using (10.96.0.0/12 is 1M addresses)."""
    return f"10.{random.randrange(96, 112)}.{random.randrange(256)}.{random.randrange(2, 255)}"


@dataclass
class Lab:
    """A bridge with a gateway address on the host and namespaces attached by veth pairs, like pods."""

    bridge: str
    prefix: str  # "10.250.17"
    namespaces: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"{self.prefix}.1"

    def namespace(self) -> tuple[str, str]:
        """A new namespace with an address on the bridge and a default route through the host."""
        n = len(self.namespaces) + 2
        name, host_if = f"{self.bridge}n{n}", f"{self.bridge}v{n}"
        ip = f"{self.prefix}.{n}"
        self.namespaces.append(name)
        for cmd in (f"netns add {name}", f"link add {host_if} type veth peer name eth0 netns {name}",
                    f"link set {host_if} master {self.bridge} up", f"-n {name} addr add {ip}/24 dev eth0",
                    f"-n {name} link set eth0 up", f"-n {name} link set lo up",
                    f"-n {name} route add default via {self.gateway}"):
            _ip(cmd)
        return name, ip

    def run(self, netns: str, *argv: str) -> str:
        proc = subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def requests(self, netns: str, host: str, port: int, n: int) -> list[str]:
        return json.loads(self.run(netns, sys.executable, str(HERE / "client.py"), host, str(port), str(n)))

    def remove(self) -> None:
        for name in self.namespaces:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


def _ip(cmd: str) -> None:
    proc = subprocess.run(["ip", *cmd.split()], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"ip {cmd}: {proc.stderr.strip()}")


@pytest.fixture
def lab(needs_root: None) -> Iterator[Lab]:
    used = subprocess.run(["ip", "-4", "-br", "addr"], capture_output=True, text=True).stdout
    prefix = random.choice([p for p in (f"10.250.{i}" for i in range(256)) if f"{p}." not in used])
    lab = Lab(f"pxb{secrets.token_hex(3)}", prefix)
    try:
        _ip(f"link add {lab.bridge} type bridge")
        _ip(f"addr add {lab.gateway}/24 dev {lab.bridge}")
        _ip(f"link set {lab.bridge} up")
        if Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() != "1":
            Path("/proc/sys/net/ipv4/ip_forward").write_text("1")  # as the container bridge does
        yield lab
    finally:
        lab.remove()
