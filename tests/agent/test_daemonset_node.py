"""DaemonSets on a real ``portside up`` node with busybox pods: the node runs one pod of a DaemonSet whose
nodeSelector it matches and none of one it does not; a rolling update to a new image and environment, then
``kubectl rollout status``, ``history`` and ``undo`` with the stock kubectl, checked inside the running pod.
One cluster serves the module."""

from __future__ import annotations

import json

import pytest
from support.require import require
from support.wait import Watch, eventually

from tests.agent.conftest import engine_root, run_node


@pytest.fixture(scope="module")
def node(tmp_path_factory, busybox_rootfs_tar):
    require("root", "runc")
    base = tmp_path_factory.mktemp("ds-node")
    root, settings = engine_root(base, busybox_rootfs_tar)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for n in run_node(base, root, settings, monkeypatch):
            proc = n.engine("tag", "busybox", "busybox:v2")  # the "new image" of the update
            assert proc.returncode == 0, proc.stderr
            yield n


def daemonset(name: str, version: str, image: str = "busybox", **pod_spec) -> dict:
    labels = {"app": name}
    script = 'trap "exit 0" TERM; while true; do sleep 1; done'
    container = {"name": "main", "image": image, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", script],
                 "env": [{"name": "VERSION", "value": version}]}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name}, "spec": {
        "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "terminationGracePeriodSeconds": 2, "containers": [container], **pod_spec}}}}


def rolled_out(node, name: str) -> dict:
    """The DaemonSet once its current template runs, available, on every node that should run it (what
    ``kubectl rollout status`` waits for, but on a watch and insisting on one node: a node that turns not
    ready for a moment under load would otherwise count as a rollout to no node at all)."""
    def done(objs: dict) -> dict | None:
        ds = objs.get(name) or {}
        s = ds.get("status") or {}
        current = s.get("observedGeneration") == ds.get("metadata", {}).get("generation")
        return ds if current and s.get("desiredNumberScheduled") == s.get("updatedNumberScheduled") == \
            s.get("numberAvailable") == 1 else None
    return eventually(done, 120, what=f"daemon set {name} rolled out",
                      watch=Watch(node.cluster.kubeconfig, "daemonsets", "default"))


def running(pods: dict) -> list[dict]:
    return [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") == "Running"]


def test_one_pod_on_the_matching_node_a_rolling_update_and_undo(node):
    name = json.loads(node.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    node.apply(daemonset("agent", "1"))
    node.apply(daemonset("elsewhere", "1", nodeSelector={"disktype": "none-here"}))
    rolled_out(node, "agent")
    pods = eventually(lambda o: len(running(o)) == 1 and o, 60, what="the agent pod Running",
                      watch=Watch(node.cluster.kubeconfig, "pods", "default", "app=agent"))
    assert next(iter(pods.values()))["spec"]["nodeName"] == name
    rows = {line.split()[0]: line.split() for line in node.kubectl("get", "ds").stdout.splitlines()}
    assert rows["NAME"] == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR",
                            "AGE"]
    assert rows["agent"][1:7] == ["1", "1", "1", "1", "1", "<none>"]
    assert rows["elsewhere"][1:7] == ["0", "0", "0", "0", "0", "disktype=none-here"]
    assert node.pods("app=elsewhere") == []

    node.apply(daemonset("agent", "2", image="busybox:v2"))
    rolled_out(node, "agent")
    out = node.kubectl("rollout", "status", "ds/agent", "--timeout=90s", timeout=100).stdout
    assert 'daemon set "agent" successfully rolled out' in out
    assert node.kubectl("exec", "ds/agent", "--", "sh", "-c", "echo $VERSION").stdout.strip() == "2"
    pod = [p for p in node.pods("app=agent") if not p["metadata"].get("deletionTimestamp")]
    assert [p["spec"]["containers"][0]["image"] for p in pod] == ["busybox:v2"]

    history = node.kubectl("rollout", "history", "ds/agent").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    node.kubectl("rollout", "undo", "ds/agent")
    rolled_out(node, "agent")
    eventually(lambda o: [p["spec"]["containers"][0]["image"] for p in running(o)] == ["busybox"] and o, 90,
               what="the first revision's pod running again",
               watch=Watch(node.cluster.kubeconfig, "pods", "default", "app=agent"))
    assert node.kubectl("exec", "ds/agent", "--", "sh", "-c", "echo $VERSION").stdout.strip() == "1"
    node.kubectl("delete", "ds", "agent", "elsewhere")
    eventually(lambda o: not o, 60, what="the daemon pods gone with their DaemonSet",
               watch=Watch(node.cluster.kubeconfig, "pods", "default", "app=agent"))
