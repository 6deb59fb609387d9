"""``kubectl cordon``, ``uncordon`` and ``drain`` with the stock kubectl against a server with two joined nodes
(network-namespace hosts running real pods): a cordoned node takes no new pods, and a drain moves a Deployment's
pods to the other node through evictions that never take the application below its PodDisruptionBudget."""

from __future__ import annotations

import json
import subprocess

from support.net import free_port
from support.wait import Watch, eventually

from .conftest import server, wait_ready
from .test_join import join_command

DRAIN_TIMEOUT_S = 240


def web(replicas: int) -> dict:
    labels = {"app": "web"}
    container = {"name": "app", "image": "busybox", "command": ["sleep", "3600"], "imagePullPolicy": "IfNotPresent"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "terminationGracePeriodSeconds": 1, "containers": [container]}}}}


def budget(min_available: int) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": "web"}}}}


def ready_on(pods: dict) -> list[str]:
    """The node of every web pod that is Ready and not being deleted (the pods the budget counts healthy)."""
    return [p["spec"].get("nodeName", "") for p in pods.values()
            if not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in (p.get("status") or {}).get("conditions") or [])]


def node_status(cluster, name: str) -> str:
    rows = [line.split() for line in cluster.kubectl("get", "nodes").stdout.splitlines()[1:]]
    return next(row[1] for row in rows if row[0] == name)


def test_cordon_and_drain_move_a_deployment_within_its_budget(tmp_path, hosts, agents, needs_root):
    port = free_port()
    with server(tmp_path, "--address", hosts.gateway, "--port", str(port)) as cluster:
        url, token = join_command(cluster)
        for name in ("drain-a", "drain-b"):
            netns, _ = hosts.host()
            agents(name, netns).start(url, token)
        for name in ("drain-a", "drain-b"):
            wait_ready(cluster, name)

        assert "node/drain-b cordoned" in cluster.kubectl("cordon", "drain-b").stdout
        assert node_status(cluster, "drain-b") == "Ready,SchedulingDisabled"
        cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                              "items": [web(3), budget(2)]}))
        pods = Watch(cluster.kubeconfig, "pods", "default")
        placed = eventually(lambda o: len(ready_on(o)) == 3 and ready_on(o), 120, what="3 web pods Ready", watch=pods)
        assert placed == ["drain-a"] * 3  # the cordoned node took none of them
        assert "node/drain-b uncordoned" in cluster.kubectl("uncordon", "drain-b").stdout
        assert node_status(cluster, "drain-b") == "Ready"
        eventually(lambda o: (o.get("web", {}).get("status") or {}).get("disruptionsAllowed") == 1, 30,
                   what="the budget allowing 1", watch=Watch(cluster.kubeconfig, "poddisruptionbudgets", "default"))

        drain = subprocess.Popen(cluster.kubectl_argv() + ["drain", "drain-a", "--ignore-daemonsets",
                                                           "--delete-emptydir-data", f"--timeout={DRAIN_TIMEOUT_S}s"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        fewest = [3]

        def moved(objs: dict) -> bool:
            fewest[0] = min(fewest[0], len(ready_on(objs)))  # sees every state the watch shows
            on_a = [p for p in objs.values() if p["spec"].get("nodeName") == "drain-a"]
            return not on_a and ready_on(objs) == ["drain-b"] * 3

        try:
            eventually(moved, DRAIN_TIMEOUT_S, what="every web pod Ready on drain-b", watch=pods)
            out, err = drain.communicate(timeout=60)
        finally:
            if drain.poll() is None:
                drain.kill()
                drain.communicate()
        assert drain.returncode == 0, err
        assert "node/drain-a drained" in out and "will retry after 5s" in err  # the budget held evictions back
        assert fewest[0] == 2  # one pod at a time, never below minAvailable
        assert node_status(cluster, "drain-a") == "Ready,SchedulingDisabled"
