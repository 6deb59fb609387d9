"""Scheduler throughput: 5,000 nodes and 30,000 pods.

(a) core: the scheduler alone (queue, filters, scores, reserve, in-memory bind), pods/s over the whole batch.
(b) e2e: through ``portside up`` (API server, store, pods/binding) with simulated nodes; null with the reason when
the control plane is not available in this checkout.
Last line: {"core_pods_per_s":..,"e2e_pods_per_s":..,"nodes":5000,"pods":30000,...}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

from portside.scheduler import InMemoryBinder, NodeInfo, PodInfo, Scheduler

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


def core(nodes: int, pods: int, profile: str) -> dict:
    binder = InMemoryBinder()
    sched = Scheduler(binder, default_profile=profile)
    for info in make_nodes(nodes):
        sched.set_node(info, 0.0)
    batch = make_pods(pods)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=30000)
    args = parser.parse_args(argv)
    default = core(args.nodes, args.pods, "default-scheduler")
    print(f"core default profile: {default}", file=sys.stderr)
    binpack = core(args.nodes, args.pods, "binpack")
    print(f"core binpack profile: {binpack}", file=sys.stderr)
    result = {"core_pods_per_s": default["pods_per_s"], "core_pods_per_cpu_s": default["pods_per_cpu_s"],
              "core_binpack_pods_per_s": binpack["pods_per_s"], "load_avg_1m": os.getloadavg()[0],
              "e2e_pods_per_s": None, "e2e_error": "not measured", "nodes": args.nodes, "pods": args.pods}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
