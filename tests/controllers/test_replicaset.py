"""ReplicaSet: the pure core on data, then the controller against a real API server with kubectl."""

import json

from kubelet_double import template

from portside.api.models import Pod, ReplicaSet
from portside.controllers import expectations, scaling
from portside.controllers.expectations import Expectations
from portside.controllers.pods import Written, deletion_rank

OWNER = ReplicaSet.from_dict({"metadata": {"uid": "rs-uid", "name": "web"},
                              "spec": {"selector": {"matchLabels": {"app": "web"}}}})


def pod(name, labels=None, owner=None, phase="Running", ready=True, node="n1", created="2024-01-01T00:00:00Z",
        ready_at="2024-01-01T00:00:10Z"):
    meta = {"name": name, "labels": labels or {"app": "web"}, "creationTimestamp": created}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "controller": True, "kind": "ReplicaSet", "name": "x"}]
    status = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                              "lastTransitionTime": ready_at}]}
    return Pod.from_dict({"metadata": meta, "spec": {"nodeName": node} if node else {}, "status": status})


def test_claim_adopts_matching_orphans_and_releases_mismatches():
    pods = [pod("mine", owner="rs-uid"), pod("orphan"), pod("theirs", owner="other"),
            pod("strayed", labels={"app": "db"}, owner="rs-uid"), pod("stranger", labels={"app": "db"})]
    got = scaling.claim(OWNER, pods)
    assert [p.metadata.name for p in got.owned] == ["mine"]
    assert [p.metadata.name for p in got.adopt] == ["orphan"]
    assert [p.metadata.name for p in got.release] == ["strayed"]


def test_terminating_owner_adopts_nothing():
    owner = ReplicaSet.from_dict(OWNER.to_dict())
    owner.metadata.deletion_timestamp = "2024-01-01T00:00:00Z"
    assert scaling.claim(owner, [pod("orphan")]).adopt == []


def test_diff_counts_only_active_pods_and_deletes_most_deletable_first():
    pods = [pod("old-ready", created="2024-01-01T00:00:00Z"), pod("new-ready", created="2024-01-02T00:00:00Z"),
            pod("not-ready", ready=False), pod("unscheduled", phase="Pending", ready=False, node=None),
            pod("done", phase="Succeeded")]
    assert scaling.diff(6, pods).create == 2
    doomed = [p.metadata.name for p in scaling.diff(1, pods).delete]
    assert doomed == ["unscheduled", "not-ready", "new-ready"]


def test_deletion_rank_prefers_recently_ready_then_newest():
    early = pod("early", ready_at="2024-01-01T00:00:01Z")
    late = pod("late", ready_at="2024-01-01T00:05:00Z")
    assert sorted([early, late], key=deletion_rank)[0] is late


def test_slow_start_batches_double():
    assert scaling.slow_start(10) == [1, 2, 4, 3]
    assert scaling.slow_start(0) == []


def test_status_counts_ready_available_and_labels():
    rs = ReplicaSet.from_dict({"metadata": {"generation": 4}, "spec": {"minReadySeconds": 30, "template": {
        "metadata": {"labels": {"app": "web", "tier": "fe"}}}}})
    pods = [pod("a", labels={"app": "web", "tier": "fe"}, ready_at="2024-01-01T00:00:00Z"),
            pod("b", ready_at="2024-01-01T00:00:50Z"), pod("c", ready=False)]
    s = scaling.status(rs, pods, now=1704067260.0)  # 2024-01-01T00:01:00Z
    assert (s.replicas, s.fully_labeled_replicas, s.ready_replicas, s.available_replicas) == (3, 1, 2, 1)
    assert s.observed_generation == 4


def test_a_failed_create_shows_as_replica_failure_until_creates_succeed():
    rs = ReplicaSet.from_dict({"metadata": {}, "spec": {}, "status": {"conditions": [{"type": "Other",
                                                                                       "status": "True"}]}})
    failing = scaling.status(rs, [], now=0.0, failure='pods "web-x" is forbidden: exceeded quota')
    cond = failing.conditions[-1]
    assert (cond.type, cond.reason, cond.message) == ("ReplicaFailure", "FailedCreate",
                                                      'pods "web-x" is forbidden: exceeded quota')
    rs.status = failing
    healed = scaling.status(rs, [], now=0.0)
    assert [c.to_dict() for c in healed.conditions] == [{"type": "Other", "status": "True"}]
    cleared = scaling.status(ReplicaSet.from_dict({"metadata": {}, "spec": {}}), [], now=0.0)
    assert cleared.conditions is None and scaling.status_patch(cleared)["status"]["conditions"] is None


def test_expectations_hold_a_key_until_the_watch_shows_every_write(monkeypatch):
    e = Expectations()
    e.expect("ns/web", adds=2, deletes={"u1"})
    e.observed_add("ns/web")
    e.observed_delete("ns/web", "u1")
    assert not e.satisfied("ns/web")
    e.observed_add("ns/web")
    assert e.satisfied("ns/web") and e.satisfied("ns/other")
    e.expect("ns/web", adds=1)
    monkeypatch.setattr(expectations, "TTL_S", -1.0)  # a lost event does not block the key forever
    assert e.satisfied("ns/web")


def test_written_objects_win_over_an_older_cache_until_it_catches_up():
    w = Written()
    def at(revision):
        return Pod.from_dict({"metadata": {"resourceVersion": revision}})
    mine = w.keep("ns/j", at("12"))
    assert w.fresh("ns/j", at("10")) is mine
    newer = at("13")
    assert w.fresh("ns/j", newer) is newer
    assert w.fresh("ns/j", at("11")).metadata.resource_version == "11"


def replicaset(name, replicas, min_ready=0):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": {"app": name}}, "template": template({"app": name})}}


def apply(cluster, ns, obj):
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(obj))


def owned_pods(objs, uid):
    return [p for p in objs.values() if any(r.get("uid") == uid and r.get("controller")
                                            for r in p["metadata"].get("ownerReferences") or [])]


def test_scale_up_and_down_keeps_count_status_and_events(cluster, harness):
    ns = cluster.namespace("rs-scale")
    harness.kubelet(ns)
    apply(cluster, ns, replicaset("web", 3))
    rs = harness.wait("replicasets", ns, lambda o: o.get("web", {}).get("status", {}).get("availableReplicas") == 3
                      and o["web"], what="3 available")
    assert rs["status"]["readyReplicas"] == 3 and rs["status"]["observedGeneration"] == rs["metadata"]["generation"]
    uid = rs["metadata"]["uid"]
    first = harness.wait("pods", ns, lambda o: o)
    assert len(owned_pods(first, uid)) == 3
    victim = sorted(first)[0]
    cluster.kubectl("delete", "-n", ns, "pod", victim)
    after = harness.wait("pods", ns, lambda o: victim not in o and len(o) == 3 and o, what="a replacement pod")
    assert len(set(after) - set(first)) == 1
    cluster.kubectl("scale", "-n", ns, "rs/web", "--replicas=5")
    harness.wait("pods", ns, lambda o: len(owned_pods(o, uid)) == 5, what="5 pods")
    cluster.kubectl("scale", "-n", ns, "rs/web", "--replicas=1")
    harness.wait("pods", ns, lambda o: len(o) == 1, what="1 pod")
    harness.wait("replicasets", ns, lambda o: o["web"]["status"].get("replicas") == 1, what="status 1")
    described = cluster.kubectl("describe", "-n", ns, "rs", "web").stdout
    assert "SuccessfulCreate" in described and "SuccessfulDelete" in described and "Created pod: web-" in described


def test_adopts_orphans_and_releases_a_relabelled_pod(cluster, harness):
    ns = cluster.namespace("rs-adopt")
    for i in range(2):
        orphan = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"orphan-{i}", "labels": {"app": "web"}},
                  "spec": template({"app": "web"})["spec"]}
        apply(cluster, ns, orphan)
    apply(cluster, ns, replicaset("web", 3))
    uid = harness.wait("replicasets", ns, lambda o: o.get("web", {}).get("metadata", {}).get("uid"))
    pods = harness.wait("pods", ns, lambda o: len(owned_pods(o, uid)) == 3 and o, what="3 owned pods")
    assert {"orphan-0", "orphan-1"} <= set(pods) and len(pods) == 3
    assert all(p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet" for p in pods.values())
    cluster.kubectl("label", "-n", ns, "pod", "orphan-0", "app=elsewhere", "--overwrite")
    pods = harness.wait("pods", ns, lambda o: len(owned_pods(o, uid)) == 3 and len(o) == 4 and o,
                        what="a replacement for the released pod")
    assert not pods["orphan-0"]["metadata"].get("ownerReferences")


def test_scale_down_removes_unscheduled_then_not_ready_then_newest(cluster, harness):
    ns = cluster.namespace("rs-rank")
    kubelet = harness.kubelet(ns, ready_after=None)
    apply(cluster, ns, replicaset("web", 4))
    harness.wait("pods", ns, lambda o: len(o) == 4 and len(kubelet.started) == 4, what="4 pods")
    names = [p["metadata"]["name"] for _, p in kubelet.started]
    for name in names[:3]:
        harness.call(harness.client.bind(ns, name, "node-a"))
    for name in names[:2]:  # names[0] becomes Ready first, names[1] later: the later is the one to go
        harness.call(harness.client.patch("pods", name, {"status": {"conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": f"2030-01-01T00:00:0{names.index(name)}Z"}]}},
            ns, subresource="status"))
    harness.wait("replicasets", ns, lambda o: o["web"]["status"].get("readyReplicas") == 2, what="2 ready")
    cluster.kubectl("scale", "-n", ns, "rs/web", "--replicas=2")
    assert set(harness.wait("pods", ns, lambda o: len(o) == 2 and o)) == set(names[:2])
    cluster.kubectl("scale", "-n", ns, "rs/web", "--replicas=1")
    assert set(harness.wait("pods", ns, lambda o: len(o) == 1 and o)) == {names[0]}


def test_min_ready_seconds_delays_availability(cluster, harness):
    ns = cluster.namespace("rs-minready")
    harness.kubelet(ns)
    apply(cluster, ns, replicaset("web", 2, min_ready=2))
    early = harness.wait("replicasets", ns, lambda o: o.get("web", {}).get("status", {}).get("readyReplicas") == 2
                         and o["web"]["status"])
    assert early["availableReplicas"] == 0
    harness.wait("replicasets", ns, lambda o: o["web"]["status"].get("availableReplicas") == 2, timeout=6,
                 what="available after minReadySeconds")


def test_a_burst_creates_exactly_the_replicas(cluster, harness):
    ns = cluster.namespace("rs-burst")
    apply(cluster, ns, replicaset("web", 25))
    harness.wait("replicasets", ns, lambda o: o.get("web", {}).get("status", {}).get("replicas") == 25)
    cluster.kubectl("scale", "-n", ns, "rs/web", "--replicas=26")
    harness.wait("replicasets", ns, lambda o: o["web"]["status"].get("replicas") == 26)
    assert len(harness.wait("pods", ns, lambda o: o)) == 26
    events = json.loads(cluster.kubectl("get", "-n", ns, "events", "-o", "json").stdout)["items"]
    assert sum(e.get("count", 1) for e in events if e["reason"] == "SuccessfulCreate") == 26


def test_invalid_replicaset_is_refused_and_nothing_is_created(cluster, harness):
    ns = cluster.namespace("rs-invalid")
    bad = replicaset("web", 2)
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(bad), check=False)
    assert out.returncode != 0 and "selector" in out.stderr
    assert json.loads(cluster.kubectl("get", "-n", ns, "pods", "-o", "json").stdout)["items"] == []
