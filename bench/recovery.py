"""Recovery times after faults, on real agents in network-namespace hosts joined to a real ``portside up``.

(a) ``container_recovery``: a busybox pod (``httpd``, a TCP readiness probe every second) has its container's
    processes SIGKILLed; the time until a watch sees the pod Ready again with its restart counted. Each trial uses
    a pod of its own, since only a container's first restart is immediate (later ones back off from 10 s).
(b) ``node_recovery``: a 3-host cluster runs a Deployment of N busybox replicas (same probe); the host with the
    most replicas is lost (its agent, monitors and containers SIGKILLed); the time until a watch sees N replicas
    Ready on the other hosts. The host comes back (its agent restarted) before the next trial.
(c) control-plane restart and (d) leader failover are measured by the HA part of this file (null here).

At least 5 trials each (``--trials``); medians and maxima are printed. Needs root. Targets with the defaults (5 s
node grace, 10 s default toleration): container < 1 s, node loss < 20 s. Busybox rather than the seed's Flask
image: the Python base costs a minute of bootstrap and a readiness probe measures the same recovery path.
Last line: JSON {"container_recovery_s", "node_recovery_s", "controlplane_recovery_s", "failover_s"} (medians)
with each part's trials and maxima alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from support.chaos import cgroup_pids, kill_host, three_hosts  # noqa: E402
from support.wait import Watch, eventually, eventually_async  # noqa: E402

PROBE = {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
HTTPD = {"name": "app", "image": "busybox", "imagePullPolicy": "IfNotPresent",
         "command": ["httpd", "-f", "-p", "8080", "-h", "/"], "readinessProbe": PROBE}
NS = "recovery"


def busybox_tar(base: Path) -> Path:
    from conftest import make_busybox_rootfs

    make_busybox_rootfs(base / "rootfs")
    with tarfile.open(base / "busybox.tar", "w") as tar:
        tar.add(base / "rootfs", arcname=".")
    return base / "busybox.tar"


def ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def restarts(pod: dict) -> int:
    return sum(s.get("restartCount", 0) for s in (pod.get("status") or {}).get("containerStatuses") or [])


def apply(cluster, obj: dict) -> None:
    cluster.kubectl("apply", "-n", NS, "-f", "-", input=json.dumps(obj))


def container_recovery(trials: int = 5) -> list[float]:
    """Seconds from a container's SIGKILL to its pod Ready again, one pod per trial."""
    with tempfile.TemporaryDirectory(prefix="recovery-") as tmp, \
            three_hosts(Path(tmp), busybox_tar(Path(tmp)), count=1, prefix="crash") as nodes:
        cluster, agent = nodes.cluster, nodes.agents[0]
        cluster.namespace(NS)
        names = [f"crash-{i}" for i in range(trials)]
        for name in names:
            apply(cluster, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"b": "crash"}},
                            "spec": {"containers": [HTTPD], "terminationGracePeriodSeconds": 1}})
        pods = eventually(lambda ps: ps if len(ps) == trials and all(map(ready, ps.values())) else None, 120,
                          what=f"{trials} pods Ready", watch=Watch(cluster.kubeconfig, "pods", NS, "b=crash"))
        parent = agent.settings()["cgroup_parent"]
        return asyncio.run(_crash_all(cluster.kubeconfig, parent, [pods[n] for n in names]))


async def _crash_all(kubeconfig: str, parent: str, pods: list[dict]) -> list[float]:
    from portside.client import Client

    took = []
    async with Client.from_kubeconfig(kubeconfig) as client:
        for pod in pods:
            name, before = pod["metadata"]["name"], restarts(pod)
            cid = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
            pids = cgroup_pids(f"{parent}/{cid}")
            assert pids, f"no process of {name}'s container"
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            await eventually_async(lambda ps, n=name, b=before: (p := ps.get(n)) and restarts(p) > b and ready(p),
                                   30, what=f"{name} Ready again", watch=Watch(client, "pods", NS))
            took.append(time.monotonic() - killed)
    return took


def node_recovery(trials: int = 5, replicas: int = 6) -> list[float]:
    """Seconds from a host's loss to ``replicas`` Ready on the other hosts of three."""
    with tempfile.TemporaryDirectory(prefix="recovery-") as tmp, \
            three_hosts(Path(tmp), busybox_tar(Path(tmp)), prefix="loss") as nodes:
        cluster = nodes.cluster
        cluster.namespace(NS)
        apply(cluster, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                                 "template": {"metadata": {"labels": {"app": "web"}},
                                              "spec": {"containers": [HTTPD], "terminationGracePeriodSeconds": 1}}}})
        by_name = {a.name: a for a in nodes.agents}
        took = []
        for _ in range(trials):
            pods = _ready_on(cluster, replicas, set(by_name))
            victim = by_name[Counter(p["spec"]["nodeName"] for p in pods.values()).most_common(1)[0][0]]
            kill_host(victim)
            lost = time.monotonic()
            _ready_on(cluster, replicas, set(by_name) - {victim.name})
            took.append(time.monotonic() - lost)
            print(f"node loss trial: {took[-1]:.1f} s", file=sys.stderr, flush=True)
            victim.start(nodes.url, "")
            _node_ready(cluster, victim.name)
        return took


def _ready_on(cluster, replicas: int, on: set[str]) -> dict:
    def check(pods: dict):
        live = {n: p for n, p in pods.items() if not p["metadata"].get("deletionTimestamp")}
        return live if len(live) == replicas and all(ready(p) and p["spec"].get("nodeName") in on
                                                     for p in live.values()) else None
    return eventually(check, 120, what=f"{replicas} replicas Ready on {sorted(on)}",
                      watch=Watch(cluster.kubeconfig, "pods", NS, "app=web"))


def _node_ready(cluster, name: str) -> None:
    def check(nodes: dict):
        n = nodes.get(name) or {}
        conditions = (n.get("status") or {}).get("conditions") or []
        untainted = not (n.get("spec") or {}).get("taints")
        return untainted and any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    eventually(check, 60, what=f"node {name} Ready, untainted", watch=Watch(cluster.kubeconfig, "nodes"))


def summary(samples: list[float]) -> dict:
    return {"median": round(statistics.median(samples), 3), "max": round(max(samples), 3),
            "trials": [round(s, 3) for s in samples]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5, help="trials per part (at least 5)")
    parser.add_argument("--replicas", type=int, default=6, help="replicas of the node-loss Deployment")
    args = parser.parse_args()
    if args.trials < 5:
        parser.error("--trials: at least 5, for a median and a max worth quoting")
    container = summary(container_recovery(args.trials))
    print(f"container crash to Ready: {container}", file=sys.stderr)
    node = summary(node_recovery(args.trials, args.replicas))
    print(f"node loss to {args.replicas} replicas Ready elsewhere: {node}", file=sys.stderr)
    print(json.dumps({"container_recovery_s": container["median"], "node_recovery_s": node["median"],
                      "controlplane_recovery_s": None,  # (c) comes from the HA part of this benchmark
                      "failover_s": None,  # (d) likewise
                      "container_recovery": container, "node_recovery": node}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
