"""The DaemonSet's decisions on data: which nodes run its pod (selector, affinity, taints against the daemon
tolerations), the pod a node gets, the manage step, RollingUpdate steps with maxUnavailable and with maxSurge,
the status counts, and the revision history."""

import datetime as dt

from portside.api.models import ControllerRevision, DaemonSet, Node, OwnerReference, Pod
from portside.controllers import daemons, history

NOW = 1_800_000_000.0
REF = OwnerReference(api_version="apps/v1", kind="DaemonSet", name="agent", uid="u1", controller=True)


def ds(node_selector=None, affinity=None, tolerations=None, strategy=None, min_ready=0, host_network=None):
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    for key, value in (("nodeSelector", node_selector), ("affinity", affinity), ("tolerations", tolerations),
                       ("hostNetwork", host_network)):
        if value is not None:
            spec[key] = value
    return DaemonSet.from_dict({"metadata": {"name": "agent", "namespace": "ns", "uid": "u1", "generation": 4},
                                "spec": {"selector": {"matchLabels": {"app": "agent"}}, "minReadySeconds": min_ready,
                                         "updateStrategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {
                                             "maxUnavailable": 1, "maxSurge": 0}},
                                         "template": {"metadata": {"labels": {"app": "agent"}}, "spec": spec}}})


def node(name, labels=None, taints=None, unschedulable=None):
    return Node.from_dict({"metadata": {"name": name, "labels": labels or {}},
                           "spec": {"taints": taints or [], "unschedulable": unschedulable}})


def pod(name, node_name, hash_="new", ready=True, phase="Running", created=0, deleting=False, bound=True,
        ready_since=NOW - 100):
    meta = {"name": name, "uid": name, "labels": {"app": "agent", daemons.HASH_LABEL: hash_},
            "creationTimestamp": f"2027-01-15T08:00:{created:02d}Z"}
    if deleting:
        meta["deletionTimestamp"] = "2027-01-15T09:00:00Z"
    spec = {"nodeName": node_name} if bound else {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}}}}
    since = dt.datetime.fromtimestamp(ready_since, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                              "lastTransitionTime": since}]}
    return Pod.from_dict({"metadata": meta, "spec": spec, "status": status})


def names(pods):
    return sorted(p.metadata.name for p in pods)


def test_selector_affinity_and_taints_decide_where_it_runs():
    d = ds(node_selector={"disk": "ssd"})
    assert daemons.should_run(d, node("a", {"disk": "ssd"})) == (True, True)
    assert daemons.should_run(d, node("b", {"disk": "hdd"})) == (False, False)
    dedicated = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    assert daemons.should_run(d, node("c", {"disk": "ssd"}, dedicated)) == (False, True)  # keep, don't add
    evicting = [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]
    assert daemons.should_run(d, node("d", {"disk": "ssd"}, evicting)) == (False, False)
    tolerant = ds(tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert daemons.should_run(tolerant, node("e", taints=evicting)) == (True, True)
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}}
    assert daemons.should_run(ds(affinity=affinity), node("f", {"zone": "b"}))[0]
    assert not daemons.should_run(ds(affinity=affinity), node("g", {"zone": "c"}))[0]


def test_daemon_pods_tolerate_unhealthy_and_cordoned_nodes():
    d = ds()
    for key, effect in (("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
                        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                        ("node.kubernetes.io/unschedulable", "NoSchedule")):
        assert daemons.should_run(d, node("n", taints=[{"key": key, "effect": effect}])) == (True, True), key
    network = [{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}]
    assert not daemons.should_run(d, node("n", taints=network))[0]
    assert daemons.should_run(ds(host_network=True), node("n", taints=network))[0]
    # a toleration of the same taint with seconds is replaced: the pod must stay for good
    timed = ds(tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300}, {"key": "gpu", "operator": "Exists"}])
    tolerations = daemons.daemon_tolerations(timed)
    unreachable = [t for t in tolerations if t.key == "node.kubernetes.io/unreachable"]
    assert len(unreachable) == 1 and unreachable[0].toleration_seconds is None
    assert any(t.key == "gpu" for t in tolerations)


def test_the_pod_for_a_node_requires_that_node_by_name():
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}]}},
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"x": "y"}}}]}}
    d = ds(affinity=affinity)
    p = daemons.pod_for(d, "node-7", "abc", REF).to_dict()
    assert p["metadata"]["generateName"] == "agent-" and p["metadata"]["ownerReferences"][0]["uid"] == "u1"
    assert p["metadata"]["labels"] == {"app": "agent", "controller-revision-hash": "abc"}
    terms = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                             "values": ["node-7"]}]}]}
    assert "podAntiAffinity" in p["spec"]["affinity"]  # the rest of the affinity is kept
    assert d.spec.template.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution \
        .node_selector_terms[0].match_expressions  # the template itself is untouched
    assert daemons.target_node(Pod.from_dict(p)) == "node-7"


def test_manage_creates_where_missing_and_deletes_what_should_not_be():
    d = ds(node_selector={"disk": "ssd"})
    nodes = [node("a", {"disk": "ssd"}), node("b", {"disk": "hdd"}), node("c", {"disk": "ssd"}),
             node("d", {"disk": "ssd"})]
    pods = daemons.by_node([pod("on-b", "b"), pod("c-old", "c", created=1), pod("c-new", "c", created=2),
                            pod("on-gone", "gone"), pod("d-failed", "d", phase="Failed"),
                            pod("d-leaving", "d", deleting=True)])
    plan = daemons.manage(d, nodes, pods, "new", NOW)
    assert plan.create == ["a"]
    assert names(plan.delete) == ["c-new", "d-failed", "on-b", "on-gone"]  # the oldest of two stays
    assert names(plan.failed) == ["d-failed"]
    held = daemons.manage(d, nodes, pods, "new", NOW, backing_off=frozenset({"d"}))
    assert held.held == ["d"] and "d-failed" not in names(held.delete)


def test_an_unscheduled_pod_counts_for_its_node():
    d = ds()
    pods = daemons.by_node([pod("p", "a", bound=False)])
    assert daemons.manage(d, [node("a")], pods, "new", NOW).create == []


def test_rolling_update_replaces_within_max_unavailable():
    d = ds(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}})
    nodes = [node(n) for n in "abcde"]
    pods = daemons.by_node([pod(f"old-{n}", n, hash_="old") for n in "abcd"] +
                           [pod("new-e", "e", ready=False)])
    plan = daemons.rolling_update(d, nodes, pods, "new", NOW)
    assert len(plan.delete) == 1 and not plan.create  # e's new pod is not available yet: one more may go
    broken = daemons.by_node([pod("old-a", "a", hash_="old", ready=False)] +
                             [pod(f"old-{n}", n, hash_="old") for n in "bcde"])
    plan = daemons.rolling_update(d, nodes, broken, "new", NOW)
    assert names(plan.delete)[0] == "old-a" and len(plan.delete) == 3  # the broken one does not count


def test_rolling_update_counts_a_missing_pod_as_unavailable():
    d = ds()  # maxUnavailable 1
    pods = daemons.by_node([pod("old-a", "a", hash_="old")])
    assert daemons.rolling_update(d, [node("a"), node("b")], pods, "new", NOW).delete == []


def test_min_ready_seconds_hold_a_new_pod_unavailable():
    d = ds(min_ready=30)
    pods = daemons.by_node([pod("new-a", "a", ready_since=NOW - 10), pod("old-b", "b", hash_="old")])
    assert daemons.rolling_update(d, [node("a"), node("b")], pods, "new", NOW).delete == []
    assert names(daemons.rolling_update(d, [node("a"), node("b")], pods, "new", NOW + 25).delete) == ["old-b"]


def test_surge_creates_alongside_then_deletes_the_old_once_the_new_is_available():
    d = ds(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
    nodes = [node(n) for n in "abc"]
    olds = [pod(f"old-{n}", n, hash_="old") for n in "abc"]
    plan = daemons.rolling_update(d, nodes, daemons.by_node(olds), "new", NOW)
    assert plan.create == ["a"] and plan.delete == []
    waiting = daemons.by_node(olds + [pod("new-a", "a", ready=False, created=5)])
    assert daemons.rolling_update(d, nodes, waiting, "new", NOW) == daemons.Plan()  # one surge at a time
    assert daemons.manage(d, nodes, waiting, "new", NOW) == daemons.Plan()  # both may stay meanwhile
    done = daemons.by_node(olds + [pod("new-a", "a", created=5)])
    plan = daemons.rolling_update(d, nodes, done, "new", NOW)
    assert names(plan.delete) == ["old-a"] and plan.create == ["b"]
    assert names(daemons.manage(d, nodes, done, "new", NOW).delete) == ["old-a"]


def test_status_counts_nodes_by_their_oldest_pod():
    d = ds(node_selector={"disk": "ssd"})
    nodes = [node("a", {"disk": "ssd"}), node("b", {"disk": "ssd"}), node("c", {"disk": "ssd"}), node("x")]
    pods = daemons.by_node([pod("a1", "a", hash_="old", created=1), pod("a2", "a", created=2),
                            pod("b1", "b", ready=False), pod("x1", "x")])
    status = daemons.status(d, nodes, pods, "new", NOW, observed=True)
    assert (status.desired_number_scheduled, status.current_number_scheduled, status.number_misscheduled,
            status.number_ready, status.number_available, status.number_unavailable,
            status.updated_number_scheduled, status.observed_generation) == (3, 2, 1, 1, 1, 2, 1, 4)
    assert daemons.status(d, nodes, pods, "new", NOW, observed=False).observed_generation is None


def test_revisions_match_templates_and_history_keeps_the_limit():
    d = ds()
    rev = history.new_revision("agent", "ns", d.spec.template, REF, 1, 0)
    assert rev.metadata.name == f"agent-{history.hash_of(rev)}"
    assert rev.metadata.labels["app"] == "agent" and rev.data["spec"]["template"]["$patch"] == "replace"
    assert history.matches(d.spec.template, rev)
    other = ds(node_selector={"disk": "ssd"})
    assert not history.matches(other.spec.template, rev)
    assert history.hash_of(history.new_revision("agent", "ns", d.spec.template, REF, 1, 1)) != history.hash_of(rev)
    revs = [ControllerRevision.from_dict({"metadata": {"name": f"r{i}", "labels": {"controller-revision-hash": f"h{i}"}},
                                          "revision": i, "data": {}}) for i in range(1, 6)]
    assert names(history.to_delete(revs, {"h1"}, 2)) == ["r2", "r3"]  # r1 still runs somewhere
    assert history.to_delete(revs, set(), None) == []
    current, dups, old = history.split(d.spec.template, [rev, ControllerRevision.from_dict(
        {**rev.to_dict(), "metadata": {"name": "dup"}, "revision": 0})] + revs)
    assert current is rev and [r.metadata.name for r in dups] == ["dup"] and len(old) == 5
