"""A real ``portside up`` whose node agent runs pods on an engine root of the test's own.

Each test gets its own engine root (busybox imported), bridge, subnet and cgroup parent, its own data directory
and port; teardown stops the cluster, removes every container, sandbox, bridge and cgroup the agent made, and
fails the test if anything is left.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from leftovers import remove_cgroup_parent
from support.cluster import NODE_COMPONENTS, Cluster
from support.wait import Watch, eventually

BACKOFF_BASE_S = "1"


class Node:
    """The cluster plus the engine root its agent runs pods on."""

    def __init__(self, cluster: Cluster, root: Path, settings: dict) -> None:
        self.cluster, self.root, self.settings = cluster, root, settings

    def kubectl(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.cluster.kubectl(*args, **kw)

    def apply(self, manifest: dict | str) -> None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        self.kubectl("apply", "-f", "-", input=text)

    def pod(self, name: str, ns: str = "default") -> dict:
        proc = self.kubectl("get", "pod", name, "-n", ns, "-o", "json", check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else {}

    def pods(self, selector: str, ns: str = "default") -> list[dict]:
        return json.loads(self.kubectl("get", "pods", "-n", ns, "-l", selector, "-o", "json").stdout)["items"]

    def wait_pod(self, name: str, check, timeout: float = 15, what: str = "pod state", ns: str = "default") -> dict:
        """The pod once ``check(pod)`` holds, followed on a watch of the namespace's pods."""
        return eventually(lambda pods: (p := pods.get(name)) and check(p) and p, timeout, what=f"{name}: {what}",
                          watch=Watch(self.cluster.kubeconfig, "pods", ns))

    def engine(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "portside", "--root", str(self.root), *args],
                              capture_output=True, text=True, timeout=60)

    def restart(self) -> None:
        self.cluster.stop()
        self.cluster.start()


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def container_status(pod: dict, name: str = "") -> dict:
    """The named (or first) container's status, with empty defaults while the agent has reported none."""
    statuses = pod.get("status", {}).get("containerStatuses") or []
    found = next((s for s in statuses if not name or s.get("name") == name), {})
    return {"restartCount": 0, "state": {}, "lastState": {}, **found}


def engine_root(base: Path, busybox_tar: Path) -> tuple[Path, dict]:
    tag = os.urandom(3).hex()
    root = base / "engine"
    root.mkdir()
    settings = {"bridge": f"pag{tag}", "subnet": f"10.{random.randint(128, 250)}.{random.randint(0, 255)}.0/24",
                "cgroup_parent": f"portside-agent-{tag}"}
    (root / "engine.json").write_text(json.dumps(settings))
    subprocess.run([sys.executable, "-m", "portside", "--root", str(root), "import", str(busybox_tar), "busybox"],
                   check=True, capture_output=True, timeout=60)
    return root, settings


@pytest.fixture
def node(needs_root, tmp_path: Path, busybox_rootfs_tar: Path, monkeypatch) -> Node:
    root, settings = engine_root(tmp_path, busybox_rootfs_tar)
    yield from run_node(tmp_path, root, settings, monkeypatch)


def run_node(tmp_path: Path, root: Path, settings: dict, monkeypatch, extra: tuple[str, ...] = ()):
    """``extra``: more ``portside up`` flags."""
    monkeypatch.setenv("PORTSIDE_ROOT", str(root))
    monkeypatch.setenv("PORTSIDE_BACKOFF_BASE_S", BACKOFF_BASE_S)
    cluster = Cluster(tmp_path / "data", extra=extra, node=NODE_COMPONENTS)
    n = Node(cluster, root, settings)
    try:
        cluster.start()
        yield n
    finally:
        try:
            cluster.stop()
        finally:
            leftovers = cleanup(root, settings)
    assert not leftovers, f"left behind: {leftovers}"


def cleanup(root: Path, settings: dict) -> list[str]:
    """Remove what the agent left running (it leaves containers on stop, by design) and report the rest."""
    from portside.engine import Engine

    engine = Engine(root)
    for info in engine.list(all=True):
        engine.remove(info["Id"], force=True)
    pods = root / "pods"
    for cluster in pods.glob("*"):
        for sandbox in cluster.glob("*"):
            engine.network.detach(sandbox.name)
    engine.network.teardown()
    left = [f"netns {n.name}" for n in (root / "network" / "netns").glob("*")]
    return left + remove_cgroup_parent(settings["cgroup_parent"], kill=True)
