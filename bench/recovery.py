"""Recovery benchmark: how long the cluster takes to come back from a failure, part by part.

Each part is one function returning {"median": s, "max": s, "trials": [...]}, run ``--trials`` times (at least 5):

(a) container_recovery_s: a busybox pod (``httpd``, a TCP readiness probe every second) on an agent in a
    network-namespace host has its container's processes SIGKILLed; the seconds until a watch sees the pod Ready
    again with its restart counted. Each trial uses a pod of its own, since only a container's first restart is
    immediate (later ones back off from 10 s).
(b) node_recovery_s: a 3-host cluster runs a Deployment of N busybox replicas (same probe); the host with the
    most replicas is lost (its agent, monitors and containers SIGKILLed); the seconds until a watch sees N
    replicas Ready on the other hosts. The host comes back (its agent restarted) before the next trial. Busybox
    rather than the seed's Flask image: the Python base costs a minute of bootstrap, and a readiness probe
    measures the same recovery path.
(c) controlplane_recovery_s: ``portside up`` (SQLite) with a joined agent is SIGKILLed and started again; the
    seconds from the new process's start until the API answers *and* the agent's pod watch has resumed, seen
    from the agent's side: a pod bound to its node after the restart (image policy Never, an absent image, so no
    container start is timed) gets the status the agent writes once its watch delivers it. The API's answer
    alone is reported as ``controlplane_api_s``.
(d) failover_s: two servers on a three-member etcd; the one holding the Lease is SIGKILLed; the seconds until
    the other holds the Lease (``failover_lease_s``) and its scheduler has bound a pod created right after the
    kill. The killed server is started again (it follows) before the next trial, which kills the new leader.

Targets: container < 1 s, node loss < 20 s (with the defaults: 5 s node grace, 10 s default toleration),
control plane < 3 s, failover < 5 s; ``*_vs_target`` is the median over the target (below 1 meets it).
Needs root (the agent runs a node) and etcd (Debian's etcd-server). The last line printed is JSON with the four
medians, each part's maximum and trials beside them (a part left out with ``--parts`` is null).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from support.chaos import cgroup_pids, kill_host, three_hosts  # noqa: E402
from support.wait import Watch, eventually, eventually_async  # noqa: E402

from portside.client import Client, NotFound  # noqa: E402

CONTROLPLANE_TARGET_S, FAILOVER_TARGET_S = 3.0, 5.0
NODE = "bench-recovery"
TIMEOUT_S = 60.0
POLL_S = 0.02


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(trials: list[float]) -> dict:
    return {"median": round(statistics.median(trials), 3), "max": round(max(trials), 3),
            "trials": [round(t, 3) for t in trials]}


class Server:
    """One ``portside up`` with no node of its own, restartable on the same data directory and port."""

    def __init__(self, base: Path, name: str, *flags: str) -> None:
        self.data_dir, self.port, self.flags = base / name, free_port(), flags
        self.log = base / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def identity(self) -> str:
        return f"_127.0.0.1-{self.port}_"

    def client(self) -> Client:
        return Client.from_kubeconfig(str(self.data_dir / "kubeconfig.yaml"))

    def start(self) -> float:
        """Start and return once the API answers; the seconds that took."""
        began = time.monotonic()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "portside", "up", "--data-dir", str(self.data_dir),
                                          "--port", str(self.port), "--disable", "agent,proxy,engine", *self.flags],
                                         stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        if "API ready" not in line:
            raise SystemExit(f"portside up did not start: {line!r}; see {self.log}")
        return time.monotonic() - began

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


async def until(check, what: str, timeout: float = TIMEOUT_S):
    """The first truthy answer of ``check()`` (a coroutine function); errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if got := await check():
                return got
        except Exception:  # noqa: BLE001 - a server still starting, or failing over
            pass
        await asyncio.sleep(POLL_S)
    raise SystemExit(f"timed out after {timeout} s waiting for {what}")


def probe_pod(name: str, node: str = "") -> dict:
    spec = {"containers": [{"name": "c", "image": "absent.invalid/none:1", "imagePullPolicy": "Never"}]}
    if node:
        spec["nodeName"] = node
    else:
        spec["containers"][0]["image"] = "busybox"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


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
            _host_ready(cluster, victim.name)
        return took


def _ready_on(cluster, replicas: int, on: set[str]) -> dict:
    def check(pods: dict):
        live = {n: p for n, p in pods.items() if not p["metadata"].get("deletionTimestamp")}
        return live if len(live) == replicas and all(ready(p) and p["spec"].get("nodeName") in on
                                                     for p in live.values()) else None
    return eventually(check, 120, what=f"{replicas} replicas Ready on {sorted(on)}",
                      watch=Watch(cluster.kubeconfig, "pods", NS, "app=web"))


def _host_ready(cluster, name: str) -> None:
    def check(nodes: dict):
        n = nodes.get(name) or {}
        conditions = (n.get("status") or {}).get("conditions") or []
        untainted = not (n.get("spec") or {}).get("taints")
        return untainted and any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    eventually(check, 60, what=f"node {name} Ready, untainted", watch=Watch(cluster.kubeconfig, "nodes"))


async def _agent_saw(server: Server, name: str) -> bool:
    async with server.client() as c:
        pod = await c.get("pods", name, "default")
        return bool(pod.status and pod.status.container_statuses)


async def _node_ready(server: Server) -> bool:
    async with server.client() as c:
        node = await c.get("nodes", NODE)
        return any(x.type == "Ready" and x.status == "True" for x in (node.status.conditions or []))


async def _create(server: Server, pod: dict) -> None:
    async with server.client() as c:
        await c.raw.create("pods", pod, "default")


def controlplane_recovery(base: Path, trials: int) -> dict:
    """(c) SIGKILL ``up``, start it again: until the API answers and the agent's pod watch delivers again."""
    server = Server(base, "cp")
    root = base / "agent-root"
    agent = None
    api, recovered = [], []
    try:
        server.start()
        token = (server.data_dir / "node-token").read_text().strip()
        agent = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(root), "agent", "--server",
                                  server.url, "--token", token, "--node-name", NODE], stdout=subprocess.PIPE,
                                 stderr=open(base / "agent.log", "ab"), text=True)
        if "joined" not in agent.stdout.readline():
            raise SystemExit(f"the agent did not join; see {base / 'agent.log'}")
        asyncio.run(until(lambda: _node_ready(server), "the node Ready"))
        for i in range(trials):
            server.kill()
            began = time.monotonic()
            api.append(server.start())
            asyncio.run(_create(server, probe_pod(f"probe-{i}", NODE)))
            asyncio.run(until(lambda i=i: _agent_saw(server, f"probe-{i}"), f"the agent's status of probe-{i}"))
            recovered.append(time.monotonic() - began)
            asyncio.run(_delete_all(server))
    finally:
        _stop_agent(agent, root)
        server.stop()
    return {**summary(recovered), "api": summary(api)}


async def _delete_all(server: Server) -> None:
    async with server.client() as c:
        for pod in (await c.list("pods", "default")).items:
            await c.delete("pods", pod.metadata.name, "default", grace_seconds=0)


def _stop_agent(agent: subprocess.Popen | None, root: Path) -> None:
    """Stop the agent, then remove what its node made: sandboxes, network, cgroup parent."""
    if agent is not None and agent.poll() is None:
        agent.terminate()
        agent.wait(timeout=30)
    if not root.exists():
        return
    from leftovers import remove_cgroup_parent

    from portside.engine import Engine
    engine = Engine(root)
    for info in engine.list(all=True):
        engine.remove(info["Id"], force=True)
    for pod in (root / "pods").glob("*"):
        for sandbox in pod.glob("*"):
            engine.network.detach(sandbox.name)
    engine.network.teardown()
    try:
        parent = json.loads((root / "engine.json").read_text()).get("cgroup_parent")
    except FileNotFoundError:
        parent = None
    if parent:
        remove_cgroup_parent(parent, kill=True, strict=False)


async def _holds(server: Server, other: Server) -> bool:
    async with other.client() as c:
        lease = await c.get("leases.coordination.k8s.io", "portside-controllers", "kube-system")
        return server.identity in (lease.spec.holder_identity or "")


async def _bound(server: Server, name: str) -> bool:
    async with server.client() as c:
        return bool((await c.get("pods", name, "default")).spec.node_name)


async def _leader(servers: list[Server]) -> Server:
    for s in servers:
        if await _holds(s, servers[0]):
            return s
    raise NotFound({"code": 404, "message": "no server holds the Lease"})


def failover(base: Path, trials: int) -> dict:
    """(d) SIGKILL the leading server: until the other holds the Lease and its scheduler has bound a new pod."""
    from support.etcd import EtcdCluster
    (base / "etcd").mkdir()
    etcd = EtcdCluster(base / "etcd").start()
    servers = [Server(base, name, "--store", etcd.store_url) for name in ("a", "b")]
    lease, bound = [], []
    try:
        for s in servers:
            s.start()
        cap = {"cpu": "8", "memory": "16Gi", "pods": "110"}
        asyncio.run(_create_node(servers[0], cap))
        for i in range(trials):
            took_lease, took_bind = _failover_trial(servers, f"failover-{i}")
            lease.append(took_lease)
            bound.append(took_bind)
    finally:
        for s in servers:
            s.stop()
        etcd.stop()
    return {**summary(bound), "lease": summary(lease)}


def _failover_trial(servers: list[Server], name: str) -> tuple[float, float]:
    leader = asyncio.run(until(lambda: _leader(servers), "a leader"))
    other = next(s for s in servers if s is not leader)
    leader.kill()
    began = time.monotonic()
    asyncio.run(_create(other, probe_pod(name)))
    asyncio.run(until(lambda: _holds(other, other), "the other server to hold the Lease", 30))
    took_lease = time.monotonic() - began
    asyncio.run(until(lambda: _bound(other, name), f"{name} bound", 30))
    took_bind = time.monotonic() - began
    leader.start()  # it follows now; the next trial kills the new leader
    return took_lease, took_bind


async def _create_node(server: Server, cap: dict) -> None:
    """A Node no agent runs, Ready, for the scheduler to bind to."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "bench-failover"},
            "status": {"capacity": cap, "allocatable": cap,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "lastHeartbeatTime": now, "lastTransitionTime": now}]}}
    async with server.client() as c:
        await c.raw.create("nodes", node)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="trials per part (at least 5)")
    parser.add_argument("--parts", default="a,b,c,d", help="parts to run, e.g. c,d")
    parser.add_argument("--replicas", type=int, default=6, help="replicas of the node-loss Deployment (b)")
    args = parser.parse_args()
    if args.trials < 5:
        parser.error("--trials: at least 5, so that the median means something")
    parts = set(args.parts.split(","))
    if os.geteuid() != 0 and parts & {"a", "b", "c"}:
        parser.error("parts (a), (b) and (c) run agents, which need root")
    container = summary(container_recovery(args.trials)) if "a" in parts else None
    node = summary(node_recovery(args.trials, args.replicas)) if "b" in parts else None
    with tempfile.TemporaryDirectory(prefix="portside-recovery-") as tmp:
        base = Path(tmp)
        cp = controlplane_recovery(base / "c", args.trials) if "c" in parts and _mkdir(base / "c") else None
        fo = failover(base / "d", args.trials) if "d" in parts and _mkdir(base / "d") else None
    out = {
        "container_recovery_s": container["median"] if container else None,
        "node_recovery_s": node["median"] if node else None,
        "controlplane_recovery_s": cp["median"] if cp else None,
        "failover_s": fo["median"] if fo else None,
    }
    if container:
        out |= {"container_recovery_max_s": container["max"], "container_trials_s": container["trials"]}
    if node:
        out |= {"node_recovery_max_s": node["max"], "node_trials_s": node["trials"]}
    if cp:
        out |= {"controlplane_recovery_max_s": cp["max"], "controlplane_api_s": cp["api"]["median"],
                "controlplane_trials_s": cp["trials"],
                "controlplane_vs_target": round(cp["median"] / CONTROLPLANE_TARGET_S, 3)}
    if fo:
        out |= {"failover_max_s": fo["max"], "failover_lease_s": fo["lease"]["median"],
                "failover_trials_s": fo["trials"], "failover_vs_target": round(fo["median"] / FAILOVER_TARGET_S, 3)}
    out["trials"] = args.trials
    print(json.dumps(out))


def _mkdir(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return True


if __name__ == "__main__":
    main()
