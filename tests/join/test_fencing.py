"""Self-fencing for real: a Job's pod runs on a node that is then cut off (its link down). Once the node has been
silent for the grace plus the pod's toleration, the server replaces the pod on the healthy node and the cut-off
agent stops its copy on its own, though it hears nothing; after the link heals the old pod is cleaned up and the
Job's work has run to completion exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from support.builders import job
from support.net import free_port
from support.wait import Watch, eventually

from .conftest import in_host, ip, server, wait_ready
from .test_join import join_command
from .test_node_loss import GRACE_S, TOLERATION_S, node_ready

WORK_S = 25  # longer than the cut-off node's run would last without fencing: ~GRACE_S + TOLERATION_S + setup
SLACK_S = 5  # the agent's renewal timeout and loop, on a busy machine
ENGINE_RUNS = ("import json, sys\nfrom pathlib import Path\nfrom portside.engine import Engine\n"
               "print(json.dumps([[i['Config']['Labels'].get('io.portside.pod.uid'), i['State']['Running'],\n"
               "                   i['State'].get('ExitCode')] for i in Engine(Path(sys.argv[1])).list(all=True)]))\n")


def engine_runs(agent) -> list[tuple[str, bool, int]]:
    """(pod uid, running, exit code) of every container in the agent's engine, read inside its host."""
    out = subprocess.run([*in_host(agent.netns), sys.executable, "-c", ENGINE_RUNS, str(agent.root)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [tuple(x) for x in json.loads(out.stdout)]


def the_job(ns: str) -> dict:
    j = job(completions=1, parallelism=1, backoffLimit=0)
    j["metadata"]["namespace"] = ns
    j["spec"]["template"]["spec"].update(
        terminationGracePeriodSeconds=1,
        containers=[{"name": "work", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                     "command": ["sh", "-c", f"sleep {WORK_S}; echo done"]}])
    return j


def pods_of(cluster, ns: str) -> list[dict]:
    return json.loads(cluster.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]


def running_on(cluster, ns: str, node: str, timeout: float) -> dict:
    def check(pods: dict) -> dict | None:
        live = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")
                and p["spec"].get("nodeName") == node and (p.get("status") or {}).get("phase") == "Running"]
        return live[0] if live else None
    return eventually(check, timeout, what=f"the Job's pod running on {node}",
                      watch=Watch(cluster.kubeconfig, "pods", ns))


def test_a_cut_off_node_stops_its_job_pod_as_it_is_replaced_so_the_job_completes_once(tmp_path, hosts, agents,
                                                                                       needs_root):
    with server(tmp_path, "--address", hosts.gateway, "--port", str(free_port())) as cluster:
        url, token = join_command(cluster)
        (netns_a, _), (netns_b, _) = hosts.host(), hosts.host()
        a = agents("fence-a", netns_a).start(url, token)
        wait_ready(cluster, "fence-a")
        ns = cluster.namespace("fence")
        cluster.kubectl("apply", "-f", "-", input=json.dumps(the_job(ns)))
        old = running_on(cluster, ns, "fence-a", 60)
        old_uid = old["metadata"]["uid"]
        b = agents("fence-b", netns_b).start(url, token)
        wait_ready(cluster, "fence-b")
        assert any(uid == old_uid and running for uid, running, _ in engine_runs(a))

        veth = a.netns.replace(f"{hosts.bridge}h", f"{hosts.bridge}v")
        ip("link", "set", veth, "down")
        lost_at = time.monotonic()
        try:
            node_ready(cluster, "fence-a", "Unknown", GRACE_S + 10)
            new = running_on(cluster, ns, "fence-b", GRACE_S + TOLERATION_S + 30)
            assert new["metadata"]["uid"] != old_uid
            eventually(lambda: not any(uid == old_uid and running for uid, running, _ in engine_runs(a)),
                       GRACE_S + TOLERATION_S + SLACK_S + 10, what="the cut-off node stops its Job pod")
            fenced = time.monotonic() - lost_at
            print(f"fenced {fenced:.1f} s after the cut (the pod's eviction point: {GRACE_S + TOLERATION_S} s)")
            # Not before the server may have replaced it (its last renewal at most ~1 s before the cut), and soon after
            assert GRACE_S + TOLERATION_S - 2 <= fenced <= GRACE_S + TOLERATION_S + SLACK_S
            old_runs = [(running, code) for uid, running, code in engine_runs(a) if uid == old_uid]
            assert old_runs and all(not running and code != 0 for running, code in old_runs), old_runs
            assert "fencing Job pod" in a.log()
        finally:
            ip("link", "set", veth, "up")

        def succeeded(jobs: dict) -> dict | None:
            status = (jobs.get("batch") or {}).get("status") or {}
            return status if status.get("succeeded") == 1 else None
        status = eventually(succeeded, WORK_S + 30, what="the Job succeeded", watch=Watch(cluster.kubeconfig,
                                                                                         "jobs", ns))
        node_ready(cluster, "fence-a", "True", 60)
        eventually(lambda: not any(uid == old_uid for uid, _, _ in engine_runs(a)), 30,
                   what="the returned node removed its replaced pod's containers")
        pods = pods_of(cluster, ns)
        done = [p["metadata"]["uid"] for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"]
        assert done == [new["metadata"]["uid"]], [(p["metadata"]["name"], p.get("status")) for p in pods]
        assert old_uid not in {p["metadata"]["uid"] for p in pods}
        assert status["succeeded"] == 1 and not status.get("active")
        exited_zero = [uid for uid, running, code in engine_runs(a) + engine_runs(b) if not running and code == 0]
        assert exited_zero == [new["metadata"]["uid"]]  # only the replacement ran to completion, anywhere
