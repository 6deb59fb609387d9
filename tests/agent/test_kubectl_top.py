"""``kubectl top`` against a real cluster: the agent samples real containers (one burning CPU under a 200m
limit, one idle), the API server serves ``metrics.k8s.io`` from the agents' summaries, and stock kubectl prints
the same columns as against metrics-server. The agent's time series land in the data directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.wait import eventually

from portside.metrics import TSDB, Series
from tests.agent.conftest import engine_root, ready, run_node

pytestmark = pytest.mark.integration


@pytest.fixture
def node(needs_root, tmp_path: Path, busybox_rootfs_tar: Path, monkeypatch):
    root, settings = engine_root(tmp_path, busybox_rootfs_tar)
    yield from run_node(tmp_path, root, settings, monkeypatch, extra=("--metrics-period", "1"))


def busybox(name: str, script: str, cpu: str = "") -> dict:
    limits = {"resources": {"limits": {"cpu": cpu, "memory": "64Mi"}}} if cpu else {}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name, "test": "top"}},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                {"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", script],
                 **limits}]}}


def millicores(text: str) -> int:
    return int(text.removesuffix("m"))


def top_pods(node, *args: str) -> dict[str, tuple[int, str]]:
    """Pod name -> (CPU millicores, MEMORY) from ``kubectl top pods``; {} while metrics are not available yet."""
    proc = node.kubectl("top", "pods", *args, check=False)
    if proc.returncode != 0:
        return {}
    lines = proc.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    return {name: (millicores(cpu), mem) for name, cpu, mem in (line.split() for line in lines[1:])}


def test_kubectl_top_pods_and_nodes_show_live_usage(node):
    node.apply(busybox("burn", "while :; do :; done", cpu="200m"))
    node.apply(busybox("idle", "sleep 3600"))
    for name in ("burn", "idle"):
        node.wait_pod(name, ready, what="Ready")
    # The quota holds the loop near 0.2 cores; the first sample after start may still be climbing.
    shown = eventually(lambda: (got := top_pods(node, "-n", "default")) and 150 <= got.get("burn", (0,))[0] <= 260
                       and "idle" in got and got, timeout=30, what="kubectl top pods shows burn near 200m")
    assert shown["idle"][0] <= 20
    assert re.fullmatch(r"\d+Mi", shown["burn"][1])

    selected = top_pods(node, "-l", "app=idle")
    assert list(selected) == ["idle"]

    got = json.loads(node.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/burn").stdout)
    assert got["kind"] == "PodMetrics" and got["metadata"]["labels"]["app"] == "burn"
    assert re.fullmatch(r"\d+(\.\d+)?s", got["window"]) and 0.9 <= float(got["window"][:-1]) <= 3
    [container] = got["containers"]
    assert container["name"] == "main"
    assert re.fullmatch(r"\d+n", container["usage"]["cpu"]) and re.fullmatch(r"\d+Ki", container["usage"]["memory"])

    proc = node.kubectl("top", "nodes")
    header, *rows = proc.stdout.splitlines()
    assert re.split(r"\s{2,}", header.strip()) == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    name, cpu, cpu_pct, memory, mem_pct = rows[0].split()
    assert millicores(cpu) >= 150 and cpu_pct.endswith("%") and memory.endswith("Mi") and mem_pct.endswith("%")

    missing = node.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope", check=False)
    assert missing.returncode != 0 and 'pods.metrics.k8s.io "nope" not found' in missing.stderr

    with TSDB(node.cluster.data_dir / "metrics" / "usage.db") as db:
        series = Series.of("container_cpu_usage_cores", {"namespace": "default", "pod": "burn", "container": "main"})
        points = eventually(lambda: db.points(series), timeout=5, what="samples of burn in the time series")
        assert any(0.1 < p.value < 0.3 for p in points)
