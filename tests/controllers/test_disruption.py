"""The disruption controller: budget arithmetic on data, then PodDisruptionBudget status on a real API server with
Deployments whose pods the kubelet double makes Ready, and evictions through the official Python client."""

import json

import kubernetes
import pytest
from kubelet_double import core, template
from support.cluster import only

from portside.api.models import Pod, PodDisruptionBudget
from portside.controllers import disruption

STAMP = "2024-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def up_flags() -> tuple[str, ...]:
    return only("garbage-collector", "workload-controllers", "disruption-controller")


def pdb_data(**spec):
    return PodDisruptionBudget.from_dict({"metadata": {"name": "b", "namespace": "ns", "generation": 1},
                                          "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}})


def pod_data(name, ready=True, owner="rs-uid", deleting=False, labels=None):
    meta = {"name": name, "namespace": "ns", "labels": labels or {"app": "web"}}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": owner,
                                    "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = STAMP
    return Pod.from_dict({"metadata": meta, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}})


def scale_of(sizes):
    return lambda pod: (pod.metadata.owner_references[0].uid, sizes[pod.metadata.owner_references[0].uid])


@pytest.mark.parametrize("spec,want", [
    ({"minAvailable": 2}, (3, 2)),  # an integer minAvailable expects the matched pods
    ({"minAvailable": "50%"}, (5, 3)),  # 50% of the scale 5, rounded up
    ({"maxUnavailable": 1}, (5, 4)),
    ({"maxUnavailable": "30%"}, (5, 3)),  # 1.5 unavailable rounds up to 2
    ({"maxUnavailable": "100%"}, (5, 0)),
    ({}, (0, 0)),
])
def test_expected_and_desired_follow_kubernetes(spec, want):
    pods = [pod_data("a"), pod_data("b"), pod_data("c", ready=False)]
    assert disruption.expected_and_desired(pdb_data(**spec), pods, scale_of({"rs-uid": 5})) == want


def test_scale_counts_each_controller_once_and_skips_bare_pods():
    pods = [pod_data("a"), pod_data("b"), pod_data("c", owner="other"), pod_data("bare", owner="")]
    assert disruption.expected_scale(pods, scale_of({"rs-uid": 3, "other": 2})) == 5
    with pytest.raises(disruption.NoScale, match='found no controllers for pod "a"'):
        disruption.expected_scale(pods, lambda pod: None)


def test_healthy_skips_unready_deleting_and_recently_evicted_pods():
    pods = [pod_data("a"), pod_data("b", ready=False), pod_data("c", deleting=True), pod_data("d"), pod_data("e")]
    pdb = PodDisruptionBudget.from_dict({**pdb_data().to_dict(), "status": {
        "disruptedPods": {"d": "2024-01-01T00:00:00Z", "e": "2024-01-01T00:10:00Z", "c": STAMP}}})
    now = disruption.seconds("2024-01-01T00:10:30Z")
    kept = disruption.still_disrupted(pdb, pods, now)
    assert kept == {"e": "2024-01-01T00:10:00Z"}  # d's two minutes are over; c is being deleted already
    assert disruption.healthy(pods, kept) == 2


def test_allowed_is_zero_while_nothing_is_expected_and_never_negative():
    assert disruption.Counts(expected=0, desired=0, healthy=3).allowed == 0
    assert disruption.Counts(expected=3, desired=4, healthy=3).allowed == 0
    assert disruption.Counts(expected=4, desired=2, healthy=3).allowed == 1


def test_condition_keeps_its_transition_time_while_status_holds():
    pdb = pdb_data(minAvailable=1)
    first = disruption.new_status(pdb, disruption.Counts(2, 1, 2), {}, "", STAMP)
    assert [(c.type, c.status, c.reason) for c in first.conditions] == [("DisruptionAllowed", "True", "SufficientPods")]
    again = disruption.new_status(PodDisruptionBudget(metadata=pdb.metadata, spec=pdb.spec, status=first),
                                  disruption.Counts(2, 1, 2), {}, "", "2024-02-01T00:00:00Z")
    assert again == first
    failed = disruption.new_status(pdb, None, {}, "found no controllers", STAMP)
    assert failed.disruptions_allowed == 0 and failed.conditions[0].reason == "SyncFailed"


# -- against a real API server ------------------------------------------------------------------------------------

def deployment(name, replicas, labels):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template(labels)}}


def budget(name, app, **spec):
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": app}}, **spec}}


def apply(cluster, ns, *objs):
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                    "items": list(objs)}))


def counts(pdb):
    s = pdb.get("status") or {}
    return (s.get("expectedPods"), s.get("desiredHealthy"), s.get("currentHealthy"), s.get("disruptionsAllowed"))


def ready_pods(pods, app):
    return [p for p in pods.values() if p["metadata"]["labels"].get("app") == app and not p["metadata"].get(
        "deletionTimestamp") and any(c["type"] == "Ready" and c["status"] == "True"
                                     for c in (p.get("status") or {}).get("conditions") or [])]


def test_status_follows_min_available_max_unavailable_and_percentages(cluster, harness):
    ns = cluster.namespace("disruption-status")
    harness.kubelet(ns)
    apply(cluster, ns, deployment("web", 4, {"app": "web"}),
          budget("min", "web", minAvailable=3), budget("max", "web", maxUnavailable="50%"),
          budget("pct", "web", minAvailable="60%"))
    want = {"min": (4, 3, 4, 1), "max": (4, 2, 4, 2), "pct": (4, 3, 4, 1)}
    got = harness.wait("poddisruptionbudgets", ns, lambda o: all(
        counts(o.get(k, {})) == v for k, v in want.items()) and o, what=f"budgets at {want}")
    condition = got["max"]["status"]["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == ("DisruptionAllowed", "True",
                                                                               "SufficientPods")
    assert got["max"]["status"]["observedGeneration"] == got["max"]["metadata"]["generation"]
    table = cluster.kubectl("get", "pdb", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert table[1].split()[:4] == ["max", "N/A", "50%", "2"]

    cluster.kubectl("scale", "-n", ns, "deployment/web", "--replicas=2")
    want = {"min": (2, 3, 2, 0), "max": (2, 1, 2, 1), "pct": (2, 2, 2, 0)}
    got = harness.wait("poddisruptionbudgets", ns, lambda o: all(
        counts(o.get(k, {})) == v for k, v in want.items()) and o, what=f"budgets at {want} after scaling down")
    condition = got["min"]["status"]["conditions"][0]
    assert (condition["status"], condition["reason"]) == ("False", "InsufficientPods")


def test_eviction_spends_the_budget_and_then_answers_429(cluster, harness, k8s):
    ns = cluster.namespace("disruption-evict")
    harness.kubelet(ns)
    apply(cluster, ns, deployment("db", 3, {"app": "db"}), budget("db", "db", maxUnavailable=1))
    harness.wait("poddisruptionbudgets", ns, lambda o: counts(o.get("db", {})) == (3, 2, 3, 1), what="1 allowed")
    pods = harness.wait("pods", ns, lambda o: len(ready_pods(o, "db")) == 3 and o)
    first, second = sorted(pods)[:2]
    evict = lambda name: core(k8s).create_namespaced_pod_eviction(  # noqa: E731
        name, ns, kubernetes.client.V1Eviction(metadata=kubernetes.client.V1ObjectMeta(name=name, namespace=ns)))
    evict(first)
    with pytest.raises(kubernetes.client.ApiException) as refused:
        evict(second)
    assert refused.value.status == 429
    body = json.loads(refused.value.body)
    assert body["reason"] == "TooManyRequests"
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"][0]["reason"] == "DisruptionBudget"
    # the ReplicaSet replaces the evicted pod, the double makes it Ready, and the budget allows one again
    harness.wait("poddisruptionbudgets", ns, lambda o: counts(o["db"]) == (3, 2, 3, 1) and not (
        o["db"]["status"].get("disruptedPods")), timeout=30, what="the budget restored")
    evict(second)
    harness.wait("pods", ns, lambda o: second not in o or o[second]["metadata"].get("deletionTimestamp"))


def test_a_statefulsets_replicas_are_the_scale_of_its_pods(cluster, harness):
    ns = cluster.namespace("disruption-sts")
    harness.kubelet(ns)
    labels = {"app": "db"}
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"replicas": 3, "serviceName": "db", "podManagementPolicy": "Parallel",
                    "selector": {"matchLabels": labels}, "template": template(labels)}}
    apply(cluster, ns, sts, budget("db", "db", maxUnavailable="34%"))
    harness.wait("poddisruptionbudgets", ns, lambda o: counts(o.get("db", {})) == (3, 1, 3, 2),
                 what="34% of the StatefulSet's 3 replicas (2) may be unavailable")
