"""Chaos: three agent hosts and a server run the seed example (examples/seed) scaled to six replicas, two per host
with the default spreading score, while a client on one host asks the Service's ClusterIP again and again (a new
connection each time, 0.5 s timeout). One host is lost: its agent and every process of its containers killed
(power gone), or its link cut. Six replicas are Ready again on the two survivors, and the client fails only in
the detection window: from the loss until the client's own node routes no more to the lost pods (the grace after
which the node is Unknown and its pods NotReady, the Endpoints' change, the client host's proxy following it),
plus one request's timeout. Each test prints how many requests failed and over what span.

Then the host comes back (the agent restarted, the link up) and nothing is lost or duplicated: exactly six pods
of the one ReplicaSet, all Ready, the four that never left untouched; across the three hosts' engine roots each
pod's container runs exactly once, on the pod's node, and nothing of the replaced pods is left.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from support.chaos import ClientLoop, engine_containers, kill_host, three_hosts
from support.wait import Watch, eventually

from tests.join.conftest import ip
from tests.join.test_node_loss import node_ready, ready

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]  # may wait for the shared Python bootstrap
REPO = Path(__file__).resolve().parents[2]
NS = "chaos"
REPLICAS = 6
GRACE_S, TOLERATION_S = 5, 10  # portside up's defaults: node monitor grace, default NoExecute toleration
SLACK_S = 10  # a busy 2-core CI machine
REQUEST_TIMEOUT_S = 2.0  # a healthy pod answers well within it even on a loaded 2-core machine (0.5 s did not, once)
PROXY_MARGIN_S = REQUEST_TIMEOUT_S + 0.1  # after the client host's proxy dropped the lost pods: a request then in flight
RECOVERY_TARGET_S = 20


@pytest.fixture
def seeded(tmp_path, busybox_rootfs_tar, seed_archive, needs_root):
    with three_hosts(tmp_path, busybox_rootfs_tar, (seed_archive,)) as nodes:
        nodes.cluster.namespace(NS)
        nodes.cluster.kubectl("apply", "-n", NS, "-f", str(REPO / "examples/seed/deployment.yaml"), "-f",
                              str(REPO / "examples/seed/service.yaml"))
        nodes.cluster.kubectl("scale", "-n", NS, "deployment/my-app", f"--replicas={REPLICAS}")
        yield nodes


def live_pods(nodes, check, timeout: float, what: str) -> dict:
    """Wait until ``check(live pods by name)`` holds (pods being deleted left out) on a watch of the seed's pods."""
    def live(pods: dict):
        pods = {n: p for n, p in pods.items() if not p["metadata"].get("deletionTimestamp")}
        return pods if check(pods) else None
    return eventually(live, timeout, what=what, watch=Watch(nodes.cluster.kubeconfig, "pods", NS, "app=my-app"))


def all_ready(nodes, on: set[str], timeout: float) -> dict:
    return live_pods(nodes, lambda pods: len(pods) == REPLICAS and all(
        ready(p) and p["spec"].get("nodeName") in on for p in pods.values()), timeout,
        f"{REPLICAS} seed replicas Ready on {sorted(on)}")


def endpoints(nodes, want) -> float:
    """When the Service's Endpoints first satisfy ``want(ips)`` (time.monotonic())."""
    def check(objs: dict):
        subsets = (objs.get("my-app") or {}).get("subsets") or []
        return want({a["ip"] for s in subsets for a in s.get("addresses") or []})
    eventually(check, 60, what="the Service's endpoints", watch=Watch(nodes.cluster.kubeconfig, "endpoints", NS))
    return time.monotonic()


def start(nodes) -> tuple[dict, ClientLoop]:
    """The six replicas spread two per host; a client on the last host that every replica has answered."""
    names = {a.name for a in nodes.agents}
    pods = all_ready(nodes, names, 180)
    spread = Counter(p["spec"]["nodeName"] for p in pods.values())
    assert spread == {name: REPLICAS // len(names) for name in names}, f"the default score did not spread: {spread}"
    endpoints(nodes, lambda ips: ips == {p["status"]["podIP"] for p in pods.values()})
    svc = json.loads(nodes.cluster.kubectl("get", "service", "my-app", "-n", NS, "-o", "json").stdout)
    client = ClientLoop(nodes.agents[-1].netns, svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["port"],
                        timeout=REQUEST_TIMEOUT_S)
    try:
        eventually(lambda: {f"Hello from {n}" for n in pods} <= {r.what for r in client.successes()}, 60,
                   what="answers from every replica through the Service")
    except BaseException:
        client.stop()
        raise
    return pods, client


def lost(nodes, client: ClientLoop, victim, pods: dict, lost_at: float) -> tuple[dict, float]:
    """The lost host's pods leave the Endpoints within the grace and are replaced on the survivors; returns the
    new live pods and when the client host's proxy dropped the lost pods."""
    gone = {p["status"]["podIP"] for p in pods.values() if p["spec"]["nodeName"] == victim.name}
    node_ready(nodes.cluster, victim.name, "Unknown", GRACE_S + SLACK_S)
    dropped = endpoints(nodes, lambda ips: ips and not ips & gone)
    # the window ends when the client's own node routes no more to the lost pods: its proxy follows the
    # Endpoints, slower on a loaded machine than a fixed margin allows
    client_host = nodes.agents[-1].netns
    eventually(lambda: not any(i in proxy_rules(client_host) for i in gone), 30, 0.1,
               what="the client host's proxy to drop the lost pods")
    followed = time.monotonic()
    print(f"\nthe client host's proxy followed {followed - dropped:.1f} s after the Endpoints")
    survivors = {a.name for a in nodes.agents if a is not victim}
    now = all_ready(nodes, survivors, TOLERATION_S + GRACE_S + SLACK_S + 30)
    recovered = time.monotonic() - lost_at
    print(f"\n{victim.name} lost: endpoints dropped its pods after {dropped - lost_at:.1f} s, "
          f"{REPLICAS} replicas Ready on the survivors after {recovered:.1f} s")
    assert recovered < RECOVERY_TARGET_S + SLACK_S
    kept = {n for n, p in pods.items() if p["spec"]["nodeName"] != victim.name}
    assert kept <= set(now), "a pod on a surviving host was disturbed"
    return now, followed


def proxy_rules(netns: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "ruleset"], capture_output=True,
                          text=True).stdout


def failures_only_in_window(client: ClientLoop, lost_at: float, dropped: float) -> None:
    """Every failed request was in flight at the loss or started between it and the moment the client host's proxy
    dropped the lost pods (``dropped``), plus one request's timeout."""
    failed = client.failures()
    before = [r for r in failed if r.start + r.took < lost_at]  # one in flight at the loss may fail
    late = [r for r in failed if r.start > dropped + PROXY_MARGIN_S]
    span = (max(r.start + r.took for r in failed) - lost_at) if failed else 0.0
    print(f"client: {len(client.requests)} requests, {len(failed)} failed, within {span:.1f} s of the loss "
          f"(detection window {dropped - lost_at:.1f} s + {PROXY_MARGIN_S} s)")
    assert not before, f"failures before the loss: {before[:5]}"
    assert not late, f"failures after the detection window: {late[:5]}"
    assert client.successes(dropped + PROXY_MARGIN_S), "no answer after the detection window"


def nothing_lost_or_duplicated(nodes, old: dict, victim) -> None:
    """After the host came back: six Ready pods of one ReplicaSet, each container running exactly once, on its
    pod's node, and no container of a replaced pod anywhere."""
    node_ready(nodes.cluster, victim.name, "True", 60)
    old_uids = {p["metadata"]["uid"] for p in old.values()}
    final = live_pods(nodes, lambda pods: len(pods) == REPLICAS and all(map(ready, pods.values())), 60,
                      f"{REPLICAS} seed replicas Ready")
    uids = {p["metadata"]["uid"]: p["spec"]["nodeName"] for p in final.values()}
    replaced = old_uids - set(uids)
    eventually(lambda: not {p["metadata"]["uid"] for p in json.loads(nodes.cluster.kubectl(
        "get", "pods", "-n", NS, "-o", "json").stdout)["items"]} & replaced, 60, 0.5, what="the replaced pods deleted")
    listed = json.loads(nodes.cluster.kubectl("get", "pods", "-n", NS, "-o", "json").stdout)["items"]
    assert sorted(p["metadata"]["uid"] for p in listed) == sorted(uids)
    owners = {(o["kind"], o["name"]) for p in listed for o in p["metadata"]["ownerReferences"]}
    assert len(owners) == 1 and next(iter(owners))[0] == "ReplicaSet"
    rs = json.loads(nodes.cluster.kubectl("get", "replicasets", "-n", NS, "-o", "json").stdout)["items"]
    assert [(r["status"].get("replicas"), r["status"].get("readyReplicas")) for r in rs] == [(REPLICAS, REPLICAS)]

    def containers() -> dict[str, list[tuple[str, bool]]]:
        return {a.name: engine_containers(a) for a in nodes.agents}
    left = eventually(lambda: (c := containers()) and not {u for cs in c.values() for u, _ in cs} & replaced and c,
                      60, 0.5, what="the replaced pods' containers removed")
    running = Counter((uid, node) for node, cs in left.items() for uid, on in cs if on)
    assert running == Counter(uids.items()), f"containers running: {running}, pods: {uids}"


def test_a_host_killed_with_its_containers_is_replaced_within_the_detection_window(seeded):
    nodes = seeded
    victim = nodes.agents[0]
    pods, client = start(nodes)
    with client:
        lost_at = time.monotonic()  # the first SIGKILL: requests may fail from here on
        killed = kill_host(victim)
        assert killed > REPLICAS // 3, "the host's agent, monitors and containers"
        now, dropped = lost(nodes, client, victim, pods, lost_at)
        victim.start(nodes.url, "")  # the machine is back: its agent starts with the credentials it kept
        nothing_lost_or_duplicated(nodes, pods, victim)
    failures_only_in_window(client, lost_at, dropped)


def test_a_host_cut_off_is_replaced_within_the_detection_window_and_runs_nothing_twice_on_return(seeded):
    nodes = seeded
    victim = nodes.agents[0]
    pods, client = start(nodes)
    with client:
        ip("link", "set", nodes.veth(victim), "down")
        lost_at = time.monotonic()
        now, dropped = lost(nodes, client, victim, pods, lost_at)
        ip("link", "set", nodes.veth(victim), "up")
        nothing_lost_or_duplicated(nodes, pods, victim)
    failures_only_in_window(client, lost_at, dropped)
