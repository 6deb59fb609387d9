"""Authorization's cost on the API path: pod creates by an ordinary user, RBAC on against RBAC off.

Two real ``portside up`` servers run side by side on fresh data directories, one with the default authorizer
chain (``--authorization-mode Node,RBAC``) and one with ``--authorization-mode AlwaysAllow``; everything else is
the same, admission included (each pod still gets its ServiceAccount's token volume). On each, the user
``bench-user`` authenticates with a client certificate and is allowed by a RoleBinding to ``edit`` in its
namespace, as a developer of a team would be; ``--clients`` connections create pods at once, as that many
kubectl or client processes would. The ``--pods`` creates per server are split into ``--rounds`` rounds, run
alternately on the two servers (which one goes first alternates too), so that the machine's drift falls on
both alike. A round's latency percentiles are over every create in it; the result quotes the median over rounds.

The last line printed is JSON: ``{"p99_create_ms_rbac", "p99_create_ms_open", "authz_overhead", ...}`` where
``authz_overhead`` is the RBAC server's median p99 over the open one's, less one (0.05 is 5 % slower). Beside
it, ``decision_us`` is what one authorization costs in the server's code, timed in this process on the default
policy plus the user's binding (request attributes from the path, the chain, RBAC's rules): a number that the
machine's load barely moves, which the end-to-end ratio, a few percent either way on a busy machine, cannot give.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

NAMESPACE = "team"
USER = "bench-user"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A ``portside up`` with only the API server and the access controllers (pods need their namespace's
    default ServiceAccount), and the user's credentials for it."""

    def __init__(self, base: Path, mode: str) -> None:
        self.base, self.mode, self.port = base, mode, free_port()
        self.data = base / "d"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        from portside.supervisor import COMPONENTS
        others = ",".join(c.name for c in COMPONENTS if c.name not in ("apiserver", "access-controllers"))
        self.base.mkdir(parents=True)
        log = open(self.base / "up.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "portside", "up", "--data-dir", str(self.data), "--port",
                                      str(self.port), "--disable", others, "--authorization-mode", self.mode],
                                     stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        if "API ready" not in line:
            self.stop()
            raise SystemExit(f"portside up ({self.mode}) failed to start: {line!r}; see {self.base / 'up.log'}")
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # never leave a server behind, even one stuck in its drain
            self.proc.kill()
            self.proc.wait()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def tls(self, cert: tuple[str, str] | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.data / "pki" / "ca.crt"))
        if cert:
            ctx.load_cert_chain(*cert)
        return ctx

    def user_certificate(self) -> tuple[str, str]:
        from portside.apiserver.usercerts import issue
        cert, key = issue(self.data / "pki", USER)
        (self.base / "user.crt").write_bytes(cert)
        (self.base / "user.key").write_bytes(key)
        return str(self.base / "user.crt"), str(self.base / "user.key")

    def session(self, cert: tuple[str, str] | None = None, token: str = "") -> aiohttp.ClientSession:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return aiohttp.ClientSession(self.url, headers=headers, timeout=aiohttp.ClientTimeout(total=None),
                                     connector=aiohttp.TCPConnector(ssl=self.tls(cert)))


async def prepare(server: Server) -> tuple[str, str]:
    """The team's namespace, its default ServiceAccount, and the user's RoleBinding to ``edit``."""
    admin = json.loads((server.data / "pki" / "tokens.json").read_text())["admin"]
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "team-edit"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
               "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": USER}]}
    async with server.session(token=admin) as s:
        async with s.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}}) as r:
            assert r.status == 201, await r.text()
        async with s.post(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}/rolebindings",
                          json=binding) as r:
            assert r.status == 201, await r.text()
        deadline = time.monotonic() + 30
        while True:  # the serviceaccounts controller makes it; pods are refused without it
            async with s.get(f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default") as r:
                if r.status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the default ServiceAccount never appeared")
            await asyncio.sleep(0.1)
    return server.user_certificate()


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "app", "image": "my-app:latest", "resources": {
                "requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}}]}}


async def round_of_creates(server: Server, cert: tuple[str, str], first: int, count: int, clients: int
                           ) -> list[float]:
    latencies: list[float] = []
    names = iter(range(first, first + count))

    async def client() -> None:
        async with server.session(cert) as s:
            for i in names:
                t0 = time.perf_counter()
                async with s.post(f"/api/v1/namespaces/{NAMESPACE}/pods", json=pod(f"pod-{i:05}")) as r:
                    await r.read()
                    if r.status != 201:
                        raise SystemExit(f"create on the {server.mode} server failed: {r.status} {await r.text()}")
                latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


def decision_cost(samples: int = 20_000) -> float:
    """Microseconds per authorization of the bench's create, in the server's own code and default policy."""
    from multidict import MultiDict

    from portside.api.aggregation import aggregated_rules
    from portside.api.models import ClusterRole
    from portside.apiserver.auth import authenticated
    from portside.apiserver.authz import attributes, policy
    from portside.apiserver.authz.chain import Authorizer
    from portside.apiserver.authz.rbac import PREFIX, RBACAuthorizer

    rbac = RBACAuthorizer(store=None)
    roles = policy.cluster_roles()
    typed = [ClusterRole.from_dict(r) for r in roles]
    for role in roles:
        if "aggregationRule" in role:
            role = {**role, "rules": [r.to_dict() for r in aggregated_rules(ClusterRole.from_dict(role), typed)]}
        rbac.apply(f"{PREFIX}clusterroles/{role['metadata']['name']}", json.dumps(role).encode(), 1)
    for binding in policy.cluster_bindings():
        rbac.apply(f"{PREFIX}clusterrolebindings/{binding['metadata']['name']}", json.dumps(binding).encode(), 1)
    team = {"metadata": {"name": "team-edit", "namespace": NAMESPACE}, "roleRef": {"kind": "ClusterRole",
                                                                                    "name": "edit"},
            "subjects": [{"kind": "User", "name": USER}]}
    rbac.apply(f"{PREFIX}rolebindings/{NAMESPACE}/team-edit", json.dumps(team).encode(), 1)
    chain, user, query = Authorizer(("Node", "RBAC"), rbac, None), authenticated(USER), MultiDict()

    async def decide_all() -> float:
        t0 = time.perf_counter()
        for _ in range(samples):
            decision = await chain.decide(attributes.from_request(user, "POST", f"/api/v1/namespaces/{NAMESPACE}/pods",
                                                                  query))
        assert decision.allowed
        return (time.perf_counter() - t0) / samples * 1e6
    return statistics.median(asyncio.run(decide_all()) for _ in range(5))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * q) - 1)]


async def measure(servers: dict[str, Server], certs: dict[str, tuple[str, str]], args) -> dict:
    per_round = args.pods // args.rounds
    rounds: dict[str, list[list[float]]] = {mode: [] for mode in servers}
    modes = list(servers)
    for r in range(args.rounds):
        for mode in (modes if r % 2 == 0 else modes[::-1]):
            rounds[mode].append(await round_of_creates(servers[mode], certs[mode], r * per_round, per_round,
                                                       args.clients))
    p99 = {mode: statistics.median(percentile(lat, 0.99) for lat in rounds[mode]) * 1000 for mode in modes}
    p50 = {mode: statistics.median(percentile(lat, 0.50) for lat in rounds[mode]) * 1000 for mode in modes}
    return {"p99_create_ms_rbac": round(p99["rbac"], 2), "p99_create_ms_open": round(p99["open"], 2),
            "authz_overhead": round(p99["rbac"] / p99["open"] - 1, 4),
            "p50_create_ms_rbac": round(p50["rbac"], 2), "p50_create_ms_open": round(p50["open"], 2),
            "p50_overhead": round(p50["rbac"] / p50["open"] - 1, 4),
            "pods_per_server": per_round * args.rounds, "rounds": args.rounds, "clients": args.clients}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=4000,
                        help="pod creates on each server (400 a round: a round's p99 is not its second-worst create)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds; medians over them are quoted")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (connections)")
    args = parser.parse_args()
    if args.pods // args.rounds < 100:
        parser.error("each round needs at least 100 creates for its p99: raise --pods or lower --rounds")
    with tempfile.TemporaryDirectory(prefix="portside-bench-authz-") as tmp:
        servers = {"rbac": Server(Path(tmp) / "rbac", "Node,RBAC"), "open": Server(Path(tmp) / "open", "AlwaysAllow")}
        try:
            for server in servers.values():
                server.start()

            async def run() -> dict:
                certs = {mode: await prepare(server) for mode, server in servers.items()}
                return await measure(servers, certs, args)
            result = asyncio.run(run())
        finally:
            for server in servers.values():
                server.stop()
    result["decision_us"] = round(decision_cost(), 2)
    print(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
