"""Pod startup through the whole stack: ``kubectl apply`` of a Deployment of N replicas (busybox, image already
present) until all N pods are Ready, on real runc containers under ``portside up``.

Measured from the moment ``kubectl apply`` starts to the moment a watch sees the N-th pod Ready; per pod, from the
watch's first sight of the pod (its creation) to its first Ready. N=3 runs ROUNDS times (a fresh Deployment
each time) so the p99 has more than three samples. Needs root. Last line: JSON
{"n3_ready_s", "n30_ready_s", "p99_pod_startup_s", ...}.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ROUNDS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def portside(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portside", "--root", str(root), *args], check=True,
                          capture_output=True, text=True, timeout=120)


def engine_root(work: Path) -> tuple[Path, dict]:
    from examples.busybox import make_tarball
    tag = os.urandom(3).hex()
    root = work / "engine"
    root.mkdir()
    settings = {"bridge": f"pbn{tag}", "subnet": f"10.{random.randint(128, 250)}.{random.randint(0, 255)}.0/24",
                "cgroup_parent": f"portside-bench-{tag}"}
    (root / "engine.json").write_text(json.dumps(settings))
    portside(root, "import", str(make_tarball(work)), "busybox")
    return root, settings


def start_cluster(root: Path, data: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "portside", "--root", str(root), "up", "--data-dir", str(data), "--port",
           str(free_port())]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(data.parent / "up.log", "ab"), text=True)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = proc.stdout.readline() if sel.select(30) else ""
    if "API ready" not in line:
        proc.kill()
        raise RuntimeError(f"portside up did not become ready: {line!r}")
    return proc


def deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "terminationGracePeriodSeconds": 0,
                         "containers": [{"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                         "command": ["sleep", "3600"]}]}}}}


def is_ready(pod) -> bool:
    """``pod`` is the client's typed Pod."""
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status and pod.status.conditions) or [])


async def watch_ready(client, ns: str, n: int, seen: dict, ready: dict, done: asyncio.Event) -> None:
    async for event in client.watch("pods", ns):
        uid, now = event.object.metadata.uid, time.monotonic()
        seen.setdefault(uid, now)
        if event.type != "DELETED" and is_ready(event.object):
            ready.setdefault(uid, now)
        if len(ready) >= n:
            done.set()


async def one_run(client, kubeconfig: str, ns: str, n: int) -> tuple[float, list[float]]:
    """(apply -> all Ready seconds, per-pod startup seconds)."""
    await client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    seen, ready, done = {}, {}, asyncio.Event()
    watcher = asyncio.ensure_future(watch_ready(client, ns, n, seen, ready, done))
    await asyncio.sleep(0.2)  # the watch is established before the apply starts the clock
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec("kubectl", "--kubeconfig", kubeconfig, "apply", "-n", ns, "-f", "-",
                                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    await proc.communicate(json.dumps(deployment("bench", n)).encode())
    await asyncio.wait_for(done.wait(), 120)
    total = time.monotonic() - started
    watcher.cancel()
    await client.delete("deployments.apps", "bench", ns, propagation="Foreground")
    return total, [ready[u] - seen[u] for u in ready]


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


async def measure(kubeconfig: str) -> dict:
    from portside.client import Client
    async with Client.from_kubeconfig(kubeconfig) as client:
        n3 = [await one_run(client, kubeconfig, f"bench-n3-{i}", 3) for i in range(ROUNDS)]
        n30, n30_pods = await one_run(client, kubeconfig, "bench-n30", 30)
    small = [s for _, run in n3 for s in run]
    return {"n3_ready_s": round(sorted(t for t, _ in n3)[len(n3) // 2], 3), "n30_ready_s": round(n30, 3),
            "p99_pod_startup_s": round(p99(small), 3), "n3_rounds": ROUNDS,
            "n3_ready_s_all": [round(t, 3) for t, _ in n3], "n30_p99_pod_startup_s": round(p99(n30_pods), 3)}


def cleanup(root: Path, settings: dict) -> None:
    from portside.engine import Engine
    engine = Engine(root)
    for info in engine.list(all=True):
        engine.remove(info["Id"], force=True)
    for sandbox in (root / "pods").glob("*/*"):
        engine.network.detach(sandbox.name)
    engine.network.teardown()
    for base in (Path("/sys/fs/cgroup"), *Path("/sys/fs/cgroup").glob("*")):
        parent = base / settings["cgroup_parent"]
        for d in [*(d for d in parent.iterdir() if d.is_dir()), parent] if parent.is_dir() else []:
            try:
                d.rmdir()
            except OSError:
                pass


def main() -> int:
    if os.geteuid() != 0:
        print(json.dumps({"n3_ready_s": None, "n30_ready_s": None, "p99_pod_startup_s": None,
                          "reason": "needs root (real runc containers)"}))
        return 0
    with tempfile.TemporaryDirectory(prefix="pod-startup-") as tmp:
        work = Path(tmp)
        root, settings = engine_root(work)
        proc = start_cluster(root, work / "data")
        try:
            result = asyncio.run(measure(str(work / "data" / "kubeconfig.yaml")))
        finally:
            proc.terminate()
            proc.wait(30)
            cleanup(root, settings)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
