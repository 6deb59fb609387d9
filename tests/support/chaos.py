"""Faults for multi-node tests and benchmarks: a server and agent hosts (network namespaces on a bridge, as
tests/join runs them), a host's agent and containers killed, a host's link cut, and a client that hits a Service
in a loop and records every failure with its time.

``three_hosts`` is a context manager (usable outside pytest: bench/recovery.py uses it) that removes everything it
made even when the body fails: the agents and their containers, sandboxes, bridges and cgroup parents, the hosts'
namespaces, veths and bridge, and the server.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from support.net import free_port

CGROUP_ROOT = Path("/sys/fs/cgroup")
KILL_TIMEOUT_S = 10
ENGINE_CONTAINERS = ("import json, sys\nfrom pathlib import Path\nfrom portside.engine import Engine\n"
                     "print(json.dumps([[i['Config']['Labels'].get('io.portside.pod.uid'), i['State']['Running']]\n"
                     "                  for i in Engine(Path(sys.argv[1])).list(all=True)]))\n")


@contextmanager
def bridge_hosts() -> Iterator:
    """A ``tests.join.conftest.Hosts``: a bridge on this machine on a free 10.213.x/24, removed afterwards."""
    from tests.join.conftest import Hosts, ip

    used = subprocess.run(["ip", "-4", "-br", "addr"], capture_output=True, text=True).stdout
    prefix = random.choice([p for p in (f"10.213.{i}" for i in range(256)) if f"{p}." not in used])
    lab = Hosts(f"pjb{secrets.token_hex(3)}", prefix)
    try:
        ip("link", "add", lab.bridge, "type", "bridge")
        ip("addr", "add", f"{lab.gateway}/24", "dev", lab.bridge)
        ip("link", "set", lab.bridge, "up")
        yield lab
    finally:
        lab.remove()


@dataclass
class Nodes:
    """A server and its agent hosts (``agents[i].netns`` is host i's namespace)."""

    cluster: object  # support.cluster.Cluster
    url: str
    token: str
    hosts: object  # tests.join.conftest.Hosts
    agents: list = field(default_factory=list)

    def veth(self, agent) -> str:
        """The machine's end of the host's link (down: the host is cut off)."""
        return agent.netns.replace(f"{self.hosts.bridge}h", f"{self.hosts.bridge}v")


@contextmanager
def three_hosts(base: Path, busybox_tar: Path, images: tuple[Path, ...] = (), count: int = 3,
                prefix: str = "chaos") -> Iterator[Nodes]:
    """A server (scheduler, controllers, no node of its own) and ``count`` joined agents, each on a host of its own
    with busybox and the image archives ``images`` loaded (in parallel: a Python image takes seconds each).

    Node names carry a random part: a node's name makes its cgroup parent and devices, which parallel tests (or a
    kill of everything in a cgroup parent) must never share."""
    from tests.join.conftest import Agent, cleanup_all, ip, server, wait_ready
    from tests.join.test_join import join_command

    with ExitStack() as stack:
        hosts = stack.enter_context(bridge_hosts())
        made: list = []

        def cleanup() -> None:
            left = cleanup_all(made)
            if left and sys.exc_info()[0] is None:
                raise AssertionError(f"left behind: {left}")
        stack.callback(cleanup)
        cluster = stack.enter_context(server(base, "--address", hosts.gateway, "--port", str(free_port())))
        url, token = join_command(cluster)
        tag = secrets.token_hex(2)
        for i in range(count):
            netns, _ = hosts.host()
            ip("route", "add", "default", "via", hosts.gateway, netns=netns)  # ClusterIPs route somewhere
            made.append(Agent(base, busybox_tar, f"{prefix}-{tag}-{'abcdefgh'[i]}", netns))
        loads = [subprocess.Popen(a.argv("load", "-q", "-i", str(tar)), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for a in made for tar in images]
        for proc in loads:
            assert proc.wait(timeout=300) == 0, proc.stderr.read()
        for a in made:
            a.start(url, token)
        for a in made:
            wait_ready(cluster, a.name)
        yield Nodes(cluster, url, token, hosts, made)


def netns_pids(netns: str) -> list[int]:
    """The processes whose network namespace is the host's (its agent, the agent's monitors and helpers)."""
    want = os.stat(f"/run/netns/{netns}")
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                st = os.stat(d / "ns" / "net")
            except OSError:
                continue
            if (st.st_ino, st.st_dev) == (want.st_ino, want.st_dev):
                pids.append(int(d.name))
    return pids


def cgroup_pids(parent: str) -> list[int]:
    """The processes in the cgroups under ``parent`` (the host's containers), in any hierarchy."""
    pids: set[int] = set()
    for hierarchy in (CGROUP_ROOT, *CGROUP_ROOT.glob("*")):
        top = hierarchy / parent
        if top.is_dir():
            for procs in top.rglob("cgroup.procs"):
                try:
                    pids.update(int(p) for p in procs.read_text().split())
                except OSError:
                    pass
    return sorted(pids)


def kill_host(agent) -> int:
    """SIGKILL a host's agent, every process in its namespace (monitors) and in its cgroup parent (containers),
    as a machine that lost power; returns how many processes died. The pods' network namespaces stay pinned."""
    parent = agent.settings()["cgroup_parent"]
    killed: set[int] = set()
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while pids := [p for p in netns_pids(agent.netns) + cgroup_pids(parent) if p != os.getpid()]:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        if agent.proc is not None:
            agent.proc.poll()  # reap it: a zombie stays in /proc
        if time.monotonic() > deadline:
            raise AssertionError(f"processes of host {agent.netns} survived SIGKILL: {pids}")
        time.sleep(0.02)
    if agent.proc is not None:
        agent.proc.wait()
    return len(killed)


def engine_containers(agent) -> list[tuple[str, bool]]:
    """(pod uid, running) for every container in the host's engine root."""
    from tests.join.conftest import in_host

    out = subprocess.run([*in_host(agent.netns), sys.executable, "-c", ENGINE_CONTAINERS, str(agent.root)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [tuple(x) for x in json.loads(out.stdout)]


CLIENT_LOOP = """
import json, socket, sys, time
ip, port, timeout, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
while True:
    start = time.monotonic()
    try:
        with socket.create_connection((ip, port), timeout=timeout) as c:
            c.sendall(b"GET / HTTP/1.0\\r\\nHost: chaos\\r\\n\\r\\n")
            data = b""
            while chunk := c.recv(4096):
                data += chunk
        body = data.split(b"\\r\\n\\r\\n", 1)[-1].decode(errors="replace").strip()
        ok, what = data.startswith(b"HTTP/1.") and b" 200 " in data[:16], body[:80]
    except OSError as err:
        ok, what = False, f"{type(err).__name__}: {err}"
    print(json.dumps([start, time.monotonic() - start, ok, what]), flush=True)
    time.sleep(pause)
"""


@dataclass
class Request:
    start: float  # time.monotonic() (one clock for every process on this machine)
    took: float
    ok: bool
    what: str  # the answer's body, or the error


class ClientLoop:
    """A client in host ``netns`` that asks http://ip:port/ again and again (a new connection each time, with a
    short timeout) and records every answer; ``stop`` ends it. Use as a context manager."""

    def __init__(self, netns: str, ip: str, port: int, timeout: float = 0.5, pause: float = 0.05) -> None:
        self.requests: list[Request] = []
        self.proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{netns}", sys.executable, "-c", CLIENT_LOOP, ip,
                                      str(port), str(timeout), str(pause)], stdout=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.requests.append(Request(*json.loads(line)))

    def __enter__(self) -> ClientLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=5)

    def failures(self, since: float = 0.0) -> list[Request]:
        return [r for r in list(self.requests) if not r.ok and r.start >= since]

    def successes(self, since: float = 0.0) -> list[Request]:
        return [r for r in list(self.requests) if r.ok and r.start >= since]
