"""Hosts for multi-node tests, built from network namespaces on this one kernel.

A ``Lab`` makes named network namespaces (``ip netns``): "segments" (an L2 switch: a namespace holding a bridge),
"hosts" (an ``eth0`` whose other end is a port of a segment's bridge) and routers (hosts with a leg on several
segments). Every name carries a per-lab prefix, so parallel tests never meet, and nothing is created in the
test's own namespace. ``close`` kills the processes the lab started, unpins the namespaces the hosts' code
pinned under the lab's directory and deletes the lab's namespaces, which takes every interface in them along;
it runs even when the test failed.

Code runs inside a host through ``nsenter --net`` (not ``ip netns exec``, which gives the command a mount
namespace of its own: a namespace pinned from there would vanish with the command).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


def _prefix() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or "0"
    return f"psl{worker}{random.randrange(16 ** 4):04x}"


@dataclass
class Host:
    name: str  # the ip netns name
    dir: Path  # its own directory (engine roots, pinned namespaces)
    ips: list[str] = field(default_factory=list)  # with prefix length
    lab: Lab | None = None

    @property
    def netns(self) -> str:
        return f"/run/netns/{self.name}"

    @property
    def ip(self) -> str:
        return self.ips[0].split("/")[0]

    def argv(self, *argv: str) -> list[str]:
        return ["nsenter", f"--net={self.netns}", *argv]

    def run(self, *argv: str, check: bool = True, input: str | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.argv(*argv), capture_output=True, text=True, input=input, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} in {self.name} exited {proc.returncode}: {proc.stderr}")
        return proc

    def python(self, code: str, *args: str, check: bool = True, timeout: float = 30) -> str:
        """Run Python ``code`` in this host's namespace (with portside importable); its standard output."""
        return self.run(sys.executable, "-c", code, *args, check=check, timeout=timeout).stdout

    def popen(self, *argv: str, **kw) -> subprocess.Popen:
        """A process in this host that the lab kills on close."""
        proc = subprocess.Popen(self.argv(*argv), **kw)
        self.lab.procs.append(proc)
        return proc


class Lab:
    def __init__(self, base: Path) -> None:
        self.base = Path(base)
        self.prefix = _prefix()
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self._ports = 0

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _netns(self, suffix: str) -> str:
        name = f"{self.prefix}-{suffix}"
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        self.namespaces.append(name)
        return name

    def segment(self, name: str) -> Host:
        """An L2 segment: a namespace with bridge ``br0`` (the host ends of each attached eth0 are its ports)."""
        seg = Host(self._netns(name), self.base / name, lab=self)
        seg.run("ip", "-batch", "-", input="link set lo up\nlink add br0 type bridge\nlink set br0 up\n")
        return seg

    def host(self, name: str, legs: list[tuple[Host, str]], gateway: str = "") -> Host:
        """A host with one ``ethN`` per (segment, address/prefix), and a default route via ``gateway``."""
        host = Host(self._netns(name), self.base / name, [ip for _, ip in legs], lab=self)
        host.dir.mkdir(parents=True, exist_ok=True)
        host.run("ip", "link", "set", "lo", "up")
        for i, (seg, ip) in enumerate(legs):
            self._ports += 1
            port = f"p{self._ports}"
            seg.run("ip", "-batch", "-", input=f"link add {port} type veth peer name eth{i} netns {host.netns}\n"
                                               f"link set {port} master br0\nlink set {port} up\n")
            host.run("ip", "-batch", "-", input=f"addr add {ip} dev eth{i}\nlink set eth{i} up\n")
        if gateway:
            host.run("ip", "route", "add", "default", "via", gateway)
        return host

    def router(self, name: str, legs: list[tuple[Host, str]]) -> Host:
        router = self.host(name, legs)
        router.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        return router

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
        base = str(self.base)
        for line in mounts:
            point = line.split()[4]
            if point.startswith(base + "/"):
                subprocess.run(["umount", "-l", point], capture_output=True)
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.namespaces.clear()
