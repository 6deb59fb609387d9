"""Nodes through control-plane failures: an agent given two servers moves to the live one; SIGKILL of ``portside
up`` or of an agent leaves every container running and serving, and after a restart nothing is restarted,
duplicated or lost."""

from __future__ import annotations

import json
import signal
import urllib.request

from join.conftest import server as single_server
from join.conftest import wait_ready
from join.test_join import running
from support.builders import pod
from support.cluster import Cluster
from support.wait import eventually

from .conftest import identity_of, lease_holder, server

HTTPD = ["sh", "-c", "echo serving > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"]


def web(name: str, node: str) -> str:
    p = pod(containers=[{"name": "app", "image": "busybox", "command": HTTPD, "imagePullPolicy": "IfNotPresent"}],
            nodeSelector={"kubernetes.io/hostname": node})
    p["metadata"]["name"] = name
    return json.dumps(p)


def serves(p: dict) -> bool:
    with urllib.request.urlopen(f"http://{p['status']['podIP']}:8080/", timeout=5) as resp:
        return resp.read() == b"serving\n"


def comes_to_serve(p: dict) -> bool:
    """A pod just Running (no readiness probe) whose httpd may not listen yet: it serves within a few seconds."""
    def answers() -> bool:
        try:
            return serves(p)
        except OSError:
            return False
    return eventually(answers, 10, 0.1, f"pod {p['metadata']['name']} to serve")


def container(p: dict) -> tuple[str, int]:
    [status] = p["status"]["containerStatuses"]
    return status["containerID"], status["restartCount"]


def engine_pids(node) -> dict[str, str]:
    """Container id -> pid of every running container on the node's engine: a restart changes a pid, a duplicate
    adds an entry."""
    ids = node.portside("ps", "-q", "--no-trunc", check=True).stdout.split()
    return {cid: node.portside("inspect", "-f", "{{.State.Pid}}", cid, check=True).stdout.strip() for cid in ids}


def pod_names(cluster: Cluster) -> list[str]:
    return sorted(p["metadata"]["name"] for p in json.loads(cluster.kubectl("get", "pods", "-o", "json").stdout)
                  ["items"])


def test_an_agent_given_two_servers_keeps_working_when_one_dies(tmp_path, etcd_url, agents, needs_root):
    with server(tmp_path, "a", etcd_url) as a, server(tmp_path, "b", etcd_url) as b:
        token = (a.data_dir / "node-token").read_text().strip()
        node = agents("ha-node").start(f"{a.url},{b.url}", token)
        wait_ready(b, "ha-node")
        b.kubectl("apply", "-f", "-", input=web("before", "ha-node"))
        before = running(b, "before")
        a.kill()  # the leader, and the server the agent talks to
        b.kubectl("apply", "-f", "-", input=web("after", "ha-node"))
        after = running(b, "after")  # b leads and binds it; the agent's watch moved to b and it runs the pod
        assert identity_of(b) in lease_holder(b) and comes_to_serve(after)
        again = running(b, "before")
        assert container(again) == container(before) and comes_to_serve(again)
        assert node.proc.poll() is None


def test_sigkill_of_up_or_of_the_agent_leaves_pods_running_and_nothing_restarts(tmp_path, agents, needs_root):
    cluster = single_server(tmp_path).start()
    try:
        token = (cluster.data_dir / "node-token").read_text().strip()
        node = agents("crash-node").start(cluster.url, token)
        wait_ready(cluster, "crash-node")
        cluster.kubectl("apply", "-f", "-", input=web("steady", "crash-node"))
        first = running(cluster, "steady")
        pids = engine_pids(node)
        assert container(first)[0].removeprefix("portside://") in pids

        cluster.kill()
        assert comes_to_serve(first) and node.proc.poll() is None  # the agent outlives its server, and so do pods
        cluster = Cluster(cluster.data_dir, port=cluster.port, extra=cluster.extra).start()
        cluster.kubectl("apply", "-f", "-", input=web("fresh", "crash-node"))
        assert comes_to_serve(running(cluster, "fresh"))  # the agent's watch resumed on the restarted server
        after_up = running(cluster, "steady")
        assert container(after_up) == container(first) and pod_names(cluster) == ["fresh", "steady"]
        per_pod = len(pids)  # the app container, and a sandbox if the engine keeps one
        later = engine_pids(node)
        assert len(later) == 2 * per_pod and later.items() >= pids.items()

        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait()
        assert comes_to_serve(first)
        node.start(cluster.url, "")  # its credential is kept in its root; its containers are adopted
        cluster.kubectl("apply", "-f", "-", input=web("third", "crash-node"))
        assert comes_to_serve(running(cluster, "third"))  # the restarted agent has caught up with the pods
        adopted = running(cluster, "steady")
        assert container(adopted) == container(first) and comes_to_serve(adopted)
        assert pod_names(cluster) == ["fresh", "steady", "third"]
        now = engine_pids(node)
        assert len(now) == 3 * per_pod and now.items() >= later.items()  # the same processes: none restarted, none doubled
    finally:
        cluster.stop()
