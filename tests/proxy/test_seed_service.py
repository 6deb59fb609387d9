"""The seed's Service in front of its Deployment on real containers: the LoadBalancer port spreads requests over
the three replicas; the ClusterIP and the NodePort answer from the host, the ClusterIP from inside a replica.

The Service is the seed's own manifest with its port moved to a free one, so that this test and the seed test of
tests/agent (which serves port 80) can run at the same time without a port conflict.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
import yaml
from support.net import free_port
from support.wait import eventually

from portside.proxy.metrics import CONFIGMAP, NAMESPACE
from tests.agent.test_seed import REPO, all_ready, seed_node  # noqa: F401 - the seed fixture and its helpers
from tests.image.test_bootstrap_integration import python_base  # noqa: F401 - the shared bootstrap fixture

from .conftest import HERE
from .traffic import get, spread, within_even

pytestmark = pytest.mark.integration


def answers(host: str, port: int) -> str:
    try:
        return get(host, port, timeout=2)
    except (OSError, AssertionError):
        return ""


def test_seed_load_balancer_spreads_over_the_three_replicas(seed_node) -> None:  # noqa: F811
    node, port = seed_node, free_port()
    service = yaml.safe_load((REPO / "examples/seed/service.yaml").read_text())
    service["spec"]["ports"][0]["port"] = port
    node.kubectl("apply", "-f", str(REPO / "examples/seed/deployment.yaml"))
    node.apply(service)
    pods = eventually(lambda: all_ready(node, 3), 30, 0.1, "three seed pods Ready")
    refusing = [p["status"]["podIP"] for p in pods if not accepts(p["status"]["podIP"], 5000)]
    assert not refusing, f"Ready replicas refuse connections: {refusing}"  # the Service would send them some
    names = {f"Hello from {p['metadata']['name']}\n" for p in pods}
    eventually(lambda: len(spread("127.0.0.1", port, 3)) == 3 if answers("127.0.0.1", port) else False, 10, 0.1,
             "the LoadBalancer port to reach all three replicas")
    counts = spread("127.0.0.1", port, 300)
    print("seed LoadBalancer, 300 requests:", dict(counts))
    assert set(counts) == names and within_even(counts, 300, 3), counts
    assert_no_errors(node, port)
    spec = node.cluster.kubectl("get", "svc", "my-app", "-o", "yaml").stdout
    spec = yaml.safe_load(spec)["spec"]
    assert set(spread(spec["clusterIP"], port, 6)) == names
    assert set(spread(node_address(), spec["ports"][0]["nodePort"], 6)) == names
    pod_netns = sorted((node.root / "network" / "netns").iterdir())[0]  # a replica's own network namespace
    from_pod = subprocess.run(["nsenter", f"--net={pod_netns}", sys.executable, str(HERE / "client.py"),
                               spec["clusterIP"], str(port), "6"], capture_output=True, text=True, timeout=60)
    assert set(json.loads(from_pod.stdout)) == names, from_pod.stderr


def accepts(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def userspace_metrics(node) -> dict[str, dict]:
    """The proxy's published counters of the seed Service's userspace endpoints (``portside top services``)."""
    got = node.cluster.kubectl("get", "configmap", "-n", NAMESPACE, CONFIGMAP, "-o", "json", check=False)
    doc = json.loads(json.loads(got.stdout)["data"]["default.my-app"]) if got.returncode == 0 else {}
    return {k: m for k, m in doc.get("endpoints", {}).items() if m["plane"] == "userspace"}


def assert_no_errors(node, port: int) -> None:
    """A clean run, from the first request sent the moment the pods are Ready, shows no error on any endpoint:
    a replica joins the Service only once it accepts connections (its readiness probe)."""
    endpoints = eventually(lambda: (m := userspace_metrics(node)) and len(m) == 3 and
                         sum(e["connections"] for e in m.values()) >= 300 and m, 10, 0.2, "the proxy's metrics")
    print("seed LoadBalancer metrics:", endpoints)
    assert {k: e["errors"] for k, e in endpoints.items()} == {k: 0 for k in endpoints}
    table = subprocess.run([sys.executable, "-m", "portside", "top", "services", "--kubeconfig",
                            node.cluster.kubeconfig], capture_output=True, text=True, timeout=60)
    rows = [r for line in table.stdout.splitlines()[1:] if (r := line.split())[2] == "userspace" and r[1] != "(none)"]
    assert len(rows) == 3 and {r[-1] for r in rows} == {"0"}, table.stdout + table.stderr


def node_address() -> str:
    from portside.proxy.status import node_ip
    return node_ip()
