"""The scheduler as ``portside up`` ships it: a bind is announced by a ``Scheduled`` Event that ``kubectl
describe pod`` shows, as kube-scheduler's is."""

from __future__ import annotations

import json

import pytest
from support.cluster import Cluster, only
from support.wait import eventually


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("sched-events") / "data", extra=only("scheduler")).start()
    try:
        yield c
    finally:
        c.stop()


NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ev-node"},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                   "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
       "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "100m"}}}]}}


def scheduled_events(cluster: Cluster, ns: str) -> list[dict]:
    out = cluster.kubectl("get", "events", "-n", ns, "-o", "json",
                          "--field-selector", "involvedObject.name=web,reason=Scheduled").stdout
    return json.loads(out)["items"]


def test_bind_writes_a_scheduled_event_that_describe_shows(cluster):
    ns = cluster.namespace("sched-events")
    cluster.kubectl("create", "-f", "-", input=json.dumps(NODE))
    try:
        cluster.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(POD))
        cluster.kubectl("wait", "-n", ns, "pod/web", "--for=jsonpath={.spec.nodeName}=ev-node", "--timeout=30s")
        event = eventually(lambda: scheduled_events(cluster, ns), timeout=15, what="the Scheduled event")[0]
        assert (event["type"], event["reason"]) == ("Normal", "Scheduled")
        assert event["message"] == f"Successfully assigned {ns}/web to ev-node"
        assert event["source"]["component"] == "default-scheduler"
        assert event["reportingComponent"] == "default-scheduler"
        assert event["involvedObject"]["kind"] == "Pod" and event["involvedObject"]["uid"]
        described = cluster.kubectl("describe", "pod", "web", "-n", ns).stdout
        line = next(line for line in described.splitlines() if "Scheduled" in line and "Successfully" in line)
        assert line.split()[:2] == ["Normal", "Scheduled"]
        assert "default-scheduler" in line and f"Successfully assigned {ns}/web to ev-node" in line
    finally:
        cluster.kubectl("delete", "node", "ev-node", "--wait=false", check=False)
