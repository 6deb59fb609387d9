"""A StatefulSet on real pods: web-1 starts only once web-0 is Ready, each pod gets a claim of its own provisioned
by local-path, a pod's name resolves as ``web-0.web.NS.svc.cluster.local`` through the headless Service, and a
deleted pod comes back under its name with its data."""

from __future__ import annotations

import json
from pathlib import Path

from support.builders import container, statefulset
from support.wait import Watch, eventually

from tests.agent.conftest import ready

TIMEOUT = 60
SCRIPT = "hostname >> /data/names; sleep 1; touch /tmp/ready; exec sleep 3600"


def test_ordered_start_a_claim_per_ordinal_dns_names_and_data_across_a_pod_deletion(node):
    ns = node.cluster.namespace("sts-pods")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
               "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]}}
    sts = container(statefulset(namespace=ns), image="busybox", imagePullPolicy="IfNotPresent",
                    command=["sh", "-c", SCRIPT],
                    readinessProbe={"exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1})
    sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 1
    node.apply(service)
    node.apply(sts)
    seen_ready, early = set(), []

    def both_ready(pods: dict) -> dict | None:
        seen_ready.update(n for n, p in pods.items() if ready(p))
        if "web-1" in pods and "web-0" not in seen_ready:
            early.append(sorted(pods))
        return pods if {"web-0", "web-1"} <= seen_ready and all(ready(p) for p in pods.values()) else None

    pods = eventually(both_ready, TIMEOUT, what="web-0 then web-1 Ready", watch=Watch(node.cluster.kubeconfig,
                                                                                    "pods", ns))
    assert early == []  # web-1 was not made before web-0 was Ready

    claims = {c["metadata"]["name"]: c for c in json.loads(node.kubectl("get", "pvc", "-n", ns, "-o", "json")
                                                            .stdout)["items"]}
    assert sorted(claims) == ["data-web-0", "data-web-1"]
    volumes = {name: c["spec"]["volumeName"] for name, c in claims.items()}
    assert len(set(volumes.values())) == 2 and all(c["status"]["phase"] == "Bound" for c in claims.values())
    paths = {name: Path(json.loads(node.kubectl("get", "pv", v, "-o", "json").stdout)["spec"]["hostPath"]["path"])
             for name, v in volumes.items()}
    assert (paths["data-web-0"] / "names").read_text() == "web-0\n"
    assert (paths["data-web-1"] / "names").read_text() == "web-1\n"

    ip = pods["web-0"]["status"]["podIP"]
    ask = f"nslookup web-0.web.{ns}.svc.cluster.local | grep -q 'Address: {ip}$'"
    asked = node.kubectl("exec", "web-1", "-n", ns, "--", "sh", "-c",
                         f"for i in $(seq 30); do {ask} && exit 0; sleep 1; done; exit 1", check=False, timeout=45)
    assert asked.returncode == 0, asked.stdout + asked.stderr

    node.kubectl("delete", "pod", "web-0", "-n", ns, "--wait=false")
    old_uid = pods["web-0"]["metadata"]["uid"]
    node.wait_pod("web-0", lambda p: p["metadata"]["uid"] != old_uid and ready(p), TIMEOUT, "made again", ns=ns)
    assert (paths["data-web-0"] / "names").read_text() == "web-0\nweb-0\n"  # the same claim, its data kept
    header, row = node.kubectl("get", "sts", "-n", ns).stdout.splitlines()
    assert row.split()[:2] == ["web", "2/2"]
