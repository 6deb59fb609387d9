"""Service load-balancing benchmark: wrk through each data path, in one run, with the same settings.

Paths (each measured in several interleaved rounds), all to fast keep-alive HTTP backends (uvloop
Protocols answering a fixed response, one process each):
  direct     wrk -> one backend
  kernel1    wrk -> ClusterIP -> nftables DNAT -> the same one backend (the kernel plane's own overhead)
  kernel3    wrk -> ClusterIP -> nftables DNAT -> 3 backends
  userspace  wrk -> portside's userspace proxy (one SO_REUSEPORT worker per core) -> 3 backends
  haproxy    wrk -> HAProxy (Debian's, mode tcp, nbthread = the proxy's workers, maxconn 4000) -> 3 backends

The last line is JSON: {"direct_rps", "kernel1_rps", "kernel3_rps", "userspace_rps", "haproxy_rps",
"kernel_vs_direct" (kernel1/direct), "userspace_vs_haproxy", "p99_ms": {...}}: rps is the median of each
path's runs, and each p99 (wrk's, over every request of a run) the median over runs. Targets: kernel_vs_direct >= 0.9,
userspace_vs_haproxy >= 0.75. The kernel paths need root (nft); without it they are reported as null.
wrk and haproxy are installed with apt-get when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from portside.proxy.balance import Backend  # noqa: E402
from portside.proxy.model import ServicePort  # noqa: E402

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhello, world\n"
VIP1, VIP3 = "10.111.222.7", "10.111.222.8"


class _Http(asyncio.Protocol):
    """Answers each request head with the fixed response; keep-alive, pipelining-safe."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        n = data.count(b"\r\n\r\n")
        if n:
            self.transport.write(RESPONSE * n)


def run_backend(port: int) -> None:
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Http, "127.0.0.1", port, backlog=4096)
        print("ready", server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
    uvloop.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_tools() -> None:
    missing = [pkg for pkg, exe in (("wrk", "wrk"), ("haproxy", "haproxy")) if shutil.which(exe) is None]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def start_backends(n: int) -> tuple[list[subprocess.Popen], list[Backend]]:
    procs, backends = [], []
    for _ in range(n):
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--backend", "0"], stdout=subprocess.PIPE,
                                text=True)
        procs.append(proc)
        backends.append(Backend("127.0.0.1", int(proc.stdout.readline().split()[1])))
    return procs, backends


def wrk(url: str, args: argparse.Namespace) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of one wrk run, after a short warm-up."""
    subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", "1s", url],
                   capture_output=True, check=True)
    out = subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.seconds}s",
                          "--latency", url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def haproxy_config(port: int, threads: int, backends: list[Backend]) -> str:
    servers = "".join(f"    server b{i} {b.ip}:{b.port}\n" for i, b in enumerate(backends))
    return (f"global\n    nbthread {threads}\n    maxconn 4000\n"
            "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n"
            f"frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n"
            f"backend be\n    balance roundrobin\n{servers}")


def service(name: str, vip: str, backends: list[Backend]) -> ServicePort:
    return ServicePort("bench", name, "", "tcp", 80, "ClusterIP", vip, backends=tuple(backends))


def start_kernel(stack: contextlib.ExitStack, backends: list[Backend]) -> dict[str, str]:
    """One table with two ClusterIPs: in front of the first backend, and of all three."""
    from portside.proxy.nftables import KernelPlane, kernel_available
    if not kernel_available():
        return {}
    plane = KernelPlane(f"portside_svc_bench{secrets.token_hex(3)}")
    stack.callback(plane.close)
    plane.start()
    plane.sync([service("one", VIP1, backends[:1]), service("three", VIP3, backends)])
    return {"kernel1": f"http://{VIP1}:80/", "kernel3": f"http://{VIP3}:80/"}


def start_userspace(stack: contextlib.ExitStack, backends: list[Backend], workers: int) -> str:
    from portside.proxy.workers import UserspacePlane
    plane, port = UserspacePlane(workers, "127.0.0.1"), free_port()
    stack.callback(plane.close)
    sp = service("three", VIP3, backends)
    if plane.sync({sp.key: (sp, port)}):
        raise SystemExit(f"userspace proxy could not bind {port}")
    return f"http://127.0.0.1:{port}/"


def start_haproxy(stack: contextlib.ExitStack, backends: list[Backend], threads: int) -> str:
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as cfg:
        cfg.write(haproxy_config(port, threads, backends))
    stack.callback(os.unlink, cfg.name)
    proc = subprocess.Popen(["haproxy", "-db", "-f", cfg.name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stack.callback(proc.wait)
    stack.callback(proc.terminate)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"http://127.0.0.1:{port}/"
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"haproxy did not start: {proc.stderr.read().decode()[-500:]}") from None
            time.sleep(0.05)  # a foreign process: no event to wait on


PAIRS = (("direct", "kernel1"), ("userspace", "haproxy"), ("kernel3",))


def measure(urls: dict[str, str], args: argparse.Namespace) -> dict[str, list[tuple[float, float]]]:
    """``args.rounds`` runs per path. The two paths of each compared pair run back to back, first one then the
    other first on alternate rounds, so that the machine's other load drifts over both alike."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in urls}
    for r in range(args.rounds):
        for pair in PAIRS:
            for name in (pair if r % 2 == 0 else pair[::-1]):
                if name in urls:
                    runs[name].append(wrk(urls[name], args))
    return runs


def median_rps(runs: dict[str, list[tuple[float, float]]], name: str) -> int | None:
    """A path's throughput: the median of its interleaved runs, so one lucky (or unlucky) run moves nothing."""
    return round(statistics.median(r[0] for r in runs[name])) if runs.get(name) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, default=3, help="duration of each wrk run (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per path, interleaved (default 5)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="proxy workers, and HAProxy threads (default: one per core)")
    args = parser.parse_args()
    if args.backend is not None:
        return run_backend(args.backend)
    ensure_tools()
    with contextlib.ExitStack() as stack:
        procs, backends = start_backends(3)
        for proc in procs:
            stack.callback(proc.wait)
            stack.callback(proc.kill)
        urls = {"direct": f"http://{backends[0]}/", **start_kernel(stack, backends),
                "userspace": start_userspace(stack, backends, args.workers),
                "haproxy": start_haproxy(stack, backends, args.workers)}
        runs = measure(urls, args)
    names = ("direct", "kernel1", "kernel3", "userspace", "haproxy")
    rps = {k: median_rps(runs, k) for k in names}
    p99 = {k: (round(statistics.median(r[1] for r in runs[k]), 2) if runs.get(k) else None) for k in names}
    for name in names:
        print(f"{name:10s} {rps[name] or 0:>8} req/s   p99 {p99[name] or 0:7.2f} ms   runs: "
              f"{[round(r[0]) for r in runs.get(name, [])]}")
    print(json.dumps({
        **{f"{k}_rps": v for k, v in rps.items()},
        "kernel_vs_direct": round(rps["kernel1"] / rps["direct"], 3) if rps["kernel1"] else None,
        "userspace_vs_haproxy": round(rps["userspace"] / rps["haproxy"], 3),
        "p99_ms": p99,
        "settings": {"wrk_threads": args.threads, "connections": args.connections, "seconds": args.seconds,
                     "rounds": args.rounds, "proxy_workers": args.workers, "haproxy_threads": args.workers},
    }))


if __name__ == "__main__":
    main()
