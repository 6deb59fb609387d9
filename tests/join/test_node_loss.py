"""Losing a node for real: agents on network-namespace hosts run a Deployment's pods; one is killed (SIGKILL,
its containers left running as on a node whose agent died) or cut off (its link down). Its node turns Unknown
within the grace, its pods leave every Service at once (the API's Endpoints and the other node's proxy rules),
they are evicted after their 10 s toleration and replaced on the healthy node; when the node comes back it stops
and removes the containers of the pods that were replaced, and runs no duplicate. A short partition, healed
before the toleration runs out, evicts nothing: the node's pods are Ready again."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from support.builders import deployment, service
from support.net import free_port
from support.wait import Watch, eventually

from .conftest import in_host, ip, server, wait_ready
from .test_join import join_command

# Both tests name their nodes lost-a and lost-b, and a node's cgroup parent carries its name: one worker runs
# them one after the other (with --dist loadgroup), or one test's clean-up would take the other's containers.
pytestmark = pytest.mark.xdist_group("node-loss-names")

GRACE_S = 5
TOLERATION_S = 10
RECOVERY_TARGET_S = 20  # node loss to every replica Ready elsewhere, the target
SLACK_S = 10  # a busy 2-core CI machine
ENGINE_PODS = ("import json, sys\nfrom pathlib import Path\nfrom portside.engine import Engine\n"
               "print(json.dumps([[i['Config']['Labels'].get('io.portside.pod.uid'), i['State']['Running']]\n"
               "                  for i in Engine(Path(sys.argv[1])).list(all=True)]))\n")


def workload(cluster, ns: str) -> None:
    d = deployment(replicas=2)
    d["metadata"]["namespace"] = ns
    d["spec"]["template"]["spec"]["containers"] = [{"name": "app", "image": "busybox", "command": ["sleep", "3600"],
                                                    "imagePullPolicy": "IfNotPresent"}]
    s = service(ports=[{"port": 80, "targetPort": 8080}])
    s["metadata"]["namespace"] = ns
    for obj in (d, s):
        cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))


def ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def replicas_ready_on(cluster, ns: str, node: str, timeout: float = 60) -> dict:
    def check(pods: dict) -> dict | None:
        live = {n: p for n, p in pods.items() if not p["metadata"].get("deletionTimestamp")}
        ok = len(live) == 2 and all(p["spec"].get("nodeName") == node and ready(p) for p in live.values())
        return live if ok else None
    return eventually(check, timeout, what=f"2 replicas Ready on {node}", watch=Watch(cluster.kubeconfig, "pods", ns))


def node_ready(cluster, name: str, status: str, timeout: float) -> dict:
    def check(nodes: dict) -> dict | None:
        conditions = ((nodes.get(name) or {}).get("status") or {}).get("conditions") or []
        return nodes[name] if any(c["type"] == "Ready" and c["status"] == status for c in conditions) else None
    return eventually(check, timeout, what=f"node {name} Ready={status}", watch=Watch(cluster.kubeconfig, "nodes"))


def endpoint_ips(cluster, ns: str, want) -> dict:
    def check(objs: dict) -> dict | None:
        subsets = (objs.get("my-app") or {}).get("subsets") or []
        ips = {a["ip"] for s in subsets for a in s.get("addresses") or []}
        return {"ips": ips} if want(ips) else None
    return eventually(check, 30, what="the Service's endpoints", watch=Watch(cluster.kubeconfig, "endpoints", ns))


def proxy_rules(netns: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "ruleset"], capture_output=True,
                          text=True).stdout


def engine_pods(agent) -> list[tuple[str, bool]]:
    out = subprocess.run([*in_host(agent.netns), sys.executable, "-c", ENGINE_PODS, str(agent.root)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [tuple(x) for x in json.loads(out.stdout)]


def taints(node: dict) -> set[str]:
    return {f"{t['key']}:{t['effect']}" for t in (node.get("spec") or {}).get("taints") or []}


def two_nodes(tmp_path, hosts, agents, cluster, url: str, token: str):
    """Agent a runs the workload's two replicas (b joins once they run there)."""
    (netns_a, _), (netns_b, _) = hosts.host(), hosts.host()
    a = agents("lost-a", netns_a).start(url, token)
    wait_ready(cluster, "lost-a")
    ns = cluster.namespace("loss")
    workload(cluster, ns)
    old = replicas_ready_on(cluster, ns, "lost-a")
    b = agents("lost-b", netns_b).start(url, token)
    wait_ready(cluster, "lost-b")
    ips = {p["status"]["podIP"] for p in old.values()}
    endpoint_ips(cluster, ns, lambda seen: seen == ips)
    eventually(lambda: all(i in proxy_rules(netns_b) for i in ips), 30, what="b's proxy routes to a's pods")
    return a, b, ns, old, ips


def lose_and_replace(cluster, ns: str, b, old: dict, ips: set[str], lost_at: float) -> dict:
    """The checks every node loss passes, from the moment ``lost_at`` the node was lost."""
    n = node_ready(cluster, "lost-a", "Unknown", GRACE_S + SLACK_S)
    noticed = time.monotonic() - lost_at
    assert noticed < GRACE_S + SLACK_S
    assert n["status"]["conditions"][0]["reason"] == "NodeStatusUnknown"
    assert {"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"} <= taints(n)

    endpoint_ips(cluster, ns, lambda seen: not seen & ips)  # at once: before any eviction
    eventually(lambda: not any(i in proxy_rules(b.netns) for i in ips), 15, what="b's proxy drops a's pods")
    left = json.loads(cluster.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
    assert {p["metadata"]["name"] for p in left} >= set(old), "evicted before the toleration ran out"

    new = replicas_ready_on(cluster, ns, "lost-b", TOLERATION_S + GRACE_S + SLACK_S + 30)
    recovered = time.monotonic() - lost_at
    print(f"node loss: Unknown after {noticed:.1f} s, replicas Ready elsewhere after {recovered:.1f} s")
    assert not set(new) & set(old)
    assert recovered < RECOVERY_TARGET_S + SLACK_S
    events = json.loads(cluster.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
    evictions = {e["involvedObject"]["name"] for e in events if e["reason"] == "TaintManagerEviction"}
    assert evictions == set(old)
    return new


def returned_cleanly(cluster, ns: str, a, old: dict, new: dict) -> None:
    node_ready(cluster, "lost-a", "True", 60)
    eventually(lambda: not taints(json.loads(cluster.kubectl("get", "node", "lost-a", "-o", "json").stdout)),
               15, what="a's taints lifted")
    old_uids = {p["metadata"]["uid"] for p in old.values()}
    eventually(lambda: not {uid for uid, _ in engine_pods(a)} & old_uids, 60,
               what="a removed the containers of its replaced pods")
    pods = json.loads(cluster.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
    assert sorted(p["metadata"]["name"] for p in pods) == sorted(new)  # no duplicate, nothing back on a


def test_a_killed_agent_s_node_is_tainted_its_pods_replaced_and_cleaned_up_on_return(tmp_path, hosts, agents,
                                                                                     needs_root):
    with server(tmp_path, "--address", hosts.gateway, "--port", str(free_port())) as cluster:
        url, token = join_command(cluster)
        a, b, ns, old, ips = two_nodes(tmp_path, hosts, agents, cluster, url, token)
        a.proc.kill()  # the agent dies; its containers keep running, as on a node that lost its kubelet
        a.proc.wait()
        lost_at = time.monotonic()
        assert any(running for _, running in engine_pods(a))
        new = lose_and_replace(cluster, ns, b, old, ips, lost_at)
        a.start(url, "")
        returned_cleanly(cluster, ns, a, old, new)


def test_a_partitioned_node_heals_short_cuts_without_eviction_and_long_ones_like_a_lost_node(tmp_path, hosts,
                                                                                             agents, needs_root):
    with server(tmp_path, "--address", hosts.gateway, "--port", str(free_port())) as cluster:
        url, token = join_command(cluster)
        a, b, ns, old, ips = two_nodes(tmp_path, hosts, agents, cluster, url, token)
        veth = a.netns.replace(f"{hosts.bridge}h", f"{hosts.bridge}v")

        ip("link", "set", veth, "down")  # short: healed as soon as the node is seen lost
        node_ready(cluster, "lost-a", "Unknown", GRACE_S + SLACK_S)
        endpoint_ips(cluster, ns, lambda seen: not seen & ips)
        ip("link", "set", veth, "up")
        node_ready(cluster, "lost-a", "True", TOLERATION_S)
        assert set(replicas_ready_on(cluster, ns, "lost-a", TOLERATION_S)) == set(old)  # the same pods, Ready
        endpoint_ips(cluster, ns, lambda seen: seen == ips)

        ip("link", "set", veth, "down")  # long: past the toleration
        lost_at = time.monotonic()
        new = lose_and_replace(cluster, ns, b, old, ips, lost_at)
        ip("link", "set", veth, "up")
        returned_cleanly(cluster, ns, a, old, new)
