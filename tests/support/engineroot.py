"""An engine root of its own, driven through the real ``portside`` command, and a check that nothing is left.

Each root has its own bridge, subnet and cgroup parent (``engine.json``), so tests running in parallel (and other
suites on the same machine) never see each other's containers, and "no cgroup left" means this root's parent is
empty. The CLI's tests and the Docker API's tests both stand on it.
"""

from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from leftovers import remove_cgroup_parent

from support.net import free_port


@dataclass
class Portside:
    root: Path
    bridge: str
    cgroup_parent: str

    def __call__(self, *args: str, check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "portside", "--root", str(self.root), *args],
                              capture_output=True, text=True, timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"portside {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def popen(self, *args: str, **kw) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "portside", "--root", str(self.root), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)

    free_port = staticmethod(free_port)

    def inspect(self, ref: str) -> dict:
        return json.loads(self("inspect", ref).stdout)[0]

    def leftovers(self) -> list[str]:
        """Everything a removed container could leave behind, named; empty when clean. A ``run --rm`` returns
        once its container is gone from view; its monitor finishes the teardown just after, so wait for that
        (boundedly: a monitor that never ends is itself reported)."""
        wait_for_monitors(self.root, 10)
        found = [f"container dir {p.name}" for p in (self.root / "containers").glob("*")]
        runc = subprocess.run(["runc", "--root", str(self.root / "runc"), "list", "-q"], capture_output=True,
                              text=True).stdout.split()
        found += [f"runc container {c}" for c in runc]
        with open("/proc/self/mountinfo") as f:
            found += [f"mount {line.split()[4]}" for line in f if str(self.root) in line.split()[4]]
        for base in (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
            parent = base / self.cgroup_parent
            if parent.is_dir():
                found += [f"cgroup {d}" for d in parent.iterdir() if d.is_dir()]
        brif = Path("/sys/class/net") / self.bridge / "brif"
        found += [f"veth {v.name}" for v in brif.glob("*")] if brif.is_dir() else []
        found += [f"netns {n.name}" for n in (self.root / "network" / "netns").glob("*")]
        found += [f"netns {n.name}" for n in (self.root / "networks" / "netns").glob("*")]
        found += [f"process {pid}" for pid in monitor_pids(self.root)]
        return found

    def processes(self) -> list[int]:
        """The processes of this root: monitors, and the DNS responder of its user networks."""
        return monitor_pids(self.root)

    def network_leftovers(self, bridges: list[str]) -> list[str]:
        """What removed user networks (with these bridges) could leave: bridges, nftables tables, processes
        (the DNS responder)."""
        wait_for_monitors(self.root, 10)
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
        tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout.split()
        found = [f"bridge {b}" for b in bridges if f": {b}:" in links]
        found += [f"nft table {b}" for b in bridges if f"portside_{b}" in tables]
        return found + [f"process {pid}" for pid in monitor_pids(self.root)]


def wait_for_monitors(root: Path, timeout: float) -> None:
    """Until this root's monitors have exited or ``timeout`` seconds have passed (pidfds: no polling)."""
    deadline = time.monotonic() + timeout
    for pid in monitor_pids(root):
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        finally:
            os.close(fd)


def monitor_pids(root: Path) -> list[int]:
    """Processes started by a ``portside --root ROOT`` command line (monitors keep their parent's argv)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"portside" in b" ".join(argv) and str(root).encode() in argv:
            pids.append(int(entry.name))
    return pids


def make_root(tmp_path: Path, busybox_rootfs_tar: Path) -> Portside:
    """A fresh root under ``tmp_path`` with its own bridge, subnet and cgroup parent, and busybox imported."""
    tag = os.urandom(3).hex()
    root = tmp_path / "root"
    root.mkdir()
    subnet = f"10.{random.randint(128, 250)}.{random.randint(0, 255)}.0/24"
    settings = {"bridge": f"pst{tag}", "subnet": subnet, "cgroup_parent": f"portside-test-{tag}"}
    (root / "engine.json").write_text(json.dumps(settings))
    ps = Portside(root, settings["bridge"], settings["cgroup_parent"])
    ps("import", str(busybox_rootfs_tar), "busybox")
    return ps


def cleanup(ps: Portside) -> None:
    """Every step runs even when one before it failed (a hung ``rm`` must not leave the bridge and the
    processes behind); the first failure is raised at the end."""
    from portside.engine import Engine

    engine = Engine(ps.root)
    failures: list[BaseException] = []

    def step(action) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - reported below, after the other steps
            failures.append(exc)

    def remove_containers() -> None:
        ids = ps("ps", "-aq", "--no-trunc", check=False).stdout.split()
        if ids:
            ps("rm", "-f", *ids, check=False)

    def remove_networks() -> None:
        for network in engine.networks.user_networks():
            engine.networks.remove(network.id)

    step(remove_containers)
    step(remove_networks)
    step(engine.networks.teardown)  # and the DNS responder
    wait_for_monitors(ps.root, 10)  # a --rm container's monitor may still be tearing it down
    for pid in monitor_pids(ps.root):
        os.kill(pid, 9)
    step(engine.network.teardown)
    step(lambda: remove_cgroup_parent(ps.cgroup_parent))
    if failures:
        raise failures[0]
