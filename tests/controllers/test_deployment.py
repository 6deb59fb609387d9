"""Deployment: rollout arithmetic on data, then rollouts against a real API server driven by stock kubectl."""

import json

import pytest
from kubelet_double import template

from portside.api.models import Deployment, DeploymentStatus, PodTemplateSpec, ReplicaSet
from portside.controllers import progress, proportion, rollout


def deploy_data(replicas=10, surge="25%", unavailable="25%", kind="RollingUpdate"):
    strategy = {"type": kind, "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    return Deployment.from_dict({"metadata": {"name": "web", "generation": 2}, "spec": {
        "replicas": replicas, "strategy": strategy, "template": {"metadata": {"labels": {"app": "web"}}}}})


def rs_data(name, replicas, available, created="2024-01-01T00:00:00Z", revision="1"):
    return ReplicaSet.from_dict({
        "metadata": {"name": name, "creationTimestamp": created, "annotations": {rollout.REVISION: revision}},
        "spec": {"replicas": replicas}, "status": {"replicas": replicas, "availableReplicas": available}})


@pytest.mark.parametrize("surge,unavailable,want", [
    ("25%", "25%", (3, 2)), (0, 0, (0, 1)), ("10%", 0, (1, 0)), (2, "50%", (2, 5)), ("0%", "0%", (0, 1))])
def test_bounds_round_surge_up_and_unavailability_down(surge, unavailable, want):
    assert rollout.bounds(deploy_data(10, surge, unavailable)) == want


def test_new_replica_set_grows_within_surge():
    d = deploy_data(4, 1, 1)
    old = rs_data("old", 4, 4)
    assert rollout.new_rs_size(d, None, [old]) == 1
    assert rollout.new_rs_size(d, rs_data("new", 1, 0), [old, rs_data("new", 1, 0)]) == 1  # total at 5 already
    assert rollout.new_rs_size(d, rs_data("new", 6, 0), []) == 4  # scaled down to the desired count


def test_old_replica_sets_shrink_keeping_minimum_available():
    d = deploy_data(4, 1, 1)
    new, old = rs_data("new", 1, 0), rs_data("old", 4, 4)
    assert rollout.old_rs_sizes(d, new, [old]) == {"old": 3}  # 5 pods, 3 must stay available
    assert rollout.old_rs_sizes(d, rs_data("new", 2, 0), [rs_data("old", 3, 3)]) == {}


def test_unavailable_old_pods_go_first():
    d = deploy_data(4, 1, 1)
    sizes = rollout.old_rs_sizes(d, rs_data("new", 1, 1), [rs_data("old", 4, 2)])
    assert sizes == {"old": 2}


def sized(rs, desired, maximum):
    rs.metadata.annotations.update({rollout.DESIRED: str(desired), rollout.MAX_REPLICAS: str(maximum)})
    return rs


def test_resizing_mid_rollout_scales_every_active_set_in_proportion():
    d = deploy_data(8, 1, 1)
    old = sized(rs_data("old", 3, 3, created="2024-01-01T00:00:00Z"), 4, 5)
    new = sized(rs_data("new", 2, 0, created="2024-01-02T00:00:00Z"), 4, 5)
    assert proportion.is_scaling_event(d, [old, new])
    assert proportion.proportional_sizes(d, new, [old]) == {"old": 5, "new": 4}
    shrunk = deploy_data(2, 1, 1)
    sizes = proportion.proportional_sizes(shrunk, new, [old])
    assert sum(sizes.values()) == 3 and sizes["old"] >= sizes["new"]


def test_a_single_active_set_takes_the_whole_count():
    d = deploy_data(6, 1, 1)
    assert proportion.proportional_sizes(d, rs_data("new", 4, 4), [rs_data("old", 0, 0)]) == {"new": 6}


def test_template_hash_is_stable_and_depends_on_template_and_collisions():
    wire = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "a"}]}}
    t = PodTemplateSpec.from_dict(wire)
    assert rollout.template_hash(t) == rollout.template_hash(PodTemplateSpec.from_dict(json.loads(json.dumps(wire))))
    assert rollout.template_hash(t) != rollout.template_hash(t, 1)
    assert set(rollout.template_hash(t)) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_reused_replica_set_moves_to_the_top_revision_and_takes_the_change_cause():
    d = deploy_data()
    d.metadata.annotations = {"kubernetes.io/change-cause": "undo", rollout.REVISION: "2"}
    back = rs_data("v1", 0, 0, revision="1")
    assert rollout.new_rs_annotations(d, back, [rs_data("v2", 2, 2, revision="2")]) == {
        rollout.REVISION: "3", rollout.REVISION_HISTORY: "1", "kubernetes.io/change-cause": "undo"}
    assert rollout.new_rs_annotations(d, rs_data("v2", 2, 2, revision="2"), [back]) == {
        "kubernetes.io/change-cause": "undo"}


def test_history_keeps_the_newest_empty_replica_sets():
    d = deploy_data()
    d.spec.revision_history_limit = 1
    old = [rs_data("r1", 0, 0, revision="1"), rs_data("r3", 0, 0, revision="3"), rs_data("r2", 0, 0, revision="2"),
           rs_data("busy", 2, 2, revision="4")]
    assert [r.metadata.name for r in rollout.history_to_delete(d, old)] == ["r1", "r2"]


def test_progress_deadline_turns_progressing_false():
    d = deploy_data(2)
    d.spec.progress_deadline_seconds = 5
    d.status = DeploymentStatus.from_dict({
        "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1, "conditions": [
            {"type": "Progressing", "status": "True", "reason": progress.UPDATED,
             "lastUpdateTime": "2024-01-01T00:00:00Z"}]})
    stalled = progress.status(d, rs_data("new", 1, 1), [rs_data("new", 1, 1), rs_data("old", 1, 0)], 1704067210.0)
    cond = next(c for c in stalled.conditions if c.type == "Progressing")
    assert (cond.status, cond.reason) == ("False", "ProgressDeadlineExceeded")


def deployment(name, replicas, image="web:v1", **spec):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": template({"app": name}, image=image), **spec}}


def apply(cluster, ns, obj):
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(obj))


def images(pods):
    return sorted(p["spec"]["containers"][0]["image"] for p in pods.values())


def rollout_status(cluster, ns, name, timeout="30s"):
    return cluster.kubectl("rollout", "status", "-n", ns, f"deploy/{name}", f"--timeout={timeout}", timeout=40)


def test_rolling_update_keeps_availability_then_undo_returns(cluster, harness):
    ns = cluster.namespace("deploy-rolling")
    kubelet = harness.kubelet(ns, ready_after=0.3)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    apply(cluster, ns, deployment("web", 4, strategy=strategy))
    assert "successfully rolled out" in rollout_status(cluster, ns, "web").stdout
    kubelet.start_tracking()
    cluster.kubectl("set", "image", "-n", ns, "deploy/web", "c=web:v2")
    assert "successfully rolled out" in rollout_status(cluster, ns, "web").stdout
    assert images(harness.wait("pods", ns, lambda o: len(o) == 4 and o)) == ["web:v2"] * 4
    assert kubelet.min_ready >= 3, f"availability fell to {kubelet.min_ready} of 4 (maxUnavailable 1)"
    sets = harness.wait("replicasets", ns, lambda o: len(o) == 2 and o)
    assert sorted(s["metadata"]["annotations"][rollout.REVISION] for s in sets.values()) == ["1", "2"]
    assert all(s["metadata"]["labels"][rollout.HASH_LABEL] in name for name, s in sets.items())
    cluster.kubectl("annotate", "-n", ns, "deploy/web", "kubernetes.io/change-cause=to v2")
    harness.wait("replicasets", ns, lambda o: any(s["metadata"]["annotations"].get("kubernetes.io/change-cause")
                                                  for s in o.values()), what="change-cause on the new set")
    history = cluster.kubectl("rollout", "history", "-n", ns, "deploy/web").stdout.splitlines()
    assert [line.split()[:3] for line in history[2:4]] == [["1", "<none>"], ["2", "to", "v2"]]

    kubelet.start_tracking()
    assert "rolled back" in cluster.kubectl("rollout", "undo", "-n", ns, "deploy/web").stdout
    assert "successfully rolled out" in rollout_status(cluster, ns, "web").stdout
    assert images(harness.wait("pods", ns, lambda o: len(o) == 4 and o)) == ["web:v1"] * 4
    assert kubelet.min_ready >= 3
    d = harness.get("deployments", ns, "web")
    assert d["metadata"]["annotations"][rollout.REVISION] == "3"
    assert d["status"]["updatedReplicas"] == 4 and d["status"]["availableReplicas"] == 4
    assert {c["type"]: c["status"] for c in d["status"]["conditions"]} == {"Available": "True", "Progressing": "True"}
    assert "ScalingReplicaSet" in cluster.kubectl("describe", "-n", ns, "deploy/web").stdout


def test_recreate_removes_every_old_pod_before_the_first_new_one(cluster, harness):
    ns = cluster.namespace("deploy-recreate")
    harness.kubelet(ns)
    apply(cluster, ns, deployment("web", 3, strategy={"type": "Recreate"}))
    rollout_status(cluster, ns, "web")
    seen_mixed = []
    cluster.kubectl("set", "image", "-n", ns, "deploy/web", "c=web:v2")

    def done(pods):
        if len(set(images(pods))) > 1:
            seen_mixed.append(images(pods))
        return images(pods) == ["web:v2"] * 3

    harness.wait("pods", ns, done, what="3 new pods")
    assert seen_mixed == []
    rollout_status(cluster, ns, "web")


def test_paused_deployment_scales_but_does_not_roll_until_resumed(cluster, harness):
    ns = cluster.namespace("deploy-pause")
    harness.kubelet(ns)
    apply(cluster, ns, deployment("web", 2))
    rollout_status(cluster, ns, "web")
    cluster.kubectl("rollout", "pause", "-n", ns, "deploy/web")
    cluster.kubectl("set", "image", "-n", ns, "deploy/web", "c=web:v2")
    cluster.kubectl("scale", "-n", ns, "deploy/web", "--replicas=3")
    harness.wait("deployments", ns, lambda o: o["web"]["status"].get("availableReplicas") == 3, what="scaled")
    assert len(harness.wait("replicasets", ns, lambda o: o)) == 1 and images(harness.wait("pods", ns, lambda o: o)) \
        == ["web:v1"] * 3
    reason = next(c["reason"] for c in harness.get("deployments", ns, "web")["status"]["conditions"]
                  if c["type"] == "Progressing")
    assert reason == "DeploymentPaused"
    cluster.kubectl("rollout", "resume", "-n", ns, "deploy/web")
    rollout_status(cluster, ns, "web")
    assert images(harness.wait("pods", ns, lambda o: len(o) == 3 and o)) == ["web:v2"] * 3


def test_min_ready_seconds_holds_availability_and_rollout_status(cluster, harness):
    ns = cluster.namespace("deploy-minready")
    harness.kubelet(ns)
    apply(cluster, ns, deployment("web", 2, minReadySeconds=2))
    early = harness.wait("deployments", ns, lambda o: o["web"].get("status", {}).get("readyReplicas") == 2
                         and o["web"]["status"], what="2 ready")
    assert early.get("availableReplicas", 0) == 0
    available = {c["type"]: c["status"] for c in early["conditions"]}["Available"]
    assert available == "False"
    assert "successfully rolled out" in rollout_status(cluster, ns, "web").stdout
    rs = next(iter(harness.wait("replicasets", ns, lambda o: o).values()))
    assert rs["spec"]["minReadySeconds"] == 2


def test_progress_deadline_exceeded_fails_rollout_status(cluster, harness):
    ns = cluster.namespace("deploy-deadline")
    harness.kubelet(ns, ready_after=None)
    apply(cluster, ns, deployment("web", 1, progressDeadlineSeconds=1))
    out = cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=20s", check=False, timeout=30)
    conditions = harness.get("deployments", ns, "web")["status"]["conditions"]
    assert out.returncode != 0 and "exceeded its progress deadline" in out.stderr, (out.stdout, out.stderr,
                                                                                     conditions)
    cond = next(c for c in conditions if c["type"] == "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")


def test_scaling_in_the_middle_of_a_rollout_is_proportional(cluster, harness):
    ns = cluster.namespace("deploy-proportional")
    harness.kubelet(ns, never_ready=lambda pod: pod["spec"]["containers"][0]["image"] == "web:v2")
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    apply(cluster, ns, deployment("web", 4, strategy=strategy))
    rollout_status(cluster, ns, "web")
    cluster.kubectl("set", "image", "-n", ns, "deploy/web", "c=web:v2")

    def by_image(objs):
        return {s["spec"]["template"]["spec"]["containers"][0]["image"]: s["spec"]["replicas"] for s in objs.values()}

    harness.wait("replicasets", ns, lambda o: by_image(o) == {"web:v1": 3, "web:v2": 2}, what="a stuck rollout")
    cluster.kubectl("scale", "-n", ns, "deploy/web", "--replicas=8")
    harness.wait("replicasets", ns, lambda o: by_image(o) == {"web:v1": 5, "web:v2": 4}, what="5 old + 4 new")
    harness.wait("pods", ns, lambda o: len(o) == 9, what="9 pods")


def test_history_limit_restart_and_scale_subresource(cluster, harness):
    ns = cluster.namespace("deploy-history")
    harness.kubelet(ns)
    apply(cluster, ns, deployment("web", 1, revisionHistoryLimit=1))
    rollout_status(cluster, ns, "web")
    for version in ("v2", "v3"):
        cluster.kubectl("set", "image", "-n", ns, "deploy/web", f"c=web:{version}")
        rollout_status(cluster, ns, "web")
    sets = harness.wait("replicasets", ns, lambda o: len(o) == 2 and o, what="history trimmed to 1 old set")
    assert sorted(s["metadata"]["annotations"][rollout.REVISION] for s in sets.values()) == ["2", "3"]
    cluster.kubectl("rollout", "restart", "-n", ns, "deploy/web")
    rollout_status(cluster, ns, "web")
    pods = harness.wait("pods", ns, lambda o: len(o) == 1 and o)
    assert "kubectl.kubernetes.io/restartedAt" in next(iter(pods.values()))["metadata"]["annotations"]
    cluster.kubectl("scale", "-n", ns, "deploy/web", "--replicas=3")
    rollout_status(cluster, ns, "web")
    new = harness.wait("replicasets", ns, lambda o: [s for s in o.values() if s["spec"]["replicas"] == 3])
    assert new[0]["metadata"]["annotations"][rollout.REVISION] == "4"
