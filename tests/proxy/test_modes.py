"""Choosing the data plane: ``PORTSIDE_PROXY_MODE`` for a whole ``portside up`` (kernel, userspace, or a typo)."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from support.builders import endpoints
from support.builders import stored_service as service
from support.cluster import Cluster
from support.net import free_port
from support.wait import eventually

from .test_controller import apply, get_service, namespace
from .traffic import get, spread


@contextmanager
def cluster_in_mode(tmp_path, mode: str) -> Iterator[Cluster]:
    os.environ["PORTSIDE_PROXY_MODE"] = mode  # the up subprocess inherits it
    try:
        c = Cluster(tmp_path / "data", node=("proxy",)).start()
    finally:
        del os.environ["PORTSIDE_PROXY_MODE"]
    try:
        yield c
    finally:
        c.stop()


def workers_of(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-o", "args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "portside.proxy.worker" in line]


def answers(port: int) -> str | None:
    try:
        return get("127.0.0.1", port, timeout=2)
    except OSError:
        return None


def test_userspace_mode_serves_node_ports_without_nft(tmp_path, backends) -> None:
    with cluster_in_mode(tmp_path, "userspace") as c:
        namespace(c, "us1")
        b = backends("b")
        apply(c, service("np", [{"port": 80, "targetPort": 8080}], type="NodePort", cluster_ip="", namespace="us1"),
              endpoints("np", [(b.ip, b.port)], namespace="us1"))
        node_port = get_service(c, "us1", "np")["spec"]["ports"][0]["nodePort"]
        assert eventually(lambda: answers(node_port), 10, what="the NodePort to answer") == "b"
        assert workers_of(c.proc.pid)
        assert subprocess.run(["nft", "list", "table", "ip", f"portside_svc_{c.proc.pid}"],
                              capture_output=True).returncode != 0


def test_kernel_mode_serves_load_balancer_ports_in_nft(tmp_path, backends, needs_root) -> None:
    with cluster_in_mode(tmp_path, "kernel") as c:
        namespace(c, "k1")
        group, port = [backends("a"), backends("b")], free_port()
        apply(c, service("lb", [{"port": port, "targetPort": 8080}], type="LoadBalancer", cluster_ip="",
                         namespace="k1"),
              endpoints("lb", [(b.ip, b.port) for b in group], namespace="k1"))
        eventually(lambda: answers(port), 10, what="the LoadBalancer port to answer")
        assert spread("127.0.0.1", port, 4) == {"a": 2, "b": 2}
        assert workers_of(c.proc.pid) == []  # no userspace process in the byte path
        assert bind_error(port) == errno.EADDRINUSE, "the proxy holds the port nft serves"
        eventually(lambda: get_service(c, "k1", "lb").get("status", {}).get("loadBalancer", {}).get("ingress"), 5,
                 what="the ingress")


def bind_error(port: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
            return 0
        except OSError as err:
            return err.errno


def test_kernel_mode_leaves_a_port_another_program_holds_to_it_and_reports_the_conflict(tmp_path, backends,
                                                                                        needs_root) -> None:
    with socket.socket() as program, cluster_in_mode(tmp_path, "kernel") as c:
        program.bind(("0.0.0.0", 0))
        program.listen()
        port = program.getsockname()[1]
        namespace(c, "k2")
        apply(c, service("taken", [{"port": port, "targetPort": 8080}], type="LoadBalancer", cluster_ip="",
                         namespace="k2"),
              endpoints("taken", [(b.ip, b.port) for b in [backends("c")]], namespace="k2"))
        cond = eventually(lambda: next((x for x in get_service(c, "k2", "taken").get("status", {}).get(
            "conditions", []) if x["type"] == "PortsAvailable"), None), 10, what="the PortsAvailable condition")
        assert (cond["status"], cond["reason"]) == ("False", "PortConflict")
        assert f"port {port}/TCP" in cond["message"] and "already in use" in cond["message"]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            conn, _ = program.accept()  # the program gets its own connection: no DNAT took the port
            conn.close()


def test_an_unknown_mode_stops_up_with_one_clear_line(tmp_path) -> None:
    env = {**os.environ, "PORTSIDE_PROXY_MODE": "fastest"}
    proc = subprocess.run([sys.executable, "-m", "portside", "up", "--data-dir", str(tmp_path / "d"), "--port",
                           str(free_port())], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert 'PORTSIDE_PROXY_MODE: "fastest" is not one of auto, kernel, userspace' in proc.stderr
    assert "API ready" not in proc.stdout
