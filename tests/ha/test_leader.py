"""Two ``portside up`` servers on one etcd: one leads (scheduler and controllers), both serve the API with the
same credentials, and the other takes over within the failover target when the leader is killed."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from support.wait import Watch, eventually

from portside.client.leaderelection import ElectionConfig, claim

from .conftest import identity_of, lease_holder, server

FAILOVER_TARGET_S = 5.0
LEADER_ONLY = ("garbage-collector", "scheduler", "workload-controllers", "node-ipam")


def deployment(name: str, replicas: int) -> str:
    labels = {"app": name}
    return json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                       "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                                "template": {"metadata": {"labels": labels},
                                             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})


def fake_node(name: str) -> str:
    """A Node no agent runs, so the scheduler has somewhere to bind."""
    cap = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                       "status": {"capacity": cap, "allocatable": cap,
                                  "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": now,
                                                  "lastTransitionTime": now, "reason": "KubeletReady"}]}})


def pods_of(app: str, want: int, bound: bool = False):
    def check(pods: dict) -> dict | None:
        mine = {n: p for n, p in pods.items() if (p["metadata"].get("labels") or {}).get("app") == app}
        if bound and not all(p["spec"].get("nodeName") for p in mine.values()):
            return None
        return mine if len(mine) == want else None
    return check


def started(cluster, component: str) -> bool:
    return f"starting {component}\n" in cluster.log()


def test_claim_counts_transitions_only_on_a_change_of_holder():
    first = claim(None, "a", 3, "t0")
    assert (first.holder_identity, first.acquire_time, first.lease_transitions) == ("a", "t0", 0)
    renewed = claim(first, "a", 3, "t1")
    assert (renewed.acquire_time, renewed.renew_time, renewed.lease_transitions) == ("t0", "t1", 0)
    taken = claim(renewed, "b", 3, "t2")
    assert (taken.holder_identity, taken.acquire_time, taken.lease_transitions) == ("b", "t2", 1)


@pytest.mark.parametrize("timings, word", [({"renew_deadline": 3, "lease_duration": 3}, "renew deadline"),
                                           ({"retry_period": 2, "renew_deadline": 2}, "retry period")])
def test_election_timings_that_could_let_two_lead_are_refused(timings, word):
    with pytest.raises(ValueError, match=word):
        ElectionConfig(identity="x", **timings)


def test_up_refuses_bad_leader_election_flags(tmp_path):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "portside", "up", "--data-dir", str(tmp_path), "--leader-elect",
                          "maybe"], capture_output=True, text=True)
    assert out.returncode == 2 and "--leader-elect: expected true or false, got 'maybe'" in out.stderr
    out = subprocess.run([sys.executable, "-m", "portside", "up", "--data-dir", str(tmp_path),
                          "--leader-elect-renew-deadline", "5"], capture_output=True, text=True)
    assert out.returncode == 2 and "must be shorter than the lease duration" in out.stderr


def test_one_of_two_servers_leads_and_both_serve_one_cluster(tmp_path, etcd_url):
    with server(tmp_path, "a", etcd_url) as a, server(tmp_path, "b", etcd_url) as b:
        assert identity_of(a) in lease_holder(a)
        # One cluster: the second server took the first one's CA, tokens and join token from the store.
        for name in ("pki/ca.crt", "pki/ca.key", "pki/tokens.json", "node-token"):
            assert (b.data_dir / name).read_bytes() == (a.data_dir / name).read_bytes(), name
        assert a.kubectl("get", "ns", "default", kubeconfig=b.kubeconfig).returncode == 0

        b.kubectl("apply", "-f", "-", input=fake_node("n1"))
        b.kubectl("apply", "-f", "-", input=deployment("web", 3))
        eventually(pods_of("web", 3, bound=True), 20, what="3 pods of web, bound",
                   watch=Watch(a.kubeconfig, "pods", "default"))
        replicasets = json.loads(b.kubectl("get", "rs", "-o", "json").stdout)["items"]
        pods = json.loads(b.kubectl("get", "pods", "-o", "json").stdout)["items"]
        assert len(replicasets) == 1 and len(pods) == 3  # no second controller made more
        assert all(started(a, c) for c in LEADER_ONLY)
        assert not any(started(b, c) for c in LEADER_ONLY), "a server that does not lead ran controllers"
        assert all(started(b, c) for c in ("apiserver", "leader-election"))
        events = b.kubectl("get", "events", "-n", "kube-system", "--field-selector", "reason=LeaderElection").stdout
        assert "became leader" in events


def test_the_other_server_leads_within_the_target_when_the_leader_is_killed(tmp_path, etcd_url):
    with server(tmp_path, "a", etcd_url) as a, server(tmp_path, "b", etcd_url) as b:
        assert identity_of(a) in lease_holder(b)
        b.kubectl("apply", "-f", "-", input=fake_node("n1"))
        killed = time.monotonic()
        a.kill()
        eventually(lambda: identity_of(b) in lease_holder(b), FAILOVER_TARGET_S, what="b holds the Lease")
        took = time.monotonic() - killed
        b.kubectl("apply", "-f", "-", input=deployment("after", 2))
        eventually(pods_of("after", 2, bound=True), 20, what="2 pods of the new Deployment, bound by b",
                   watch=Watch(b.kubeconfig, "pods", "default"))
        lease = json.loads(b.kubectl("get", "lease", "-n", "kube-system", "portside-controllers", "-o",
                                     "json").stdout)["spec"]
        assert lease["leaseTransitions"] == 1 and took < FAILOVER_TARGET_S
        assert all(started(b, c) for c in LEADER_ONLY)


def test_a_server_stopping_in_order_hands_over_at_once(tmp_path, etcd_url):
    """A released Lease (no holder) is taken at the next poll, not after a whole lease duration: the new holder
    stamps its acquireTime when it claims, within a second of the old one's end. (That stamp, not how soon kubectl
    sees the Lease change, is the measure: on a loaded machine each kubectl takes its time.)"""
    with server(tmp_path, "a", etcd_url) as a, server(tmp_path, "b", etcd_url) as b:
        assert identity_of(a) in lease_holder(b)
        assert a.stop() == 0
        stopped = dt.datetime.now(dt.UTC)
        assert "released kube-system/portside-controllers" in a.log()
        eventually(lambda: identity_of(b) in lease_holder(b), 10, what="b holds the Lease")
        lease = json.loads(b.kubectl("get", "lease", "-n", "kube-system", "portside-controllers", "-o", "json").stdout)
        acquired = dt.datetime.strptime(lease["spec"]["acquireTime"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert (acquired - stopped).total_seconds() < 1.0


def test_a_leader_that_sees_another_holder_stops_its_controllers_and_leads_again_later(tmp_path):
    """Leadership lost and regained in one process: the controllers stop, start again, and work."""
    from support.cluster import Cluster
    with Cluster(tmp_path / "one", extra=("--leader-elect", "true")) as c:
        patch = {"spec": {"holderIdentity": "intruder", "leaseDurationSeconds": 2}}
        c.kubectl("patch", "lease", "-n", "kube-system", "portside-controllers", "--type", "merge", "-p",
                  json.dumps(patch))
        eventually(lambda: "lost kube-system/portside-controllers" in c.log(), 5, what="leadership lost")
        eventually(lambda: c.log().count("starting workload-controllers") == 2, 10, what="controllers again")
        assert c.log().count("acquired kube-system/portside-controllers") == 2
        assert "intruder" not in lease_holder(c)
        c.kubectl("apply", "-f", "-", input=fake_node("n1"))
        c.kubectl("apply", "-f", "-", input=deployment("again", 2))
        eventually(pods_of("again", 2, bound=True), 20, what="2 pods of again, bound",
                   watch=Watch(c.kubeconfig, "pods", "default"))


def test_losing_the_etcd_member_the_servers_use_loses_no_acknowledged_write(tmp_path, etcd_cluster, etcd_url):
    with server(tmp_path, "a", etcd_url) as a, server(tmp_path, "b", etcd_url) as b:
        a.kubectl("create", "configmap", "acknowledged", "--from-literal=k=v")
        b.kubectl("apply", "-f", "-", input=fake_node("n1"))
        etcd_cluster.kill(0)  # the member both servers' store talks to first
        killed = time.monotonic()
        try:
            for s in (a, b):
                got = s.kubectl("get", "configmap", "acknowledged", "-o", "json", timeout=FAILOVER_TARGET_S + 5)
                assert json.loads(got.stdout)["data"] == {"k": "v"}
            assert time.monotonic() - killed < FAILOVER_TARGET_S  # both answered within the target
            b.kubectl("apply", "-f", "-", input=deployment("still", 2))
            eventually(pods_of("still", 2, bound=True), 20, what="2 pods of still, bound",
                       watch=Watch(b.kubeconfig, "pods", "default"))
        finally:
            etcd_cluster.start(0)
