"""The node lifecycle controller against a real API server, with nodes that are API objects whose Leases this
test renews (the agents' part): a silent node turns Unknown, its pods NotReady, tainted; when most nodes fall
silent at once evictions stop, and start again once the cluster looks healthy enough; a pod that finished is
never evicted (a Job counts it, and must not run it twice)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import pytest
from support.cluster import only
from support.wait import Watch, eventually

from portside.agent.node import lease_object

GRACE_S = 2
UP_FLAGS = (*only("node-lifecycle"), "--node-monitor-grace", str(GRACE_S), "--default-eviction-timeout", "1")


class Heartbeats:
    """Renews the Leases of the nodes in ``alive`` twice a second, from a thread with its own loop; all of a round
    at once, so that nodes that fall silent together had their last renewals together (renewed one after another
    on a loaded machine, they were far enough apart for the controller to see one node lost alone, and evict)."""

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig, self.alive = kubeconfig, set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        from portside.client import Client, NotFound
        async with Client.from_kubeconfig(self.kubeconfig) as client:
            async def renew(name: str) -> None:
                lease = lease_object(name)
                try:
                    await client.patch("leases", name, {"spec": lease.spec}, "kube-node-lease")
                except NotFound:
                    await client.create("leases", lease, "kube-node-lease")

            while not self.stop.is_set():
                await asyncio.gather(*(renew(name) for name in sorted(self.alive)))
                await asyncio.sleep(0.5)


@pytest.fixture
def beats(cluster) -> Iterator[Heartbeats]:
    h = Heartbeats(cluster.kubeconfig)
    h.thread.start()
    try:
        yield h
    finally:
        h.stop.set()
        h.thread.join(timeout=10)


def apply(cluster, obj: dict) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))


def post_ready(cluster, name: str) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                         "lastHeartbeatTime": now, "lastTransitionTime": now}]}}
    cluster.kubectl("patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps(status))


def ready_pod(cluster, ns: str, name: str, node: str) -> None:
    apply(cluster, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
                    "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox"}]}})
    status = {"status": {"phase": "Running", "podIP": "10.42.9.9",
                         "conditions": [{"type": "Ready", "status": "True"}]}}
    cluster.kubectl("patch", "pod", name, "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps(status))


def taints(node: dict) -> set[str]:
    return {f"{t['key']}:{t['effect']}" for t in (node.get("spec") or {}).get("taints") or []}


def ready(node: dict) -> str:
    return next((c["status"] for c in node["status"].get("conditions", []) if c["type"] == "Ready"), "")


def test_most_nodes_lost_at_once_stop_evictions_until_enough_return(cluster, beats):
    ns = cluster.namespace("disruption")
    names = ["dis-a", "dis-b", "dis-c"]
    beats.alive.update(names)
    for name in names:
        apply(cluster, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
        post_ready(cluster, name)
        ready_pod(cluster, ns, f"on-{name}", name)
    finished = {"status": {"phase": "Succeeded"}}  # a Job's pod that completed there: it must not run again
    apply(cluster, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "done-on-dis-c", "namespace": ns},
                    "spec": {"nodeName": "dis-c", "restartPolicy": "Never",
                             "containers": [{"name": "app", "image": "busybox"}]}})
    cluster.kubectl("patch", "pod", "done-on-dis-c", "-n", ns, "--subresource=status", "--type=merge", "-p",
                    json.dumps(finished))
    tolerations = json.loads(cluster.kubectl("get", "pod", "on-dis-b", "-n", ns, "-o", "json").stdout)["spec"][
        "tolerations"]
    assert {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 1} in tolerations  # the admission's default, from --default-eviction-timeout

    beats.alive.difference_update({"dis-b", "dis-c"})  # two of three fall silent: a partition of the server

    def lost(nodes: dict) -> bool:
        return all(n in nodes and ready(nodes[n]) == "Unknown" and "node.kubernetes.io/unreachable:NoSchedule"
                   in taints(nodes[n]) for n in ("dis-b", "dis-c"))
    eventually(lost, GRACE_S + 10, what="dis-b and dis-c Unknown and unschedulable",
               watch=Watch(cluster.kubeconfig, "nodes"))

    def not_ready(pods: dict) -> bool:
        return all(next(c["status"] for c in pods[f"on-{n}"]["status"]["conditions"] if c["type"] == "Ready")
                   == "False" for n in ("dis-b", "dis-c"))
    eventually(not_ready, 10, what="their pods NotReady", watch=Watch(cluster.kubeconfig, "pods", ns))
    eventually(lambda: "PartialDisruption" in cluster.log(), what="the disruption logged")
    time.sleep(3)  # longer than the 1 s toleration: a NoExecute taint now would have evicted the pods by then
    nodes = {n["metadata"]["name"]: n for n in json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)[
        "items"]}
    assert not any("NoExecute" in t for n in ("dis-b", "dis-c") for t in taints(nodes[n]))
    pods = cluster.kubectl("get", "pods", "-n", ns, "-o", "name").stdout.split()
    assert sorted(pods) == ["pod/done-on-dis-c", "pod/on-dis-a", "pod/on-dis-b", "pod/on-dis-c"]

    beats.alive.add("dis-b")  # one returns: one of three lost is a dead node, not a partition
    post_ready(cluster, "dis-b")

    def evicted(pods: dict) -> bool:
        return "on-dis-c" not in pods and {"on-dis-a", "on-dis-b", "done-on-dis-c"} <= set(pods)
    eventually(evicted, 15, what="only dis-c's pod evicted", watch=Watch(cluster.kubeconfig, "pods", ns))
    nodes = {n["metadata"]["name"]: n for n in json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)[
        "items"]}
    assert "node.kubernetes.io/unreachable:NoExecute" in taints(nodes["dis-c"])
    assert not taints(nodes["dis-b"]) and ready(nodes["dis-b"]) == "True"
    events = cluster.kubectl("get", "events", "-n", ns, "-o", "json").stdout
    assert "TaintManagerEviction" in events and f"Marking for deletion Pod {ns}/on-dis-c" in events
    assert cluster.kubectl("get", "pod", "done-on-dis-c", "-n", ns, check=False).returncode == 0
