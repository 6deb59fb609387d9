"""StatefulSets against a real API server: the official Python client's calls, OrderedReady start (each pod after
the previous one is Ready, its claim before it), stable names and DNS identity, scale down in reverse order with
claims kept, then scale up onto the same claims (``kubectl scale sts``), rolling updates from the highest ordinal
with ControllerRevisions that ``kubectl rollout status|history|undo`` read, partitions, OnDelete, Parallel, a
failed pod made again, the claim retention policy, and orphaning then adoption.

The kubelet double makes the pods Running and Ready (these tests are about the controller's decisions); the
volume controllers run too, so claims deleted by the retention policy leave once unused. Real pods with real
volumes are in tests/agent/test_statefulset_pods.py.
"""

import json
import uuid

import kubernetes
import pytest
import yaml
from kubelet_double import apps, template
from support.cluster import only
from support.wait import eventually

HASH = "controller-revision-hash"
CLAIM = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                "resources": {"requests": {"storage": "16Mi"}}}}


@pytest.fixture(scope="module")
def up_flags() -> tuple[str, ...]:
    return only("garbage-collector", "workload-controllers", "volume-controllers")


def statefulset(name: str = "web", replicas: int = 3, image: str = "busybox:1", claims: bool = True, **spec) -> dict:
    labels = {"app": name}
    pod = template(labels, image)
    if claims:
        pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    body = {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": labels}, "template": pod, **spec}
    if claims:
        body["volumeClaimTemplates"] = [CLAIM]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name}, "spec": body}


def apply(cluster, ns: str, obj: dict) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(obj))


def live(pods: dict) -> dict:
    return {n: p for n, p in pods.items() if not p["metadata"].get("deletionTimestamp")}


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions", []))


def all_ready(*names: str):
    """A predicate: exactly these live pods, all Ready."""
    return lambda pods: sorted(live(pods)) == sorted(names) and all(ready(p) for p in live(pods).values()) and pods


def image(pod: dict) -> str:
    return pod["spec"]["containers"][0]["image"]


def going_order(harness, ns: str) -> list[str]:
    """The names of the namespace's pods in the order their deletion began, from now on (filled as it happens)."""
    order: list[str] = []
    listing = harness.call(harness.client.raw.list("pods", ns))

    async def follow() -> None:
        async for event in harness.client.raw.watch("pods", ns, resource_version=listing.resource_version):
            going = event.type == "DELETED" or event.object["metadata"].get("deletionTimestamp")
            if going and event.name not in order:
                order.append(event.name)

    harness.spawn(follow())
    return order


def status_of(harness, ns: str, name: str = "web") -> dict:
    return harness.get("statefulsets", ns, name)["status"]


def test_the_python_clients_calls_and_the_scale_subresource(cluster, harness, k8s):
    ns = cluster.namespace("sts-client")
    harness.kubelet(ns)
    api = apps(k8s)
    name = "nginx-" + uuid.uuid4().hex[:8]
    api.create_namespaced_stateful_set(ns, body=statefulset(name, replicas=1, claims=False))
    resp = api.read_namespaced_stateful_set(name, ns)
    assert resp.spec.pod_management_policy == "OrderedReady" and resp.spec.update_strategy.rolling_update.partition == 0
    assert resp.spec.persistent_volume_claim_retention_policy.when_deleted == "Retain"
    harness.wait("statefulsets", ns, lambda o: o[name]["status"].get("readyReplicas") == 1, what="1 ready")
    status = api.read_namespaced_stateful_set_status(name, ns).status
    assert (status.replicas, status.ready_replicas, status.current_revision == status.update_revision) == (1, 1, True)
    api.patch_namespaced_stateful_set_scale(name, ns, {"spec": {"replicas": 2}})
    scale = api.read_namespaced_stateful_set_scale(name, ns)
    assert (scale.spec.replicas, scale.status.selector) == (2, f"app={name}")
    harness.wait("pods", ns, all_ready(f"{name}-0", f"{name}-1"), what="scaled to 2")
    assert name in [s.metadata.name for s in api.list_namespaced_stateful_set(ns).items]
    api.delete_namespaced_stateful_set(name, ns, body=kubernetes.client.V1DeleteOptions())
    harness.wait("pods", ns, lambda o: not o, what="pods deleted with the set")


def test_ordered_start_stable_identity_and_a_claim_per_ordinal(cluster, harness):
    ns = cluster.namespace("sts-ordered")
    kubelet = harness.kubelet(ns, ready_after=0.3)
    apply(cluster, ns, statefulset())
    pods = harness.wait("pods", ns, all_ready("web-0", "web-1", "web-2"), timeout=20, what="3 Ready pods")
    order = [(t, p["metadata"]["name"]) for t, p in kubelet.started]
    assert [n for _, n in order] == ["web-0", "web-1", "web-2"]
    assert all(b - a >= 0.3 for (a, _), (b, _) in zip(order, order[1:]))  # each after the previous was Ready
    claims = {c["metadata"]["name"]: c for c in json.loads(cluster.kubectl(
        "get", "pvc", "-n", ns, "-o", "json").stdout)["items"]}
    assert sorted(claims) == ["data-web-0", "data-web-1", "data-web-2"]
    for i in range(3):
        p, claim = pods[f"web-{i}"], claims[f"data-web-{i}"]
        assert (p["spec"]["hostname"], p["spec"]["subdomain"]) == (f"web-{i}", "web")
        labels = p["metadata"]["labels"]
        assert (labels["statefulset.kubernetes.io/pod-name"], labels["apps.kubernetes.io/pod-index"]) == (
            f"web-{i}", str(i))
        assert p["spec"]["volumes"][0] == {"name": "data", "persistentVolumeClaim": {"claimName": f"data-web-{i}"}}
        assert int(claim["metadata"]["resourceVersion"]) < int(p["metadata"]["resourceVersion"])  # claim first
        assert claim["metadata"]["labels"] == {"app": "web"} and not claim["metadata"].get("ownerReferences")
    sts = harness.wait("statefulsets", ns, lambda o: o["web"]["status"].get("availableReplicas") == 3 and o["web"])
    s = sts["status"]
    assert (s["replicas"], s["readyReplicas"], s["currentReplicas"], s["updatedReplicas"], s["observedGeneration"]) \
        == (3, 3, 3, 3, 1)
    assert s["currentRevision"] == s["updateRevision"] == labels[HASH] and s["collisionCount"] == 0
    header, row = cluster.kubectl("get", "sts", "-n", ns).stdout.splitlines()
    assert header.split() == ["NAME", "READY", "AGE"] and row.split()[:2] == ["web", "3/3"]
    wide = cluster.kubectl("get", "sts", "-n", ns, "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"] and wide[1].split()[3:] == [
        "c", "busybox:1"]
    assert "statefulset.apps/web" in cluster.kubectl("get", "all", "-n", ns).stdout
    described = cluster.kubectl("describe", "sts", "web", "-n", ns).stdout
    assert "create Claim data-web-0 Pod web-0 in StatefulSet web success" in described
    assert "create Pod web-2 in StatefulSet web successful" in described


def test_scale_down_in_reverse_order_keeps_claims_and_scale_up_reuses_them(cluster, harness):
    ns = cluster.namespace("sts-scale")
    harness.kubelet(ns, ready_after=0.2)
    apply(cluster, ns, statefulset(replicas=4))
    harness.wait("pods", ns, all_ready("web-0", "web-1", "web-2", "web-3"), timeout=20, what="4 Ready pods")
    uids = {c["metadata"]["name"]: c["metadata"]["uid"] for c in json.loads(cluster.kubectl(
        "get", "pvc", "-n", ns, "-o", "json").stdout)["items"]}
    deleted = going_order(harness, ns)
    cluster.kubectl("scale", "sts/web", "-n", ns, "--replicas=1")
    harness.wait("pods", ns, lambda o: sorted(o) == ["web-0"], timeout=20, what="scaled down to web-0")
    eventually(lambda: len(deleted) == 3, 10, 0.05, "three deletions seen")
    assert deleted == ["web-3", "web-2", "web-1"]  # highest first (one at a time: see the core's tests)
    after = {c["metadata"]["name"]: c["metadata"]["uid"] for c in json.loads(cluster.kubectl(
        "get", "pvc", "-n", ns, "-o", "json").stdout)["items"]}
    assert after == uids  # Retain: every claim stays
    cluster.kubectl("scale", "sts/web", "-n", ns, "--replicas=3")
    harness.wait("pods", ns, all_ready("web-0", "web-1", "web-2"), timeout=20, what="back to 3")
    again = {c["metadata"]["name"]: c["metadata"]["uid"] for c in json.loads(cluster.kubectl(
        "get", "pvc", "-n", ns, "-o", "json").stdout)["items"]}
    assert again == uids  # the same claims, none made anew


def test_rolling_update_from_the_highest_ordinal_history_undo_and_rollout_status(cluster, harness, k8s):
    ns = cluster.namespace("sts-roll")
    kubelet = harness.kubelet(ns, ready_after=0.3)
    apply(cluster, ns, statefulset(claims=False))
    first = harness.wait("pods", ns, all_ready("web-0", "web-1", "web-2"), timeout=20, what="3 Ready pods")
    old_rev = first["web-0"]["metadata"]["labels"][HASH]
    out = cluster.kubectl("rollout", "status", "-n", ns, "sts/web", "--timeout=20s", timeout=30).stdout
    assert "partitioned roll out complete: 3 new pods have been updated" in out
    kubelet.start_tracking()
    started = len(kubelet.started)
    cluster.kubectl("set", "image", "-n", ns, "sts/web", "c=busybox:2")
    cluster.kubectl("rollout", "status", "-n", ns, "sts/web", "--timeout=30s", timeout=40)
    pods = harness.wait("pods", ns, lambda o: all_ready("web-0", "web-1", "web-2")(o) and all(
        image(p) == "busybox:2" for p in o.values()) and o, timeout=20, what="every pod on busybox:2")
    assert [p["metadata"]["name"] for _, p in kubelet.started[started:]] == ["web-2", "web-1", "web-0"]
    assert kubelet.min_ready >= 2  # one pod at a time
    new_rev = pods["web-0"]["metadata"]["labels"][HASH]
    s = harness.wait("statefulsets", ns, lambda o: o["web"]["status"].get("currentRevision") == new_rev
                     and o["web"]["status"], what="the update revision current")
    assert (s["updateRevision"], s["currentReplicas"], s["updatedReplicas"]) == (new_rev, 3, 3)
    assert new_rev != old_rev and new_rev.startswith("web-")

    history = cluster.kubectl("rollout", "history", "-n", ns, "sts/web").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    assert "busybox:1" in cluster.kubectl("rollout", "history", "-n", ns, "sts/web", "--revision=1").stdout
    assert "rolled back" in cluster.kubectl("rollout", "undo", "-n", ns, "sts/web").stdout
    cluster.kubectl("rollout", "status", "-n", ns, "sts/web", "--timeout=30s", timeout=40)
    harness.wait("pods", ns, lambda o: all_ready("web-0", "web-1", "web-2")(o) and all(
        p["metadata"]["labels"][HASH] == old_rev for p in o.values()), timeout=20, what="the first revision back")
    revisions = {r.metadata.name: r.revision for r in apps(k8s).list_namespaced_controller_revision(ns).items}
    assert revisions == {old_rev: 3, new_rev: 2}  # the old revision renumbered above the others
    assert harness.wait("statefulsets", ns, lambda o: o["web"]["status"].get("currentRevision") == old_rev)


def test_a_partition_updates_only_the_ordinals_at_or_above_it(cluster, harness):
    ns = cluster.namespace("sts-partition")
    harness.kubelet(ns)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    apply(cluster, ns, statefulset(claims=False, updateStrategy=strategy))
    harness.wait("pods", ns, all_ready("web-0", "web-1", "web-2"), what="3 Ready pods")
    apply(cluster, ns, statefulset(claims=False, image="busybox:2", updateStrategy=strategy))
    out = cluster.kubectl("rollout", "status", "-n", ns, "sts/web", "--timeout=20s", timeout=30).stdout
    assert "partitioned roll out complete: 1 new pods have been updated" in out
    pods = harness.wait("pods", ns, lambda o: all_ready("web-0", "web-1", "web-2")(o) and image(o["web-2"]) ==
                        "busybox:2" and o, what="web-2 updated")
    assert (image(pods["web-0"]), image(pods["web-1"])) == ("busybox:1", "busybox:1")
    s = status_of(harness, ns)
    assert s["currentRevision"] != s["updateRevision"] and (s["currentReplicas"], s["updatedReplicas"]) == (2, 1)
    cluster.kubectl("delete", "pod", "web-0", "-n", ns)  # below the partition: comes back as it was
    back = harness.wait("pods", ns, lambda o: all_ready("web-0", "web-1", "web-2")(o) and
                        o["web-0"]["metadata"]["uid"] != pods["web-0"]["metadata"]["uid"] and o, what="web-0 again")
    assert image(back["web-0"]) == "busybox:1"


def test_on_delete_replaces_only_deleted_pods_and_parallel_starts_all_at_once(cluster, harness):
    ns = cluster.namespace("sts-ondelete")
    harness.kubelet(ns, never_ready=lambda pod: True)
    apply(cluster, ns, statefulset(claims=False, podManagementPolicy="Parallel",
                                   updateStrategy={"type": "OnDelete"}))
    before = harness.wait("pods", ns, lambda o: sorted(o) == ["web-0", "web-1", "web-2"] and o,
                          what="3 pods though none is Ready")
    apply(cluster, ns, statefulset(claims=False, image="busybox:2", podManagementPolicy="Parallel",
                                   updateStrategy={"type": "OnDelete"}))
    harness.wait("statefulsets", ns, lambda o: o["web"]["status"].get("observedGeneration") == 2
                 and o["web"]["status"]["updatedReplicas"] == 0, what="the new template seen, no pod updated")
    cluster.kubectl("delete", "pod", "web-1", "-n", ns)
    after = harness.wait("pods", ns, lambda o: "web-1" in o and o["web-1"]["metadata"]["uid"] !=
                         before["web-1"]["metadata"]["uid"] and o, what="web-1 made again")
    assert [image(after[n]) for n in ("web-0", "web-1", "web-2")] == ["busybox:1", "busybox:2", "busybox:1"]


def test_a_failed_pod_is_made_again(cluster, harness):
    ns = cluster.namespace("sts-failed")
    failed_once: set[str] = set()

    def outcome(pod: dict) -> str | None:
        name = pod["metadata"]["name"]
        if name == "web-0" and name not in failed_once:
            failed_once.add(name)
            return "Failed"
        return None

    harness.kubelet(ns, outcome=outcome)
    apply(cluster, ns, statefulset(replicas=2, claims=False))
    harness.wait("pods", ns, all_ready("web-0", "web-1"), what="web-0 made again, then web-1")
    events = cluster.kubectl("get", "events", "-n", ns).stdout
    assert "StatefulSet sts-failed/web is recreating failed Pod web-0" in events


def test_the_retention_policy_deletes_claims_on_scale_down_and_with_the_set(cluster, harness):
    ns = cluster.namespace("sts-retention")
    harness.kubelet(ns)
    policy = {"whenDeleted": "Delete", "whenScaled": "Delete"}
    apply(cluster, ns, statefulset(persistentVolumeClaimRetentionPolicy=policy))
    harness.wait("pods", ns, all_ready("web-0", "web-1", "web-2"), what="3 Ready pods")
    claim = harness.get("persistentvolumeclaims", ns, "data-web-0")
    uid = harness.get("statefulsets", ns, "web")["metadata"]["uid"]
    assert claim["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                                                     "uid": uid}]
    cluster.kubectl("scale", "sts/web", "-n", ns, "--replicas=1")
    harness.wait("persistentvolumeclaims", ns, lambda o: sorted(o) == ["data-web-0"], timeout=20,
                 what="the scaled-down pods' claims deleted")
    cluster.kubectl("delete", "sts", "web", "-n", ns)
    harness.wait("persistentvolumeclaims", ns, lambda o: not o, timeout=20, what="the last claim deleted with the set")

    ns2 = cluster.namespace("sts-retain")
    harness.kubelet(ns2)
    apply(cluster, ns2, statefulset(replicas=2))
    harness.wait("pods", ns2, all_ready("web-0", "web-1"), what="2 Ready pods")
    cluster.kubectl("delete", "sts", "web", "-n", ns2)
    harness.wait("pods", ns2, lambda o: not o, what="pods gone with the set")
    claims = json.loads(cluster.kubectl("get", "pvc", "-n", ns2, "-o", "json").stdout)["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["data-web-0", "data-web-1"]  # Retain: they stay


def test_orphans_are_adopted_and_strangers_with_the_labels_are_left_alone(cluster, harness):
    ns = cluster.namespace("sts-adopt")
    harness.kubelet(ns)
    apply(cluster, ns, statefulset(replicas=2, claims=False))
    before = harness.wait("pods", ns, all_ready("web-0", "web-1"), what="2 Ready pods")
    cluster.kubectl("delete", "sts", "web", "-n", ns, "--cascade=orphan")
    harness.wait("pods", ns, lambda o: len(o) == 2 and all(not p["metadata"].get("ownerReferences")
                                                           for p in o.values()), what="orphans")
    stranger = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-extra", "labels": {"app": "web"}},
                "spec": template({"app": "web"})["spec"]}
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(stranger))
    apply(cluster, ns, statefulset(replicas=2, claims=False))
    adopted = harness.wait("pods", ns, lambda o: all(o[n]["metadata"].get("ownerReferences") for n in ("web-0", "web-1"))
                           and o, what="the orphans adopted")
    assert {n: adopted[n]["metadata"]["uid"] for n in ("web-0", "web-1")} == {
        n: before[n]["metadata"]["uid"] for n in ("web-0", "web-1")}  # the same pods, none made anew
    assert not adopted["web-extra"]["metadata"].get("ownerReferences")  # not named web-<n>: not the set's
