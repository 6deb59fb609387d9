"""``portside down --purge``: after a cluster ran seed-like pods (a Deployment of three replicas with a ConfigMap
and an emptyDir volume, behind a Service), nothing of it is left on the node: no container, runc state, network
namespace, bind mount, veth, address lease, cgroup, process or directory; and a second purge finds nothing.
Also when the control plane was killed outright and its data directory deleted by hand beforehand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.builders import network_policy
from support.cluster import Cluster
from support.wait import eventually

from tests.agent.conftest import cleanup, engine_root, ready

pytestmark = pytest.mark.integration

CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config"}, "data": {"greeting": "hi"}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}


def deployment(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "containers": [{"name": "app", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", "cat /config/greeting > /scratch/seen; exec sleep 3600"],
                            "resources": {"requests": {"cpu": "50m", "memory": "16Mi"},
                                          "limits": {"cpu": "100m", "memory": "64Mi"}},
                            "volumeMounts": [{"name": "config", "mountPath": "/config"},
                                             {"name": "scratch", "mountPath": "/scratch"}]}],
            "volumes": [{"name": "config", "configMap": {"name": "web-config"}},
                        {"name": "scratch", "emptyDir": {}}]}}}}


def down(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portside", "down", *args], capture_output=True, text=True,
                          timeout=120)


def run_pods(cluster: Cluster, replicas: int) -> list[dict]:
    for manifest in (CONFIG, SERVICE, deployment(replicas)):
        cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))

    def all_ready() -> list[dict]:
        pods = json.loads(cluster.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
        return pods if len(pods) == replicas and all(ready(p) for p in pods) else []
    return eventually(all_ready, 60, 0.2, f"{replicas} web pods Ready")


def on_the_node(root: Path, settings: dict) -> list[str]:
    """What an engine root's containers and sandboxes hold on this machine, named; empty when nothing is."""
    found = [f"container {c.name}" for c in (root / "containers").glob("*")]
    runc = subprocess.run(["runc", "--root", str(root / "runc"), "list", "-q"], capture_output=True, text=True)
    found += [f"runc {c}" for c in runc.stdout.split()]
    found += [f"netns {n.name}" for n in (root / "network" / "netns").glob("*")]
    found += [f"lease table {p.name}" for p in (root / "network").glob("*.leases.json")]
    with open("/proc/self/mounts") as f:
        found += [f"mount {line.split()[1]}" for line in f if str(root) in line.split()[1]]
    links = subprocess.run(["ip", "-o", "link", "show", "master", settings["bridge"]], capture_output=True,
                           text=True).stdout
    found += [f"veth {line.split(':')[1].strip().split('@')[0]}" for line in links.splitlines()]
    found += [f"bridge {settings['bridge']}"] if Path("/sys/class/net", settings["bridge"]).exists() else []
    for base in (Path("/sys/fs/cgroup"), *Path("/sys/fs/cgroup").glob("*")):
        parent = base / settings["cgroup_parent"]
        found += [f"cgroup {d}" for d in parent.iterdir() if d.is_dir()] if parent.is_dir() else []
    found += [f"pods dir {d.name}" for d in (root / "pods").glob("*")]
    found += [f"process {pid}" for pid in _processes(root)]
    return found


def _processes(root: Path) -> list[int]:
    """Processes whose command line names the root (the engine daemon, container monitors)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(root).encode() in argv and state != "Z" and int(entry.name) != os.getpid():
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def node(needs_root, tmp_path: Path, busybox_rootfs_tar: Path, monkeypatch):
    root, settings = engine_root(tmp_path, busybox_rootfs_tar)
    monkeypatch.setenv("PORTSIDE_ROOT", str(root))
    clusters: list[Cluster] = []
    try:
        yield root, settings, clusters
    finally:
        for c in clusters:
            c.kill()
        left = cleanup(root, settings)
    assert not left, f"left behind: {left}"


def test_down_purge_removes_the_clusters_pods_sandboxes_and_state(node, tmp_path) -> None:
    root, settings, clusters = node
    cluster = Cluster(tmp_path / "data", node=("agent", "proxy", "engine")).start()
    clusters.append(cluster)
    pods = run_pods(cluster, 3)
    held = on_the_node(root, settings)
    assert [sum(x.startswith(kind) for x in held) for kind in ("container ", "runc ", "netns ", "veth ")] == \
        [3, 3, 3, 3], held
    purged = down("--purge", "--data-dir", str(cluster.data_dir))
    assert purged.returncode == 0, purged.stderr
    out = purged.stdout
    assert out.startswith("portside: stopped (pid ") and f"removed data directory {cluster.data_dir}\n" in out
    assert out.count("removed container ") == 3 and out.count("removed pod sandbox ") == 3
    for pod in pods:
        assert f"removed pod sandbox {pod['metadata']['uid']} ({pod['status']['podIP']})" in out
    eventually(lambda: not _processes(root), 10, what="the engine daemon and the monitors to end")
    assert on_the_node(root, settings) == []
    assert f"removed the empty cgroup parent {settings['cgroup_parent']}\n" in out
    assert not [d for d in Path("/sys/fs/cgroup").glob(f"*/{settings['cgroup_parent']}")]
    assert not cluster.data_dir.exists()
    again = down("--purge", "--data-dir", str(cluster.data_dir))
    assert again.returncode == 0 and again.stdout == \
        f"portside: nothing of {cluster.data_dir} left on this node (engine root {root})\n", again.stderr


def test_down_purge_after_the_control_plane_was_killed_and_its_data_dir_deleted(node, tmp_path) -> None:
    root, settings, clusters = node
    cluster = Cluster(tmp_path / "data", node=("agent", "proxy", "engine", "netpol")).start()
    clusters.append(cluster)
    pods = run_pods(cluster, 2)
    table = f"portside_svc_{cluster.proc.pid}"  # the proxy runs in up's process, and its table names that pid
    assert table in _nft_tables()
    cluster.kubectl("apply", "-f", "-", input=json.dumps(network_policy("deny-all")))
    policies = f"portside_np_{settings['bridge']}"  # a killed enforcer's rules go on enforcing until purged
    eventually(lambda: policies in _nft_tables(), 10, what="the node's policy table")
    cluster.kill()
    subprocess.run(["rm", "-rf", str(cluster.data_dir)], check=True)
    assert sum(x.startswith("runc ") for x in on_the_node(root, settings)) == 2  # pods outlive their cluster
    purged = down("--purge", "--data-dir", str(cluster.data_dir))
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.count("removed container ") == 2, purged.stdout
    assert {line.split()[4] for line in purged.stdout.splitlines() if "removed pod sandbox" in line} == \
        {p["metadata"]["uid"] for p in pods}
    # gone, by this purge (which names it) or by a proxy of a test running beside it, which removes orphans first
    assert table not in _nft_tables()
    assert f"removed the network policy rules of the node (nftables table {policies})\n" in purged.stdout
    assert policies not in _nft_tables()
    eventually(lambda: not _processes(root), 10, what="the engine daemon and the monitors to end")
    assert on_the_node(root, settings) == []


def _nft_tables() -> list[str]:
    listed = subprocess.run(["nft", "-j", "list", "tables", "ip"], capture_output=True, text=True, check=True)
    return [t["table"]["name"] for t in json.loads(listed.stdout)["nftables"] if "table" in t]
