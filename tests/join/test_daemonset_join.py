"""A DaemonSet across joined nodes (network-namespace hosts with real agents): one pod on the first node, and one
on a node that joins after the DaemonSet was made, placed there by the scheduler through the pod's node-name
affinity."""

from __future__ import annotations

import json

from support.net import free_port
from support.wait import Watch, eventually

from .conftest import server, wait_ready
from .test_join import join_command


def daemonset() -> dict:
    labels = {"app": "node-agent"}
    container = {"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "node-agent"}, "spec": {
        "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "terminationGracePeriodSeconds": 1, "containers": [container]}}}}


def running_on(pods: dict) -> list[str]:
    return sorted(p["spec"].get("nodeName", "") for p in pods.values()
                  if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp"))


def test_a_daemonset_runs_on_every_node_including_one_that_joins_later(tmp_path, hosts, agents, needs_root):
    port = free_port()
    with server(tmp_path, "--address", hosts.gateway, "--port", str(port)) as cluster:
        url, token = join_command(cluster)
        agents("ds-first", hosts.host()[0]).start(url, token)
        wait_ready(cluster, "ds-first")
        cluster.kubectl("apply", "-f", "-", input=json.dumps(daemonset()))
        pods = Watch(cluster.kubeconfig, "pods", "default", "app=node-agent")
        eventually(lambda o: running_on(o) == ["ds-first"], 90, what="the pod on the first node", watch=pods)

        agents("ds-later", hosts.host()[0]).start(url, token)
        wait_ready(cluster, "ds-later")
        eventually(lambda o: running_on(o) == ["ds-first", "ds-later"], 90, what="a pod on the node that joined",
                   watch=pods)
        eventually(lambda: cluster.kubectl("get", "ds", "node-agent").stdout.splitlines()[1].split()[1:4]
                   == ["2", "2", "2"], 30, 0.2, "kubectl get ds: 2 desired, current and ready")
        affinities = [p["spec"]["affinity"]["nodeAffinity"] for p in json.loads(cluster.kubectl(
            "get", "pods", "-l", "app=node-agent", "-o", "json").stdout)["items"]]
        assert sorted(a["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchFields"][0]
                      ["values"][0] for a in affinities) == ["ds-first", "ds-later"]
