"""Scheduler throughput: 5,000 nodes and 30,000 pods, an easy workload and a hard one.

(a) core: the scheduler alone (queue, filters, scores, reserve, in-memory bind), pods/s over the whole batch,
the median of ``--repeat`` fresh runs (CPU-time rate too), for
    easy: identical nodes, pods that ask only for cpu and memory (default and binpack profiles);
    hard: heterogeneous node shapes (four sizes, instance types, disk types, zones, some tainted) and pods of 60
    applications, each with one kind of constraint: required node affinity with a preferred disk type, required
    pod anti-affinity per host, topology spread over zones (DoNotSchedule) and hosts (ScheduleAnyway), or
    spreading with preferred pod affinity to another application; built from Pod/Node manifests through the
    scheduler's API seam (``pod_from_wire``), as the daemon gets them.
(b) e2e: through ``portside up`` as it ships (API server, store, pods/binding and the scheduler daemon in one
process) with simulated nodes (Node objects, no agent), the easy workload; null with the reason when the
control plane is not available in this checkout.
Last line: {"core_pods_per_s":..,"core_hard_pods_per_s":..,"hard_to_easy":..,"e2e_pods_per_s":..,"nodes":5000,...};
``hard_to_easy`` is the ratio of the two CPU-time rates of this run, which the machine's load affects least.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from portside.scheduler import InMemoryBinder, NodeInfo, PodInfo, Scheduler, node_from_wire, pod_from_wire

READY_TIMEOUT_S = 60
E2E_TIMEOUT_S = 900

SHAPES = [(100, 128), (250, 256), (500, 512), (1000, 1024), (2000, 4096)]  # (millicores, MiB)


def make_nodes(count: int) -> list[NodeInfo]:
    zones = ["a", "b", "c"]
    return [NodeInfo(f"node-{i:05d}", {"cpu": 32000, "memory": 128 << 30, "pods": 110},
                     {"topology.kubernetes.io/zone": zones[i % 3]}) for i in range(count)]


def make_pods(count: int, seed: int = 1) -> list[PodInfo]:
    rng = random.Random(seed)
    pods = []
    for i in range(count):
        cpu, mib = rng.choice(SHAPES)
        pods.append(PodInfo(f"pod-{i:05d}", requests={"cpu": cpu, "memory": mib << 20}, created=float(i)))
    return pods


ZONE, HOST = "topology.kubernetes.io/zone", "kubernetes.io/hostname"
INSTANCE = "node.kubernetes.io/instance-type"
# (instance type, cpu, memory GiB): the hard workload's node shapes, in rotation
NODE_SHAPES = [("m.large", "8", 32), ("m.xlarge", "16", 64), ("c.2xlarge", "32", 64), ("r.4xlarge", "64", 512)]
APPS = 60


def hard_node(i: int) -> dict:
    kind, cpu, mem = NODE_SHAPES[i % len(NODE_SHAPES)]
    labels = {ZONE: "abc"[i % 3], INSTANCE: kind, "disktype": "ssd" if i % 5 < 2 else "hdd"}
    spec = {"taints": [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]} if i % 10 == 9 else {}
    alloc = {"cpu": cpu, "memory": f"{mem}Gi", "pods": "110"}
    return {"metadata": {"name": f"node-{i:05d}", "labels": labels}, "spec": spec,
            "status": {"allocatable": alloc, "capacity": alloc}}


def _constraints(app: int) -> dict:
    """One kind of constraint per application, in rotation."""
    own = {"matchLabels": {"app": f"app-{app}"}}
    kind = app % 4
    if kind == 0:
        required = {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": INSTANCE, "operator": "In", "values": [NODE_SHAPES[app % 4][0], NODE_SHAPES[(app + 1) % 4][0]]}]}]}
        preferred = [{"weight": 50, "preference": {"matchExpressions": [
            {"key": "disktype", "operator": "In", "values": ["ssd"]}]}}]
        return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required,
                                              "preferredDuringSchedulingIgnoredDuringExecution": preferred}}}
    if kind == 1:
        return {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": own, "topologyKey": HOST}]}}}
    spread = [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": own},
              {"maxSkew": 1, "topologyKey": HOST, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": own}]
    if kind == 2:
        return {"topologySpreadConstraints": spread}
    near = {"labelSelector": {"matchLabels": {"app": f"app-{app - 1}"}}, "topologyKey": ZONE}
    return {"topologySpreadConstraints": spread[:1], "affinity": {"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 20, "podAffinityTerm": near}]}}}


def hard_pod(i: int, rng: random.Random) -> dict:
    app = i % APPS
    cpu, mib = rng.choice(SHAPES)
    container = {"name": "c", "image": f"app-{app}:v1",
                 "resources": {"requests": {"cpu": f"{cpu}m", "memory": f"{mib}Mi"}}}
    return {"metadata": {"name": f"app-{app}-{i:05d}", "namespace": "default", "labels": {"app": f"app-{app}"}},
            "spec": {"containers": [container], **_constraints(app)}}


def hard_cluster(nodes: int, pods: int, seed: int = 1) -> tuple[list[NodeInfo], list[PodInfo]]:
    rng = random.Random(seed)
    infos = [pod_from_wire(hard_pod(i, rng), created=float(i)) for i in range(pods)]
    return [node_from_wire(hard_node(i)) for i in range(nodes)], infos


def core(nodes: int, pods: int, profile: str, workload: str = "easy") -> dict:
    binder = InMemoryBinder()
    sched = Scheduler(binder, default_profile=profile)
    if workload == "hard":
        node_infos, batch = hard_cluster(nodes, pods)
    else:
        node_infos, batch = make_nodes(nodes), make_pods(pods)
    for info in node_infos:
        sched.set_node(info, 0.0)
    for pod in batch:
        pod.scheduler_name = profile
    started, cpu_started = time.perf_counter(), time.process_time()
    for pod in batch:
        sched.enqueue(pod, 0.0)
    sched.run(0.0)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # CPU time too: on a shared machine the wall clock also measures everyone else's load.
    return {"pods_per_s": round(pods / elapsed, 1), "pods_per_cpu_s": round(pods / cpu, 1),
            "seconds": round(elapsed, 3), "bound": len(binder.bound), "nodes_used": len(set(binder.bound.values()))}


def median_of(repeat: int, nodes: int, pods: int, profile: str, workload: str = "easy") -> dict:
    """The median run of ``repeat`` fresh runs (by pods/s); every run's rate is listed beside it."""
    runs = sorted((core(nodes, pods, profile, workload) for _ in range(repeat)), key=lambda r: r["pods_per_s"])
    middle = runs[len(runs) // 2]
    return middle | {"pods_per_s": statistics.median(r["pods_per_s"] for r in runs),
                     "pods_per_cpu_s": statistics.median(r["pods_per_cpu_s"] for r in runs),
                     "runs_pods_per_s": [r["pods_per_s"] for r in runs]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(data_dir: Path, port: int, components: tuple[str, ...]) -> subprocess.Popen:
    """``portside up`` on its own data directory and port running only ``components``; returns once it prints
    its ready line. The local node's agent, controllers and proxy stay out: the nodes here are simulated."""
    from portside.supervisor import COMPONENTS
    others = [arg for c in COMPONENTS if c.name not in components for arg in ("--disable", c.name)]
    cmd = [sys.executable, "-m", "portside", "up", "--data-dir", str(data_dir), "--port", str(port), *others]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(data_dir.parent / "up.log", "ab"), text=True)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = proc.stdout.readline() if sel.select(READY_TIMEOUT_S) else ""
    if "API ready" not in line:
        proc.kill()
        raise RuntimeError(f"portside up did not become ready: {line!r}")
    return proc


def stop_cluster(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def node_manifest(info: NodeInfo) -> dict:
    alloc = {"cpu": f"{info.allocatable['cpu']}m", "memory": str(info.allocatable["memory"]),
             "pods": str(info.allocatable["pods"])}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": info.name, "labels": info.labels},
            "status": {"allocatable": alloc, "capacity": alloc}}


def pod_manifest(pod: PodInfo) -> dict:
    requests = {"cpu": f"{pod.requests['cpu']}m", "memory": str(pod.requests["memory"])}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod.name},
            "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"requests": requests}}]}}


async def create_all(client, res: str, objects: list[dict], namespace: str = "", concurrency: int = 16) -> None:
    limit = asyncio.Semaphore(concurrency)

    async def one(obj: dict) -> None:
        async with limit:
            await client.create(res, obj, namespace)
    await asyncio.gather(*(one(o) for o in objects))


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of another process (the API server), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def populate(kubeconfig: str, nodes: int, pods: int) -> str:
    """Nodes and pending pods, created while no scheduler runs; the revision after the last of them."""
    from portside.client import Client

    async with Client.from_kubeconfig(kubeconfig) as client:
        # what the serviceaccounts controller (not run here) makes in every namespace; pods are refused without it
        await client.create("serviceaccounts", {"metadata": {"name": "default"}}, "default")
        await create_all(client, "nodes", [node_manifest(n) for n in make_nodes(nodes)])
        await create_all(client, "pods", [pod_manifest(p) for p in make_pods(pods)], "default")
        return (await client.list("pods", "default", limit=1)).resource_version


async def follow_bindings(kubeconfig: str, pods: int, revision: str) -> float:
    """Watch pods from ``revision`` until every one has a node (whoever bound it); the moment that happened.
    The watch reads wire dicts (``Client.raw``): the finish line shares the machine with what it times, and
    needs no typed model of each pod."""
    from portside.client import Client

    bound: set[str] = set()
    async with Client.from_kubeconfig(kubeconfig) as client:
        async with asyncio.timeout(E2E_TIMEOUT_S):
            async for event in client.raw.watch("pods", "default", resource_version=revision):
                if event.object["spec"].get("nodeName"):
                    bound.add(event.name)
                    if len(bound) >= pods:
                        return time.perf_counter()
        return time.perf_counter()


async def unbound(kubeconfig: str) -> int:
    """Pods without a node, by a list after the run (spec.nodeName empty)."""
    from portside.client import Client

    async with Client.from_kubeconfig(kubeconfig) as client:
        listed = await client.list("pods", "default", field_selector="spec.nodeName=")
        return len(listed.items)


def e2e(nodes: int, pods: int) -> dict:
    """The real thing: ``portside up`` running the API server and the scheduler daemon in one process, as it
    ships. Nodes and pods are created first by an ``up`` without the scheduler (not timed); then ``up`` starts
    again with it, and the clock runs from that launch (interpreter start, the API server's start and the
    scheduler's initial lists included) until a watch has seen every pod with a node. ``left_unbound`` checks
    it by listing afterwards; ``up_cpu_s`` is the CPU the whole ``up`` process used over the timed run."""
    with tempfile.TemporaryDirectory(prefix="portside-bench-") as tmp:
        data_dir, port = Path(tmp) / "data", free_port()
        kubeconfig = str(data_dir / "kubeconfig.yaml")
        proc = start_cluster(data_dir, port, ("apiserver",))
        try:
            revision = asyncio.run(populate(kubeconfig, nodes, pods))
        finally:
            stop_cluster(proc)
        started = time.perf_counter()
        proc = start_cluster(data_dir, port, ("apiserver", "scheduler"))
        try:
            ready_s = time.perf_counter() - started
            finished = asyncio.run(follow_bindings(kubeconfig, pods, revision))
            up_cpu = process_cpu_s(proc.pid)
            left = asyncio.run(unbound(kubeconfig))
        finally:
            stop_cluster(proc)
    elapsed = finished - started
    return {"pods_per_s": round(pods / elapsed, 1), "seconds": round(elapsed, 3), "ready_s": round(ready_s, 3),
            "up_cpu_s": round(up_cpu, 2), "left_unbound": left}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=30000)
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="core runs per case; the median is reported")
    parser.add_argument("--skip-easy", action="store_true", help="only the hard workload (profiling)")
    args = parser.parse_args(argv)
    result: dict = {}
    if not args.skip_easy:
        default = median_of(args.repeat, args.nodes, args.pods, "default-scheduler")
        print(f"core easy, default profile: {default}", file=sys.stderr)
        binpack = median_of(args.repeat, args.nodes, args.pods, "binpack")
        print(f"core easy, binpack profile: {binpack}", file=sys.stderr)
        result |= {"core_pods_per_s": default["pods_per_s"], "core_pods_per_cpu_s": default["pods_per_cpu_s"],
                   "core_binpack_pods_per_s": binpack["pods_per_s"]}
    hard = median_of(args.repeat, args.nodes, args.pods, "default-scheduler", "hard")
    print(f"core hard, default profile: {hard}", file=sys.stderr)
    result |= {"core_hard_pods_per_s": hard["pods_per_s"], "core_hard_pods_per_cpu_s": hard["pods_per_cpu_s"],
               "core_hard_bound": hard["bound"], "core_hard_target_pods_per_s": 3000,
               "hard_to_easy": round(hard["pods_per_cpu_s"] / default["pods_per_cpu_s"], 3) if not args.skip_easy
               else None,
               "load_avg_1m": os.getloadavg()[0], "e2e_pods_per_s": None, "nodes": args.nodes, "pods": args.pods}
    if args.skip_e2e:
        result["e2e_error"] = "skipped (--skip-e2e)"
    else:
        try:
            through_api = e2e(args.nodes, args.pods)
            print(f"e2e through portside up: {through_api}", file=sys.stderr)
            result["e2e_pods_per_s"] = through_api["pods_per_s"]
        except (OSError, RuntimeError, TimeoutError) as exc:
            result["e2e_error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
