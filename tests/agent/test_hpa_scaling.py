"""Horizontal pod autoscaling on real containers: the agent samples the pods' cgroups every second, the API
server serves ``metrics.k8s.io`` from those samples, and the autoscaler (synced every second) reads them
through the API and sets the target's ``scale``.

Two workloads. A busybox Deployment burns CPU in one pod when told to (a file in the pod), which makes the
arithmetic checkable: one pod at its 200m limit over a 100m request is 200 % against a 50 % target. And the seed
app, autoscaled with stock ``kubectl autoscale``, loaded through its Service from this process until it scales
up, then left idle until it scales back down. Short scale-down windows come from each autoscaler's ``behavior``.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

import pytest
import yaml
from support.net import free_port
from support.wait import Watch, eventually

from portside import api
from tests.agent.conftest import engine_root, ready, run_node
from tests.agent.test_seed import REPO, seed_cluster
from tests.image.test_bootstrap_integration import python_base  # noqa: F401 - the shared bootstrap fixture

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]  # the seed may wait for the shared bootstrap
FLAGS = ("--metrics-period", "1", "--horizontal-pod-autoscaler-sync-period", "1")
BURNER = ("while :; do if [ -e /tmp/burn ]; then :; else sleep 0.2; fi; done")  # spins while /tmp/burn exists


@pytest.fixture
def node(needs_root, tmp_path: Path, busybox_rootfs_tar: Path, monkeypatch):
    root, settings = engine_root(tmp_path, busybox_rootfs_tar)
    yield from run_node(tmp_path, root, settings, monkeypatch, extra=FLAGS)


@pytest.fixture
def seed(python_base, needs_root, tmp_path, monkeypatch):  # noqa: F811 - python_base is the fixture
    yield from seed_cluster(python_base, tmp_path, monkeypatch, extra=FLAGS)


def burner() -> dict:
    container = {"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", BURNER],
                 "resources": {"requests": {"cpu": "100m", "memory": "16Mi"}, "limits": {"cpu": "200m", "memory": "32Mi"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "burner"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "burner"}}, "template": {
                "metadata": {"labels": {"app": "burner"}},
                "spec": {"terminationGracePeriodSeconds": 0, "containers": [container]}}}}


def burner_autoscaler() -> dict:
    quick_down = {"stabilizationWindowSeconds": 2, "policies": [{"type": "Percent", "value": 100, "periodSeconds": 1}]}
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "burner"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "burner"},
                     "minReplicas": 1, "maxReplicas": 4, "behavior": {"scaleDown": quick_down},
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 50}}},
                                 {"type": "Resource", "resource": {"name": "memory", "target": {  # never the highest
                                     "type": "AverageValue", "averageValue": "1Gi"}}}]}}


def hpa_watch(node) -> Watch:
    return Watch(node.cluster.kubeconfig, "horizontalpodautoscalers", "default")


def rescales(node, name: str) -> list[str]:
    got = json.loads(node.kubectl("get", "events", "--field-selector",
                                  f"involvedObject.name={name},reason=SuccessfulRescale", "-o", "json").stdout)
    return [e["message"] for e in got["items"]]


def cpu_status(hpa: dict) -> dict:
    metrics = (hpa.get("status") or {}).get("currentMetrics") or [{}]
    return (metrics[0].get("resource") or {}).get("current") or {}


def test_cpu_burn_in_one_pod_scales_out_and_back_in(node):
    node.apply(burner())
    first = eventually(lambda: (ps := node.pods("app=burner")) and ready(ps[0]) and ps[0], 30, what="burner Ready")
    node.apply(burner_autoscaler())
    idle = eventually(lambda objs: (h := objs.get("burner")) and cpu_status(h).get("averageUtilization") is not None
                      and h, 30, what="a first utilization", watch=hpa_watch(node))
    assert idle["status"]["currentReplicas"] == 1 and cpu_status(idle)["averageUtilization"] < 50
    memory = idle["status"]["currentMetrics"][1]["resource"]
    assert memory["name"] == "memory" and 0 < api.to_bytes(memory["current"]["averageValue"]) < 32 << 20
    targets = node.kubectl("get", "hpa", "burner").stdout.splitlines()[1]
    assert "% /50%" not in targets and "/50%, memory: " in targets and targets.split(", memory: ")[1].split()[0] \
        .endswith("/1Gi")

    node.kubectl("exec", first["metadata"]["name"], "--", "touch", "/tmp/burn")
    # At its 200m limit the one pod is at 200 % of its request: ceil(1 x 200/50) = 4, the maximum. On a busy host
    # it may get less than its limit; any burn above 55 % asks for at least 2.
    hot = eventually(lambda objs: (h := objs.get("burner")) and h["status"].get("desiredReplicas", 0) >= 2 and h,
                     60, what="a scale-up", watch=hpa_watch(node))
    assert hot["status"]["lastScaleTime"]
    message = eventually(lambda: rescales(node, "burner"), 10, what="a SuccessfulRescale event")[0]
    assert message.startswith("New size: ") and message.endswith(
        "; reason: cpu resource utilization (percentage of request) above target")
    assert 2 <= int(message.split()[2].rstrip(";")) <= 4
    eventually(lambda: len([p for p in node.pods("app=burner") if ready(p)]) >= 2, 30, what="the new pods Ready")

    node.kubectl("exec", first["metadata"]["name"], "--", "rm", "/tmp/burn")
    cool = eventually(lambda objs: (h := objs.get("burner")) and h["status"].get("desiredReplicas") == 1
                      and h["status"].get("currentReplicas", 0) > 1 and h, 60, what="a scale-down to 1",
                      watch=hpa_watch(node))
    assert any(c["type"] == "ScalingActive" and c["status"] == "True" for c in cool["status"]["conditions"])
    assert "New size: 1; reason: All metrics below target" in rescales(node, "burner")
    deployment = json.loads(node.kubectl("get", "deploy", "burner", "-o", "json").stdout)
    assert deployment["spec"]["replicas"] == 1
    print("burner rescales:", rescales(node, "burner"), "at", cpu_status(hot))


class Load:
    """Requests to one URL from a few threads, as fast as answers come, until stopped."""

    def __init__(self, url: str, threads: int = 4) -> None:
        self.url, self.done, self.answered = url, threading.Event(), 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.done.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    response.read()
                self.answered += 1
            except OSError:
                self.done.wait(0.05)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        for t in self.threads:
            t.join(timeout=5)


def top_cpu_millicores(node, selector: str) -> dict[str, int]:
    """``kubectl top pods`` as a user reads it: NAME, CPU(cores) like ``250m``, MEMORY(bytes)."""
    proc = node.kubectl("top", "pods", "-l", selector, check=False)
    lines = proc.stdout.splitlines() if proc.returncode == 0 else []
    if not lines or lines[0].split() != ["NAME", "CPU(cores)", "MEMORY(bytes)"]:
        return {}
    return {name: int(cpu.removesuffix("m")) for name, cpu, _ in (line.split() for line in lines[1:])}


def test_seed_autoscaled_with_kubectl_scales_under_load_and_back(seed):
    node, port = seed, free_port()
    deployment = yaml.safe_load((REPO / "examples/seed/deployment.yaml").read_text())
    deployment["spec"]["replicas"] = 1
    service = yaml.safe_load((REPO / "examples/seed/service.yaml").read_text())
    service["spec"]["ports"][0]["port"] = port  # the seed's port 80 may be another test's
    node.apply(deployment)
    node.apply(service)
    eventually(lambda: (ps := node.pods("app=my-app")) and ready(ps[0]), 60, what="the seed pod Ready")

    made = node.kubectl("autoscale", "deploy/my-app", "--cpu-percent=50", "--min=1", "--max=5")
    assert made.stdout.strip() == "horizontalpodautoscaler.autoscaling/my-app autoscaled"
    node.kubectl("patch", "hpa", "my-app", "--type", "merge", "-p", json.dumps(
        {"spec": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 5}}}}))
    table = node.kubectl("get", "hpa").stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert table[1].split()[:2] == ["my-app", "Deployment/my-app"]

    with Load(f"http://127.0.0.1:{port}/") as load:
        up = eventually(lambda objs: (h := objs.get("my-app")) and h["status"].get("desiredReplicas", 0) > 1 and h,
                        90, what="the seed scaled up under load", watch=hpa_watch(node))
        assert load.answered > 0
        busy = eventually(lambda: top_cpu_millicores(node, "app=my-app"), 30, what="the seed's pods in kubectl top")
    assert max(busy.values()) > 0, f"kubectl top pods shows the loaded seed idle: {busy}"
    assert cpu_status(up).get("averageUtilization", 0) > 50
    assert any(m.endswith("reason: cpu resource utilization (percentage of request) above target")
               for m in rescales(node, "my-app"))
    eventually(lambda objs: (h := objs.get("my-app")) and h["status"].get("desiredReplicas") == 1
               and h["spec"].get("behavior") and h, 90, what="the seed back to one replica once idle",
               watch=hpa_watch(node))
    assert "New size: 1; reason: All metrics below target" in rescales(node, "my-app")
    print("seed rescales:", rescales(node, "my-app"), "at", cpu_status(up), "with", load.answered, "answers")
    shown = node.kubectl("get", "hpa", "my-app").stdout.splitlines()[1].split()
    assert shown[2] == "cpu:" and shown[3].endswith("/50%") and shown[4:6] == ["1", "5"]
