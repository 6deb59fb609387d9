"""The proxy inside a real ``portside up``: Services and Endpoints written through the API client, traffic on
real sockets, status, Events and metrics read back through the API."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from support.builders import endpoints
from support.builders import stored_service as service
from support.cluster import Cluster
from support.net import free_port, port_closed
from support.wait import eventually

from portside.client import AlreadyExists, Client

from .traffic import get, spread, within_even


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster") / "data", node=("proxy",)).start()
    try:
        yield c
    finally:
        c.stop()
        if os.geteuid() == 0:  # every rule went with the proxy
            assert subprocess.run(["nft", "list", "table", "ip", f"portside_svc_{c.proc.pid}"],
                                  capture_output=True).returncode != 0


def call(cluster: Cluster, method: str, *args, **kw):
    """One request through the portside client, from synchronous test code."""
    async def go():
        async with Client.from_kubeconfig(cluster.kubeconfig) as client:
            return await getattr(client.raw, method)(*args, **kw)  # the tests read wire dicts
    return asyncio.run(go())


def apply(cluster: Cluster, *objs: dict) -> None:
    """Create each object, or replace it when it exists (the test owns every object it writes)."""
    for obj in objs:
        resource = obj["kind"]  # the client resolves kinds to their resource
        try:
            call(cluster, "create", resource, obj)
        except AlreadyExists:
            meta = obj["metadata"]
            current = call(cluster, "get", resource, meta["name"], meta["namespace"])
            call(cluster, "update", resource, {**obj, "metadata": {**meta, "resourceVersion":
                                                                   current["metadata"]["resourceVersion"]}})


def namespace(cluster: Cluster, name: str) -> None:
    try:
        call(cluster, "create", "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    except AlreadyExists:
        pass


def get_service(cluster: Cluster, ns: str, name: str = "web") -> dict:
    return call(cluster, "get", "services", name, ns)


def events(cluster: Cluster, ns: str, reason: str) -> list[dict]:
    return [e for e in call(cluster, "list", "events", ns).items if e["reason"] == reason]


def answers(port: int, host: str = "127.0.0.1") -> str | None:
    try:
        return get(host, port, timeout=2)
    except OSError:
        return None


def lb_service(cluster: Cluster, ns: str, name: str, group, port: int, **kw) -> None:
    namespace(cluster, ns)
    apply(cluster, service(name, [{"port": port, "targetPort": 8080}], type="LoadBalancer", cluster_ip="",
                           namespace=ns, **kw),
          endpoints(name, [(b.ip, b.port) for b in group], namespace=ns))


def test_load_balancer_answers_spreads_and_reports(cluster, backends) -> None:
    group, port = [backends(f"b{i}") for i in range(3)], free_port()
    lb_service(cluster, "lb1", "web", group, port)
    eventually(lambda: answers(port), 10, what="the LoadBalancer port to answer")
    counts = spread("127.0.0.1", port, 300)
    print("LoadBalancer through portside up, 300 requests:", dict(counts))
    assert within_even(counts, 300, 3), counts
    status = eventually(lambda: get_service(cluster, "lb1").get("status", {}).get("loadBalancer"), 5,
                      what="status.loadBalancer")
    assert status["ingress"][0]["ip"]
    if os.geteuid() == 0:
        spec = get_service(cluster, "lb1")["spec"]
        assert set(spread(spec["clusterIP"], port, 6)) == {"b0", "b1", "b2"}
        node_port = spec["ports"][0]["nodePort"]  # programmed on its own, maybe a moment after the LB port
        eventually(lambda: answers(node_port), 10, what="the NodePort to answer")
        assert set(spread("127.0.0.1", node_port, 6)) == {"b0", "b1", "b2"}


def test_portside_top_shows_connections_per_endpoint(cluster, backends) -> None:
    group, port = [backends("t0"), backends("t1")], free_port()
    lb_service(cluster, "top1", "web", group, port)
    eventually(lambda: answers(port), 10, what="the LoadBalancer port to answer")
    spread("127.0.0.1", port, 10)
    last = [""]

    def table() -> str | None:
        out = subprocess.run([sys.executable, "-m", "portside", "top", "services", "--kubeconfig", cluster.kubeconfig,
                              "-n", "top1"], capture_output=True, text=True).stdout
        rows = [r for r in map(str.split, out.splitlines()[1:]) if r[2] == "userspace" and r[1] != "(none)"]
        last[0] = out
        return out if len(rows) == 2 and sum(int(r[3]) for r in rows) >= 10 else None  # 10 + the probes
    try:
        out = eventually(table, 10, interval=0.3, what="portside top to show 10 connections")
    except AssertionError:
        raise AssertionError(f"portside top showed:\n{last[0]}") from None
    print(out)
    assert out.splitlines()[0].split() == ["SERVICE", "ENDPOINT", "PLANE", "CONNECTIONS", "ACTIVE", "BYTES-IN",
                                           "BYTES-OUT", "ERRORS"]


def test_an_endpoint_leaving_gets_no_new_connection_within_1s(cluster, backends) -> None:
    slow, fast1, fast2 = backends("slow", slow=2.0), backends("fast1"), backends("fast2")
    port = free_port()
    lb_service(cluster, "drain1", "web", [slow, fast1, fast2], port)
    eventually(lambda: answers(port), 10, what="the LoadBalancer port to answer")
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(get("127.0.0.1", port, "/slow"))) for _ in range(6)]
    for t in threads:
        t.start()
    apply(cluster, endpoints("web", [(fast1.ip, fast1.port), (fast2.ip, fast2.port)], [(slow.ip, slow.port)],
                             namespace="drain1"))
    changed = time.monotonic()
    seen = []
    while time.monotonic() - changed < 1.5:
        seen.append((time.monotonic() - changed, get("127.0.0.1", port)))
    late = [round(t, 3) for t, body in seen if body == "slow" and t > 1.0]
    assert not late, f"the not-ready backend still got new connections at {late} s"
    for t in threads:
        t.join(10)
    assert "slow" in results and len(results) == 6  # in-flight requests finished, on the departed backend too


def test_no_ready_endpoints_refuses_fast(cluster, backends) -> None:
    b, port = backends("b"), free_port()
    namespace(cluster, "empty1")
    apply(cluster, service("web", [{"port": port, "targetPort": 8080}], type="LoadBalancer", cluster_ip="",
                           namespace="empty1"),
          endpoints("web", [], not_ready=[(b.ip, b.port)], namespace="empty1"))

    def reset() -> bool:
        try:
            get("127.0.0.1", port, timeout=2)
        except ConnectionResetError:
            return True
        except OSError:
            return False
        raise AssertionError("a not-ready address got a connection")
    eventually(reset, 10, what="a reset from the LoadBalancer port")
    start = time.monotonic()
    assert reset() and time.monotonic() - start < 0.5


def test_a_taken_port_is_reported_as_event_and_condition(cluster, backends) -> None:
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        lb_service(cluster, "conflict1", "web", [backends("b")], port)
        cond = eventually(lambda: next((c for c in get_service(cluster, "conflict1").get(
            "status", {}).get("conditions", []) if c["type"] == "PortsAvailable"), None), 10, what="the condition")
        assert (cond["status"], cond["reason"]) == ("False", "PortConflict")
        assert f"port {port}/TCP" in cond["message"] and "already in use" in cond["message"]
        assert not get_service(cluster, "conflict1")["status"].get("loadBalancer", {}).get("ingress")
        found = eventually(lambda: events(cluster, "conflict1", "PortConflict"), 10, what="the PortConflict event")
        assert found[0]["type"] == "Warning" and found[0]["involvedObject"]["name"] == "web"
    finally:
        holder.close()


def test_a_bad_algorithm_annotation_is_an_event_and_round_robin_serves(cluster, backends) -> None:
    port = free_port()
    lb_service(cluster, "annot1", "web", [backends("a"), backends("b")], port,
               annotations={"portside.io/lb-algorithm": "fastest"})
    eventually(lambda: answers(port), 10, what="the LoadBalancer port to answer")
    assert spread("127.0.0.1", port, 4) == {"a": 2, "b": 2}
    found = eventually(lambda: events(cluster, "annot1", "InvalidAnnotation"), 10, what="the InvalidAnnotation event")
    assert 'unknown algorithm "fastest"' in found[0]["message"]


def test_deleting_the_service_removes_its_rules_and_listener(cluster, backends) -> None:
    port = free_port()
    lb_service(cluster, "del1", "web", [backends("a")], port)
    eventually(lambda: answers(port), 10, what="the LoadBalancer port to answer")
    spec = get_service(cluster, "del1")["spec"]
    table = f"portside_svc_{cluster.proc.pid}"

    def rules() -> str:
        return subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True).stdout
    if os.geteuid() == 0:
        assert spec["clusterIP"] in rules() and str(spec["ports"][0]["nodePort"]) in rules()
    call(cluster, "delete", "services", "web", "del1")

    eventually(lambda: port_closed("127.0.0.1", port), 5, what="the listener to close")
    if os.geteuid() == 0:
        eventually(lambda: spec["clusterIP"] not in rules(), 5, what="the ClusterIP rules to go")
        assert str(spec["ports"][0]["nodePort"]) not in rules()
