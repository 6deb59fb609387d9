"""The agent's Node, Lease, endpoints for readiness, and bad specs that must leave nothing behind."""

from __future__ import annotations

import json
import os
import time

from support.wait import eventually

from tests.agent.conftest import container_status, ready
from tests.agent.test_pods import exec_probe, pod


def test_node_registers_capacity_ready_and_renews_its_lease(node):
    nodes = json.loads(node.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert len(nodes) == 1
    status = nodes[0]["status"]
    assert status["capacity"]["cpu"] == str(os.cpu_count())
    assert {"memory", "pods", "ephemeral-storage"} <= set(status["allocatable"])
    assert int(status["capacity"]["memory"].removesuffix("Ki")) > 1 << 20
    assert [c["status"] for c in status["conditions"] if c["type"] == "Ready"] == ["True"]
    assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] > 0
    name = nodes[0]["metadata"]["name"]
    lease = json.loads(node.kubectl("get", "lease", name, "-n", "kube-node-lease", "-o", "json").stdout)
    assert lease["spec"]["holderIdentity"] == name and lease["spec"]["renewTime"]


def endpoint_ips(node, name: str) -> list[str]:
    proc = node.kubectl("get", "endpoints", name, "-o", "json", check=False)
    subsets = json.loads(proc.stdout).get("subsets") or [] if proc.returncode == 0 else []
    return [a["ip"] for s in subsets for a in s.get("addresses") or []]


def test_readiness_moves_the_pod_in_and_out_of_service_endpoints_within_two_seconds(node):
    node.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    node.apply(pod("web", "touch /tmp/ready; sleep 3600", readinessProbe=exec_probe("/tmp/ready")))
    ip = node.wait_pod("web", ready, what="Ready")["status"]["podIP"]
    eventually(lambda: endpoint_ips(node, "web") == [ip], 5, 0.1, "the pod in the endpoints")
    node.kubectl("exec", "web", "--", "rm", "/tmp/ready")
    failed = time.monotonic()
    eventually(lambda: endpoint_ips(node, "web") == [], 5, 0.05, "the pod out of the endpoints")
    assert time.monotonic() - failed < 2
    node.kubectl("exec", "web", "--", "touch", "/tmp/ready")
    recovered = time.monotonic()
    eventually(lambda: endpoint_ips(node, "web") == [ip], 5, 0.05, "the pod back in the endpoints")
    assert time.monotonic() - recovered < 2


def test_a_spec_the_engine_refuses_waits_with_the_reason_and_leaves_no_container(node):
    node.apply(pod("badcap", "sleep 1", securityContext={"capabilities": {"add": ["NOT_A_CAP"]}}))
    p = node.wait_pod("badcap", lambda p: container_status(p)["state"].get("waiting", {}).get("reason") ==
                      "CreateContainerError", 5, "CreateContainerError")
    assert "NOT_A_CAP" in container_status(p)["state"]["waiting"]["message"]
    assert node.engine("ps", "-aq").stdout.strip() == ""


def test_a_force_deleted_pod_is_stopped_and_removed(node):
    node.apply(pod("doomed", "sleep 3600"))
    node.wait_pod("doomed", ready, what="Ready")
    node.kubectl("delete", "pod", "doomed", "--grace-period=0", "--force")
    eventually(lambda: node.engine("ps", "-aq").stdout.strip() == "" and not list((node.root / "pods").glob("*/*")),
             5, 0.1, "the container and the sandbox removed")


def test_a_steady_pod_gets_no_status_writes(node):
    counted = {**exec_probe("/bin/sh"), "exec": {"command": ["sh", "-c", "echo >> /tmp/probed"]}}
    node.apply(pod("calm", "sleep 3600", readinessProbe=counted))
    before = node.wait_pod("calm", ready, what="Ready")["metadata"]["resourceVersion"]

    def probes() -> int:
        return int(node.kubectl("exec", "calm", "--", "sh", "-c", "wc -l < /tmp/probed").stdout)

    seen = probes()
    eventually(lambda: probes() >= seen + 2, 10, 0.2, "two more probes with unchanged verdicts")
    assert node.pod("calm")["metadata"]["resourceVersion"] == before  # nothing to write
