"""Recovery benchmark: how long the cluster takes to come back from a failure, part by part.

Each part is one function returning {"median": s, "max": s, "trials": [...]}, run ``--trials`` times (at least 5):

(a) container_recovery_s: NOT IMPLEMENTED YET, a placeholder another change fills in (reported as null).
(b) node_recovery_s: NOT IMPLEMENTED YET, a placeholder another change fills in (reported as null).
(c) controlplane_recovery_s: ``portside up`` (SQLite) with a joined agent is SIGKILLed and started again; the
    seconds from the new process's start until the API answers *and* the agent's pod watch has resumed, seen
    from the agent's side: a pod bound to its node after the restart (image policy Never, an absent image, so no
    container start is timed) gets the status the agent writes once its watch delivers it. The API's answer
    alone is reported as ``controlplane_api_s``.
(d) failover_s: two servers on a three-member etcd; the one holding the Lease is SIGKILLed; the seconds until
    the other holds the Lease (``failover_lease_s``) and its scheduler has bound a pod created right after the
    kill. The killed server is started again (it follows) before the next trial, which kills the new leader.

Targets: control plane < 3 s, failover < 5 s; ``*_vs_target`` is the median over the target (below 1 meets it).
Needs root (the agent runs a node) and etcd (Debian's etcd-server). The last line printed is JSON with all four
keys, null only for the parts not implemented yet.
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
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests"), str(HERE.parent / "tests" / "store")]

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


def container_recovery() -> dict | None:
    """(a) Placeholder: the seconds from a container's death to its restart serving again; filled in later."""
    return None


def node_recovery() -> dict | None:
    """(b) Placeholder: the seconds from a node's loss to its pods running elsewhere; filled in later."""
    return None


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
    from etcd_cluster import EtcdCluster
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
    args = parser.parse_args()
    if args.trials < 5:
        parser.error("--trials: at least 5, so that the median means something")
    if os.geteuid() != 0 and "c" in args.parts:
        parser.error("part (c) runs an agent, which needs root")
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory(prefix="portside-recovery-") as tmp:
        base = Path(tmp)
        cp = controlplane_recovery(base / "c", args.trials) if "c" in parts and _mkdir(base / "c") else None
        fo = failover(base / "d", args.trials) if "d" in parts and _mkdir(base / "d") else None
    out = {
        "container_recovery_s": container_recovery(),  # (a) not implemented yet
        "node_recovery_s": node_recovery(),  # (b) not implemented yet
        "controlplane_recovery_s": cp["median"] if cp else None,
        "failover_s": fo["median"] if fo else None,
    }
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
