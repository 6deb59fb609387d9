"""Cluster DNS throughput and latency from inside a pod's network namespace, against Debian's dnsmasq in the same run.

A real ``portside up`` (agent, proxy, dns) runs one busybox pod and ``--services`` Services. The load client runs
in that pod's network namespace (``nsenter --net``), so every query takes the path a pod's resolver takes: veth,
bridge, the node's DNS on the bridge gateway. dnsmasq serves the same names from a hosts file on the same gateway
address (another port), with the same client, the same queries (A for each Service's full name, round robin) and
the same load: ``--window`` queries outstanding on one UDP socket for ``--seconds``. Rounds alternate between the
two servers; qps and p99 latency are medians over ``--rounds`` rounds each.

``update_visible_ms``: a Service created through the API until the node's DNS answers its name (polled every
2 ms), median over ``--updates`` Services; the API write, the watch and the zone update are all on the clock.
The node's upstream resolvers are an empty resolv.conf: no query can leave the machine.

Needs root. Last line: JSON {"dns_qps", "dnsmasq_qps", "ratio_vs_dnsmasq", "dns_p99_ms", "dnsmasq_p99_ms",
"update_visible_ms", ...}. Targets: ratio >= 0.5, p99 < 5 ms, update < 1000 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
NS = "bench"
DNSMASQ_PORT = 5353


# -- the load client (runs in the pod's network namespace) -------------------------------------------------------

def query_wire(name: str) -> bytes:
    """An A query with ID 0 and RD set, the way a stub resolver sends one (no EDNS)."""
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\x00"
    return b"\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00\x01\x00\x01"


def load(server: str, port: int, names: list[str], seconds: float, window: int) -> dict:
    """Keep ``window`` queries outstanding for ``seconds``; answers, their latencies, and what was lost."""
    queries = [query_wire(n) for n in names]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((server, port))
    sock.setblocking(False)
    sent: dict[int, float] = {}
    latencies: list[float] = []
    next_id, errors, i = 0, 0, 0
    clock = time.perf_counter
    start = clock()
    end = start + seconds
    while True:
        now = clock()
        if now >= end:
            break
        while len(sent) < window:
            qid = next_id
            next_id = (next_id + 1) & 0xFFFF
            q = queries[i % len(queries)]
            i += 1
            sent[qid] = clock()
            sock.send(qid.to_bytes(2, "big") + q[2:])
        try:
            while True:
                data = sock.recv(4096)
                t = sent.pop(int.from_bytes(data[:2], "big"), None)
                if t is not None:
                    latencies.append(clock() - t)
                    if data[3] & 0x0F or data[7] == 0:  # an error rcode, or no answer
                        errors += 1
        except BlockingIOError:
            pass
        if len(sent) >= window:
            stale = now - 0.5  # a lost datagram must not hold its slot forever
            for qid in [q for q, t in sent.items() if t < stale]:
                del sent[qid]
            select_wait(sock)
    elapsed = clock() - start
    latencies.sort()
    return {"answers": len(latencies), "qps": len(latencies) / elapsed, "errors": errors,
            "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else None,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else None}


_SELECTORS: dict[int, selectors.BaseSelector] = {}


def select_wait(sock: socket.socket) -> None:
    sel = _SELECTORS.get(sock.fileno())
    if sel is None:
        sel = _SELECTORS[sock.fileno()] = selectors.DefaultSelector()
        sel.register(sock, selectors.EVENT_READ)
    sel.select(0.05)


def client_main(argv: list[str]) -> int:
    server, port, seconds, window, names_file = argv
    names = Path(names_file).read_text().split()
    print(json.dumps(load(server, int(port), names, float(seconds), int(window))))
    return 0


# -- the cluster and the peer ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def portside(root: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "portside", "--root", str(root), *args], check=True, capture_output=True,
                   text=True, timeout=120)


def engine_root(work: Path) -> tuple[Path, dict]:
    from examples.busybox import make_tarball
    tag = os.urandom(3).hex()
    root = work / "engine"
    root.mkdir()
    settings = {"bridge": f"pbd{tag}", "subnet": f"10.{random.randint(128, 250)}.{random.randint(0, 255)}.0/24",
                "cgroup_parent": f"portside-bench-{tag}"}
    (root / "engine.json").write_text(json.dumps(settings))
    portside(root, "import", str(make_tarball(work)), "busybox")
    return root, settings


def start_cluster(root: Path, work: Path) -> subprocess.Popen:
    resolv = work / "resolv.conf"
    resolv.write_text("# no upstream: the benchmark asks only for cluster names\n")
    data = work / "data"
    cmd = [sys.executable, "-m", "portside", "--root", str(root), "up", "--data-dir", str(data), "--port",
           str(free_port()), "--resolv-conf", str(resolv)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(work / "up.log", "ab"), text=True)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = proc.stdout.readline() if sel.select(60) else ""
    if "API ready" not in line:
        proc.kill()
        raise RuntimeError(f"portside up did not become ready: {line!r}")
    return proc


def service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80}]}}


def pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": NS},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                "name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}]}}


async def set_up(client, count: int) -> tuple[dict[str, str], str]:
    """The Services (name -> ClusterIP) and the client pod's uid, once it runs."""
    await client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    ips = {}
    for i in range(count):
        created = await client.create("services", service(f"svc-{i}"), NS)
        ips[f"svc-{i}.{NS}.svc.cluster.local"] = created.spec.cluster_ip
    await client.create("pods", pod(), NS)
    async for event in client.watch("pods", NS):
        status = event.object.status
        if status and any(c.type == "Ready" and c.status == "True" for c in status.conditions or []):
            return ips, event.object.metadata.uid
    raise RuntimeError("the client pod never became Ready")


def ask_a(server: str, name: str) -> bool:
    """True when ``server`` answers ``name`` with an address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(b"\x42\x42" + query_wire(name)[2:], (server, 53))
        try:
            data = s.recv(4096)
        except OSError:
            return False
        return data[3] & 0x0F == 0 and data[7] > 0


async def update_visible(client, server: str, rounds: int) -> list[float]:
    """Milliseconds from a Service's create request to its name answering, per round."""
    out = []
    for i in range(rounds):
        name = f"late-{i}"
        started = time.perf_counter()
        await client.create("services", service(name), NS)
        while not await asyncio.to_thread(ask_a, server, f"{name}.{NS}.svc.cluster.local"):
            await asyncio.sleep(0.002)
        out.append((time.perf_counter() - started) * 1000)
    return out


def run_client(netns: Path, server: str, port: int, names_file: Path, seconds: float, window: int) -> dict:
    proc = subprocess.run(["nsenter", f"--net={netns}", sys.executable, __file__, "--client", server, str(port),
                           str(seconds), str(window), str(names_file)], capture_output=True, text=True,
                          timeout=seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"the load client failed: {proc.stderr}")
    return json.loads(proc.stdout.splitlines()[-1])


def start_dnsmasq(work: Path, ips: dict[str, str], address: str) -> subprocess.Popen:
    hosts = work / "dnsmasq.hosts"
    hosts.write_text("".join(f"{ip} {name}\n" for name, ip in ips.items()))
    proc = subprocess.Popen(["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                             "--no-hosts", f"--addn-hosts={hosts}", f"--listen-address={address}",
                             "--bind-interfaces", f"--port={DNSMASQ_PORT}", "--pid-file=", "--user=root",
                             "--cache-size=10000", "--log-facility=-"], stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    if proc.poll() is not None:
        raise RuntimeError(f"dnsmasq did not start: {proc.stderr.read()}")
    return proc


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


def measure(work: Path, root: Path, args) -> dict:
    from portside.client import Client
    from portside.engine import Engine
    gateway = Engine(root).network.gateway

    async def prepare():
        async with Client.from_kubeconfig(str(work / "data" / "kubeconfig.yaml")) as client:
            return await set_up(client, args.services)

    ips, uid = asyncio.run(prepare())
    netns = Engine(root).network.netns_path(uid)
    names_file = work / "names.txt"
    names_file.write_text("\n".join(ips) + "\n")
    dnsmasq = start_dnsmasq(work, ips, gateway)
    runs: dict[str, list[dict]] = {"dns": [], "dnsmasq": []}
    try:
        run_client(netns, gateway, 53, names_file, 1.0, args.window)  # warm both paths (ARP, the reply cache)
        run_client(netns, gateway, DNSMASQ_PORT, names_file, 1.0, args.window)
        for _ in range(args.rounds):
            runs["dns"].append(run_client(netns, gateway, 53, names_file, args.seconds, args.window))
            runs["dnsmasq"].append(run_client(netns, gateway, DNSMASQ_PORT, names_file, args.seconds, args.window))
    finally:
        dnsmasq.terminate()
        dnsmasq.wait(10)

    async def updates():
        async with Client.from_kubeconfig(str(work / "data" / "kubeconfig.yaml")) as client:
            return await update_visible(client, gateway, args.updates)

    visible = asyncio.run(updates())
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("qps", "p50_ms", "p99_ms")} for k, v in runs.items()}
    return {"dns_qps": round(med["dns"]["qps"]), "dnsmasq_qps": round(med["dnsmasq"]["qps"]),
            "ratio_vs_dnsmasq": round(med["dns"]["qps"] / med["dnsmasq"]["qps"], 3),
            "dns_p99_ms": round(med["dns"]["p99_ms"], 3), "dnsmasq_p99_ms": round(med["dnsmasq"]["p99_ms"], 3),
            "dns_p50_ms": round(med["dns"]["p50_ms"], 3), "dnsmasq_p50_ms": round(med["dnsmasq"]["p50_ms"], 3),
            "dns_errors": sum(r["errors"] for r in runs["dns"]),
            "dnsmasq_errors": sum(r["errors"] for r in runs["dnsmasq"]),
            "update_visible_ms": round(statistics.median(visible), 1), "update_visible_max_ms": round(max(visible), 1),
            "rounds": args.rounds, "seconds": args.seconds, "window": args.window, "services": args.services}


def main() -> int:
    if sys.argv[1:2] == ["--client"]:
        return client_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="load per round and server")
    parser.add_argument("--window", type=int, default=16, help="queries outstanding")
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--updates", type=int, default=9, help="Services created for update_visible_ms")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("dns bench needs root: it runs real pods under portside up")
    with tempfile.TemporaryDirectory(prefix="dns-bench-") as tmp:
        work = Path(tmp)
        root, settings = engine_root(work)
        proc = start_cluster(root, work)
        try:
            result = measure(work, root, args)
        finally:
            proc.terminate()
            proc.wait(30)
            cleanup(root, settings)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
