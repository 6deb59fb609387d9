"""Nodes that join a real ``portside up`` with ``portside agent``, each on an engine root of its own; hosts are
network namespaces on a test bridge.

Everything a test makes is removed even when it fails: the agents (stopped), their pods' containers, sandboxes,
bridges and cgroup parents, and the namespaces, veths and bridge of the hosts. An agent leaves its containers
running when it stops (the next agent adopts them), so the cleanup removes them through the engine, run in the
agent's namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from leftovers import remove_cgroup_parent
from support.cluster import Cluster
from support.wait import eventually

from portside.runtime.monitor import MONITOR_NAME

AGENT_READY_S = 60
# Enter a host: its network namespace and a mount namespace of its own in which /sys is mounted again, so that it
# shows the host's interfaces, with the machine's cgroup hierarchies bound back under it. (``ip netns exec``
# remounts /sys too, but leaves /sys/fs/cgroup empty, and a host without cgroups cannot run containers.)
ENTER_HOST = ('d=$(mktemp -d) && mount --rbind /sys/fs/cgroup "$d" && mount -t sysfs sysfs /sys && '
              'mount --rbind "$d" /sys/fs/cgroup && umount -l "$d" && rmdir "$d" && exec "$@"')


def in_host(netns: str) -> list[str]:
    """The argv prefix that runs a command on the host ``netns`` ("" for this machine)."""
    if not netns:
        return []
    return ["nsenter", f"--net=/run/netns/{netns}", "unshare", "--mount", "--propagation", "private",
            "sh", "-c", ENTER_HOST, "sh"]


def ip(*args: str, netns: str = "") -> str:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {proc.stderr.strip()}")
    return proc.stdout


@dataclass
class Hosts:
    """A bridge on the machine with an address (where the server listens) and hosts as namespaces on it."""

    bridge: str
    prefix: str  # "10.213.7"
    namespaces: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"{self.prefix}.1"

    def host(self) -> tuple[str, str]:
        """A new host: a namespace with loopback up and an address on the bridge through a veth pair."""
        n = len(self.namespaces) + 2
        name, veth = f"{self.bridge}h{n}", f"{self.bridge}v{n}"
        address = f"{self.prefix}.{n}"
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
        ip("link", "set", veth, "master", self.bridge, "up")
        ip("addr", "add", f"{address}/24", "dev", "eth0", netns=name)
        ip("link", "set", "eth0", "up", netns=name)
        ip("link", "set", "lo", "up", netns=name)
        return name, address

    def remove(self) -> None:
        for name in self.namespaces:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


@pytest.fixture
def hosts(needs_root: None) -> Iterator[Hosts]:
    from support.chaos import bridge_hosts

    with bridge_hosts() as lab:
        yield lab


class Agent:
    """``portside agent`` on its own engine root (busybox imported, or a hard-linked copy of the image store
    ``images``), maybe inside a host's namespace."""

    def __init__(self, base: Path, busybox_tar: Path, name: str, netns: str = "", images: Path | None = None) -> None:
        self.root, self.name, self.netns = base / f"root-{name}", name, netns
        self.proc: subprocess.Popen | None = None
        self.ready_line = ""
        self.root.mkdir(parents=True)
        if images is not None:  # the store only renames files into place, so the copies cannot disturb each other
            subprocess.run(["cp", "-al", str(images), str(self.root / "image")], check=True)
        else:
            self.portside("import", str(busybox_tar), "busybox", check=True)

    @property
    def log_path(self) -> Path:
        return self.root.parent / f"agent-{self.name}.log"

    @property
    def kubeconfig(self) -> str:
        return str(self.root / "agent" / "kubeconfig.yaml")

    def argv(self, *args: str) -> list[str]:
        return [*in_host(self.netns), sys.executable, "-m", "portside", "--root", str(self.root), *args]

    def portside(self, *args: str, check: bool = False, timeout: float = 90) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"portside {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def start(self, server: str, token: str, *flags: str) -> Agent:
        """In the foreground (a child of the test), returning once it printed that it joined."""
        argv = self.argv("agent", "--server", server, "--token", token, "--node-name", self.name, *flags)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=open(self.log_path, "ab"), text=True)
        self.ready_line = self.proc.stdout.readline()
        if "joined" not in self.ready_line:
            self.stop()
            raise AssertionError(f"agent {self.name} did not join: {self.log()[-3000:]}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def settings(self) -> dict:
        try:
            return json.loads((self.root / "engine.json").read_text())
        except FileNotFoundError:
            return {}

    def cleanup(self) -> list[str]:
        """Stop a detached agent too, remove its pods' containers, sandboxes and bridge; report what is left."""
        self.stop()
        if (self.root / "agent" / "portside.pid").exists():
            self.portside("agent", "stop", "--root", str(self.root))
        # An agent or engine daemon of this root that outlived its stop would start containers again behind the
        # clean-up: ended here, and named in the output (a leak).
        strays = _processes_of(self.root)
        named = [f"{pid}: {_cmdline(pid)}" for pid in strays]
        for pid in strays:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if strays:
            print(f"killed processes of {self.root} that outlived the agent's stop: {named}")
        script = ("import sys\nfrom pathlib import Path\nfrom portside.engine import Engine\n"
                  "e = Engine(Path(sys.argv[1]))\n"
                  "for info in e.list(all=True):\n    e.remove(info['Id'], force=True)\n"
                  "for c in (e.root / 'pods').glob('*'):\n    [e.network.detach(s.name) for s in c.glob('*')]\n"
                  "e.network.teardown()\n")
        done = subprocess.run([*in_host(self.netns), sys.executable, "-c", script, str(self.root)],
                              capture_output=True, text=True, timeout=60)
        left = [f"the engine's clean-up failed: {done.stderr[-1500:]}"] if done.returncode else []
        left += [f"netns {n.name}" for n in (self.root / "network" / "netns").glob("*")]
        parent = self.settings().get("cgroup_parent")
        return left + (remove_cgroup_parent(parent, kill=True) if parent else [])


@pytest.fixture
def agents(tmp_path: Path, busybox_rootfs_tar: Path):
    """Make agents with ``agents(name, netns="", images=None)``; all are stopped and cleaned up after the test."""
    made: list[Agent] = []

    def make(name: str, netns: str = "", images: Path | None = None) -> Agent:
        made.append(Agent(tmp_path, busybox_rootfs_tar, name, netns, images))
        return made[-1]

    yield make
    leftovers = cleanup_all(made)
    assert not leftovers, f"left behind: {leftovers}"


def cleanup_all(agents: list[Agent]) -> list[str]:
    """Clean up each agent, even when an earlier one's clean-up failed (an agent skipped here keeps restarting its
    pods after the test); what is left and what failed, as one list."""
    leftovers: list[str] = []
    for agent in agents:
        try:
            leftovers += agent.cleanup()
        except Exception as exc:  # noqa: BLE001 - reported with the rest
            leftovers.append(f"the clean-up of agent {agent.name} failed: {exc}")
    return leftovers


def server(base: Path, *flags: str) -> Cluster:
    """A server with the scheduler and node-ipam but no node of its own: its nodes are the agents."""
    return Cluster(base / "data", extra=flags)


def node(cluster: Cluster, name: str) -> dict:
    return json.loads(cluster.kubectl("get", "node", name, "-o", "json").stdout)


def wait_ready(cluster: Cluster, name: str, timeout: float = AGENT_READY_S) -> dict:
    from support.wait import Watch

    def ready(nodes: dict) -> dict | None:
        n = nodes.get(name)
        conditions = ((n or {}).get("status") or {}).get("conditions") or []
        return n if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) else None
    return eventually(ready, timeout, what=f"node {name} Ready", watch=Watch(cluster.kubeconfig, "nodes"))


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:300]
    return "(gone)"


def _processes_of(root: Path) -> list[int]:
    """Pids of portside processes started for ``root``: agents and their engine daemons, not the containers'
    monitors (forks of the agent that keep its command line, named apart; the engine's clean-up ends them)."""
    marker = f"--root\0{root}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if marker in (entry / "cmdline").read_bytes() and \
                        (entry / "comm").read_text().strip() != MONITOR_NAME:
                    found.append(int(entry.name))
    return found
