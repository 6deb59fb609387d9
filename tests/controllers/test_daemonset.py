"""DaemonSets against a real API server: the official Python client's e2e calls, one pod per eligible node as nodes
come, change and go, rolling updates (maxUnavailable, maxSurge) with ControllerRevisions that ``kubectl rollout
history|undo|status`` read, OnDelete, and orphaning then adoption.

The nodes here are Node objects with no agent behind them (each test its own, under a label of its own, since
nodes are cluster-wide) and the kubelet double makes the daemon pods Running and Ready: these tests are about the
controller's decisions. Real pods on real nodes are in tests/agent/test_daemonset_node.py and, for a node that
joins later, tests/join/test_daemonset_join.py.
"""

import json
import uuid

import kubernetes
import yaml
from kubelet_double import apps

HASH = "controller-revision-hash"


def nodes(cluster, label: str, *specs: tuple) -> None:
    """Node objects ``(name, labels, taints)``, each carrying ``label`` so only this test's DaemonSet sees them."""
    items = [{"apiVersion": "v1", "kind": "Node",
              "metadata": {"name": name, "labels": {label: "yes", **labels}}, "spec": {"taints": taints}}
             for name, labels, taints in specs]
    cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))


def daemonset(name: str, label: str, image: str = "busybox:1", strategy: dict | None = None, **pod_spec) -> dict:
    labels = {"app": name}
    spec = {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
        "nodeSelector": {label: "yes", **pod_spec.pop("node_selector", {})}, "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "c", "image": image}], **pod_spec}}}
    if strategy:
        spec["updateStrategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name}, "spec": spec}


def apply(cluster, ns: str, obj: dict) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(obj))


def target(pod: dict) -> str:
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    return terms["nodeSelectorTerms"][0]["matchFields"][0]["values"][0]


def live(pods: dict) -> list[dict]:
    return [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]


def on_nodes(*expected: str):
    """A predicate: the live daemon pods are exactly one on each of ``expected``."""
    return lambda pods: sorted(target(p) for p in live(pods)) == sorted(expected) and pods


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions", []))


def test_the_python_clients_daemonset_e2e_calls(cluster, k8s):
    """The calls of kubernetes-client/python's e2e test ``test_apps.TestClientApps.test_create_daemonset``
    (that test module is not shipped in the installed package, so its calls are made here as it makes them)."""
    api = apps(k8s)
    name = "nginx-app-" + str(uuid.uuid4())
    daemonset = {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"labels": {"app": "nginx"}, "name": name},
        "spec": {"selector": {"matchLabels": {"app": "nginx"}},
                 "template": {"metadata": {"labels": {"app": "nginx"}, "name": name},
                              "spec": {"containers": [{"name": "nginx-app", "image": "nginx:1.15.4"}]}},
                 "updateStrategy": {"type": "RollingUpdate"}}}
    api.create_namespaced_daemon_set("default", body=daemonset)
    resp = api.read_namespaced_daemon_set(name, "default")
    assert resp is not None
    assert resp.metadata.name == name
    assert resp.spec.selector.match_labels["app"] == "nginx"
    assert resp.spec.template.metadata.labels["app"] == "nginx"
    assert resp.spec.template.spec.containers[0].name == "nginx-app"
    assert resp.spec.template.spec.containers[0].image == "nginx:1.15.4"
    status = api.read_namespaced_daemon_set_status(name, "default").status  # the status subresource
    assert status.number_misscheduled == 0 and status.current_number_scheduled is not None
    api.delete_namespaced_daemon_set(name, "default", body=kubernetes.client.V1DeleteOptions())
    assert name not in [d.metadata.name for d in api.list_namespaced_daemon_set("default").items]


def test_one_pod_per_eligible_node_as_nodes_come_change_and_go(cluster, harness):
    ns, label = cluster.namespace("ds-nodes"), "ds-nodes"
    harness.kubelet(ns)
    nodes(cluster, label, ("dn-ssd", {"disk": "ssd"}, []), ("dn-hdd", {"disk": "hdd"}, []),
          ("dn-tainted", {"disk": "ssd"}, [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
          ("dn-cordoned", {"disk": "ssd"}, [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
          ("dn-unreachable", {"disk": "ssd"}, [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]))
    apply(cluster, ns, daemonset("agent", label, node_selector={"disk": "ssd"}))
    pods = harness.wait("pods", ns, on_nodes("dn-ssd", "dn-cordoned", "dn-unreachable"), what="3 daemon pods")
    pod = next(iter(pods.values()))
    tolerated = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert ("node.kubernetes.io/not-ready", "NoExecute") in tolerated
    assert all("tolerationSeconds" not in t for t in pod["spec"]["tolerations"])
    assert pod["metadata"]["labels"][HASH] and pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"

    ds = harness.wait("daemonsets", ns, lambda o: o["agent"]["status"].get("numberAvailable") == 3 and o["agent"])
    s = ds["status"]
    assert (s["desiredNumberScheduled"], s["currentNumberScheduled"], s["numberReady"], s["updatedNumberScheduled"],
            s["numberMisscheduled"], s["observedGeneration"]) == (3, 3, 3, 3, 0, 1)
    header, row = cluster.kubectl("get", "ds", "-n", ns).stdout.splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR",
                              "AGE"]
    assert row.split()[:7] == ["agent", "3", "3", "3", "3", "3", f"disk=ssd,{label}=yes"]

    nodes(cluster, label, ("dn-new", {"disk": "ssd"}, []))  # a node joins
    cluster.kubectl("label", "node", "dn-hdd", "disk=ssd", "--overwrite")  # one becomes eligible
    harness.wait("pods", ns, on_nodes("dn-ssd", "dn-cordoned", "dn-unreachable", "dn-new", "dn-hdd"),
                 what="pods on the new and the relabelled node")
    cluster.kubectl("delete", "node", "dn-new")  # one leaves
    cluster.kubectl("label", "node", "dn-ssd", "disk=hdd", "--overwrite")  # one is no longer eligible
    cluster.kubectl("taint", "node", "dn-cordoned", "gone=yes:NoExecute")  # one evicts what does not tolerate
    cluster.kubectl("taint", "node", "dn-unreachable", "late=yes:NoSchedule")  # keeps its running pod
    harness.wait("pods", ns, on_nodes("dn-hdd", "dn-unreachable"), what="pods off the lost and ineligible nodes")
    harness.wait("daemonsets", ns, lambda o: o["agent"]["status"]["desiredNumberScheduled"] == 1
                 and o["agent"]["status"]["currentNumberScheduled"] == 1, what="status: one node wants it")


def test_rolling_update_history_undo_and_rollout_status(cluster, harness, k8s):
    ns, label = cluster.namespace("ds-roll"), "ds-roll"
    kubelet = harness.kubelet(ns, ready_after=0.3)
    nodes(cluster, label, *((f"dr-{i}", {}, []) for i in range(4)))
    apply(cluster, ns, daemonset("agent", label))
    first = harness.wait("pods", ns, lambda o: len(live(o)) == 4 and all(ready(p) for p in live(o)) and o,
                         what="4 Ready pods")
    old_hash = next(iter(first.values()))["metadata"]["labels"][HASH]
    cluster.kubectl("rollout", "status", "-n", ns, "ds/agent", "--timeout=20s", timeout=30)
    kubelet.start_tracking()
    cluster.kubectl("set", "image", "-n", ns, "ds/agent", "c=busybox:2")
    out = cluster.kubectl("rollout", "status", "-n", ns, "ds/agent", "--timeout=30s", timeout=40).stdout
    assert 'daemon set "agent" successfully rolled out' in out
    pods = live(harness.wait("pods", ns, lambda o: len(live(o)) == 4 and o))
    assert all(p["spec"]["containers"][0]["image"] == "busybox:2" for p in pods)
    assert kubelet.min_ready >= 3  # 4 nodes, maxUnavailable 1

    history = cluster.kubectl("rollout", "history", "-n", ns, "ds/agent").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    assert "busybox:1" in cluster.kubectl("rollout", "history", "-n", ns, "ds/agent", "--revision=1").stdout
    revisions = cluster.kubectl("get", "controllerrevisions", "-n", ns).stdout.splitlines()
    assert revisions[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert sorted(r.split()[1:3] for r in revisions[1:]) == [["daemonset.apps/agent", "1"],
                                                             ["daemonset.apps/agent", "2"]]

    assert "rolled back" in cluster.kubectl("rollout", "undo", "-n", ns, "ds/agent").stdout
    cluster.kubectl("rollout", "status", "-n", ns, "ds/agent", "--timeout=30s", timeout=40)
    pods = live(harness.wait("pods", ns, lambda o: len(live(o)) == 4 and all(
        p["metadata"]["labels"][HASH] == old_hash for p in live(o)) and o, what="the first revision's pods back"))
    assert all(p["spec"]["containers"][0]["image"] == "busybox:1" for p in pods)
    revs = {r["metadata"]["labels"][HASH]: r["revision"]
            for r in harness.wait("controllerrevisions", ns, lambda o: len(o) == 2 and o).values()}
    assert revs[old_hash] == 3  # the old revision, renumbered above the others
    listed = apps(k8s).list_namespaced_controller_revision(ns).items  # the official client reads them too
    assert sorted(r.revision for r in listed) == [2, 3] and all(r.data["spec"]["template"] for r in listed)
    assert "SuccessfulCreate" in cluster.kubectl("describe", "-n", ns, "ds", "agent").stdout


def test_surge_runs_the_new_pod_beside_the_old_until_it_is_available(cluster, harness):
    ns, label = cluster.namespace("ds-surge"), "ds-surge"
    kubelet = harness.kubelet(ns, ready_after=0.3)
    nodes(cluster, label, *((f"ds-{i}", {}, []) for i in range(3)))
    surge = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    apply(cluster, ns, daemonset("agent", label, strategy=surge))
    harness.wait("pods", ns, lambda o: len(live(o)) == 3 and all(ready(p) for p in live(o)), what="3 Ready pods")
    kubelet.start_tracking()
    most: list[int] = []

    def rolled(pods: dict) -> bool:
        most.append(len(live(pods)))
        fresh = [p for p in live(pods) if p["spec"]["containers"][0]["image"] == "busybox:2"]
        return len(live(pods)) == 3 and len(fresh) == 3 and all(ready(p) for p in fresh)

    apply(cluster, ns, daemonset("agent", label, image="busybox:2", strategy=surge))
    harness.wait("pods", ns, rolled, timeout=30, what="every node on the new image")
    assert kubelet.min_ready >= 3 and max(most) <= 4  # never a node without a Ready pod; one surge at a time


def test_on_delete_waits_for_a_deleted_pod_and_orphans_are_adopted(cluster, harness):
    ns, label = cluster.namespace("ds-ondelete"), "ds-ondelete"
    harness.kubelet(ns)
    nodes(cluster, label, ("do-a", {}, []), ("do-b", {}, []))
    on_delete = {"type": "OnDelete"}
    apply(cluster, ns, daemonset("agent", label, strategy=on_delete))
    before = harness.wait("pods", ns, on_nodes("do-a", "do-b"), what="2 pods")
    apply(cluster, ns, daemonset("agent", label, image="busybox:2", strategy=on_delete))
    harness.wait("daemonsets", ns, lambda o: o["agent"]["status"].get("observedGeneration") == 2
                 and o["agent"]["status"]["updatedNumberScheduled"] == 0, what="the new template seen, no pod updated")
    victim = sorted(before)[0]
    cluster.kubectl("delete", "pod", "-n", ns, victim)
    after = harness.wait("pods", ns, lambda o: victim not in o and len(live(o)) == 2 and o, what="a replacement")
    images = sorted(p["spec"]["containers"][0]["image"] for p in after.values())
    assert images == ["busybox:1", "busybox:2"]

    cluster.kubectl("delete", "ds", "-n", ns, "agent", "--cascade=orphan")
    orphans = harness.wait("pods", ns, lambda o: len(o) == 2 and all(not p["metadata"].get("ownerReferences")
                                                                     for p in o.values()) and o, what="orphans")
    apply(cluster, ns, daemonset("agent", label, image="busybox:2", strategy=on_delete))
    adopted = harness.wait("pods", ns, lambda o: all(p["metadata"].get("ownerReferences") for p in o.values()) and o,
                           what="the orphans adopted")
    assert sorted(adopted) == sorted(orphans)  # the same pods, none made anew
