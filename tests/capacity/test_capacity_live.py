"""``portside capacity`` without a trace, against a real ``portside up``: a Deployment of two busybox replicas
each burning CPU under a 200m limit, sampled every second; the report finds the workload through its
ReplicaSet with usage near the truth (what the containers' cgroups say they used: on a loaded machine the loop
may get less than its quota) and a recommendation, and forecast and plan run on minutes of history, saying that
it is too short for seasonality."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from support.builders import deployment
from support.wait import eventually

from tests.agent.conftest import engine_root, ready, run_node

pytestmark = pytest.mark.integration
BURN_CORES = 0.2


@pytest.fixture
def node(needs_root, tmp_path, busybox_rootfs_tar, monkeypatch):
    root, settings = engine_root(tmp_path, busybox_rootfs_tar)
    yield from run_node(tmp_path, root, settings, monkeypatch, extra=("--metrics-period", "1"))


def capacity(node, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portside", "capacity", *args, "--kubeconfig",
                           node.cluster.kubeconfig], capture_output=True, text=True, timeout=120)


def used_cores(node) -> float:
    """Per replica, the cores the burn containers used since they started, from their cgroups."""
    from portside.api.timefmt import parse_time
    from portside.engine import Engine
    from portside.runtime.cgroups import Cgroup

    engine, now, rates = Engine(node.root), time.time(), []
    for info in engine.list():
        if info["Config"]["Labels"].get("io.portside.pod.name", "").startswith("burn-"):
            used = Cgroup(engine.cgroups_path(info["Id"])).usage().cpu_ns / 1e9
            rates.append(used / (now - parse_time(info["State"]["StartedAt"]).timestamp()))
    assert len(rates) == 2, rates
    return sum(rates) / 2


def _report(node) -> dict | None:
    """The report once it shows the workload with both replicas."""
    result = capacity(node, "report", "-o", "json")
    if result.returncode != 0:
        return None
    data = json.loads(result.stdout)
    found = [w for w in data["workloads"] if w["workload"] == "default/burn"]
    return data if found and found[0]["replicas"] == 2 else None


def test_capacity_reads_the_running_clusters_history(node):
    d = deployment(replicas=2)
    d["metadata"]["name"] = "burn"
    d["spec"]["template"]["spec"]["containers"] = [{
        "name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", "while :; do :; done"],
        "resources": {"requests": {"cpu": "200m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}}]
    d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 0
    node.apply(d)
    eventually(lambda: len([p for p in node.pods("app=my-app") if ready(p)]) == 2, timeout=60,
               what="both replicas Ready")
    data = eventually(lambda: _report(node), timeout=120, interval=1,
                      what="the workload in capacity report")
    truth = used_cores(node)
    assert 0 < truth <= 1.1 * BURN_CORES  # the quota holds
    [burn] = [w for w in data["workloads"] if w["workload"] == "default/burn"]
    assert burn["cpu_request"] == pytest.approx(0.2) and burn["memory_request"] == 64 * 2**20
    assert 0.7 * truth <= burn["cpu_usage"]["p50"] <= 1.3 * truth, (truth, burn)
    rec = burn["recommended"]
    assert 1.05 * burn["cpu_usage"]["p50"] <= rec["cpu_request"] <= 1.6 * BURN_CORES, rec  # p90 + 15 %
    assert 0 < rec["memory_request"] <= rec["memory_limit"] and rec["cpu_request"] <= rec["cpu_limit"], rec
    assert sum(data["cluster"]["used_cpu"]) > 0

    forecast = capacity(node, "forecast", "--horizon", "1d", "-o", "json")
    assert forecast.returncode == 0, forecast.stderr
    f = json.loads(forecast.stdout)
    assert f["seasonality"]["model"] == "none" and "shorter than the two days" in f["seasonality"]["note"]
    [series] = [w["cpu"] for w in f["workloads"] if w["workload"] == "default/burn"]
    assert 0.6 * 2 * truth <= series["point"][0] <= 1.4 * 2 * truth, (truth, series["point"][0])

    plan = capacity(node, "plan", "--node-shape", "cpu=1,memory=2Gi", "--horizon", "1d")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.startswith("nodes planned: 1 ") and "default/burn" in plan.stdout
    assert "note: no seasonality" in plan.stdout
    page = capacity(node, "report", "-o", "html")
    assert page.returncode == 0 and "default/burn" in page.stdout and "<svg" in page.stdout
