"""Persistent volumes across joined nodes: a claim provisioned on node B keeps every later pod using it on B,
the volume lives in B's storage directory, and B's agent (with its node credential) removes it when the claim
goes, while another node may not."""

from __future__ import annotations

import json

from support.builders import container, pod, pvc, with_claim
from support.net import free_port
from support.wait import Watch, eventually

from .conftest import server, wait_ready
from .test_join import join_command

TIMEOUT = 90


def claim_pod(name: str, script: str, node: str = "") -> dict:
    p = container(pod(restartPolicy="Never", terminationGracePeriodSeconds=1), image="busybox",
                  imagePullPolicy="IfNotPresent", command=["sh", "-c", script])
    p["metadata"]["name"] = name
    if node:
        p["spec"]["nodeSelector"] = {"kubernetes.io/hostname": node}
    return with_claim(p)


def finished(cluster, names: set[str]) -> dict[str, dict]:
    def done(pods: dict) -> dict | None:
        ended = {n: p for n, p in pods.items() if n in names and p["status"].get("phase") in ("Succeeded", "Failed")}
        return ended if len(ended) == len(names) else None
    return eventually(done, TIMEOUT, what=f"pods {sorted(names)} finished", watch=Watch(cluster.kubeconfig, "pods",
                                                                                       "default"))


def test_pods_of_a_claim_provisioned_on_one_node_all_run_there(tmp_path, hosts, agents, needs_root):
    port = free_port()
    with server(tmp_path, "--address", hosts.gateway, "--port", str(port)) as cluster:
        url, token = join_command(cluster)
        joined = {}
        for name in ("store-a", "store-b"):
            netns, _ = hosts.host()
            joined[name] = agents(name, netns).start(url, token)
        for name in joined:
            wait_ready(cluster, name)
        cluster.kubectl("apply", "-f", "-", input=json.dumps(pvc("data", "16Mi")))
        cluster.kubectl("apply", "-f", "-", input=json.dumps(claim_pod("writer", "echo from-b > /data/f", "store-b")))
        assert finished(cluster, {"writer"})["writer"]["status"]["phase"] == "Succeeded"
        claim = json.loads(cluster.kubectl("get", "pvc", "data", "-o", "json").stdout)
        volume = json.loads(cluster.kubectl("get", "pv", claim["spec"]["volumeName"], "-o", "json").stdout)
        path = volume["spec"]["hostPath"]["path"]
        assert path.startswith(str(joined["store-b"].root / "agent" / "storage") + "/")

        readers = {f"reader-{i}" for i in range(3)}
        for name in sorted(readers):
            cluster.kubectl("apply", "-f", "-", input=json.dumps(claim_pod(name, 'test "$(cat /data/f)" = from-b')))
        ran = finished(cluster, readers)  # logs of pods on joined nodes are not served yet: the exit code tells
        assert {(p["spec"]["nodeName"], p["status"]["phase"]) for p in ran.values()} == {("store-b", "Succeeded")}

        other = cluster.kubectl("delete", "pv", volume["metadata"]["name"], kubeconfig=joined["store-a"].kubeconfig,
                                check=False)
        assert other.returncode != 0 and "may only delete the Released local-path volumes" in other.stderr
        cluster.kubectl("delete", "pod", "writer", *sorted(readers), "--wait=true", timeout=TIMEOUT)
        cluster.kubectl("delete", "pvc", "data", timeout=TIMEOUT)
        eventually(lambda pvs: volume["metadata"]["name"] not in pvs, TIMEOUT, what="volume removed by store-b",
                   watch=Watch(cluster.kubeconfig, "persistentvolumes"))
        assert not (joined["store-b"].root / "agent" / "storage" / path.rsplit("/", 1)[1]).exists()
