"""A network policy across joined nodes (network-namespace hosts with real agents): the ingress policy of a pod on
node B admits a pod of node A by its labels and refuses another pod of node A, so B's rules see the source pod's
own address (no NAT between nodes); the policy's table exists on B only, and removing the policy reopens B's pod."""

from __future__ import annotations

import json
import subprocess

from support.builders import network_policy
from support.net import free_port
from support.wait import eventually

from portside.netpol import table_name

from .conftest import server, wait_ready
from .test_join import busybox, join_command, running

PROBE_TIMEOUT_S = 30


def connects(cluster, source: str, ip: str) -> bool:
    proc = cluster.kubectl("exec", source, "--", "sh", "-c", f"nc -w 2 {ip} 80 </dev/null", check=False,
                           timeout=30)
    return "ok" in proc.stdout


def tables(netns: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "tables"], capture_output=True,
                          text=True).stdout


def test_an_ingress_policy_on_node_b_admits_and_refuses_pods_of_node_a(tmp_path, hosts, agents, needs_root):
    port = free_port()
    with server(tmp_path, "--address", hosts.gateway, "--port", str(port)) as cluster:
        url, token = join_command(cluster)
        netns, joined = {}, {}
        for name in ("np-node-a", "np-node-b"):
            netns[name], _ = hosts.host()
            joined[name] = agents(name, netns[name]).start(url, token)
        for name in netns:
            wait_ready(cluster, name)
        db = busybox("db", "np-node-b")
        db["metadata"]["labels"] = {"app": "db"}
        db["spec"]["containers"][0]["command"] = ["nc", "-ll", "-p", "80", "-e", "echo", "ok"]
        web, other = busybox("web", "np-node-a"), busybox("other", "np-node-a")
        web["metadata"]["labels"], other["metadata"]["labels"] = {"app": "web"}, {"app": "other"}
        cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                              "items": [db, web, other]}))
        ip = running(cluster, "db", timeout=90)["status"]["podIP"]
        running(cluster, "web", timeout=90), running(cluster, "other", timeout=90)
        eventually(lambda: connects(cluster, "web", ip) and connects(cluster, "other", ip), PROBE_TIMEOUT_S,
                   what="both pods of node A reach db on node B")

        policy = network_policy("db-from-web", podSelector={"matchLabels": {"app": "db"}}, ingress=[
            {"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 80}]}])
        cluster.kubectl("apply", "-f", "-", input=json.dumps(policy))
        eventually(lambda: not connects(cluster, "other", ip), PROBE_TIMEOUT_S, what="other refused by node B")
        assert connects(cluster, "web", ip)
        b_table = table_name(joined["np-node-b"].settings()["bridge"])  # named after B's pod bridge
        assert b_table in tables(netns["np-node-b"]) and "portside_np_" not in tables(netns["np-node-a"])

        cluster.kubectl("delete", "networkpolicy", "db-from-web")
        eventually(lambda: connects(cluster, "other", ip), PROBE_TIMEOUT_S, what="other admitted again")
        eventually(lambda: b_table not in tables(netns["np-node-b"]), PROBE_TIMEOUT_S, what="B's table gone")
