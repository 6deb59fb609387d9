"""The agent endpoint of a joined node on another host (a network namespace): stock kubectl's logs, exec and
top reach a pod there through the API server, over TLS both ways; the endpoint refuses anyone but the API
server, and the API server refuses an agent whose certificate names another node. One server and one joined
agent serve every test of the module."""

from __future__ import annotations

import datetime
import http.client
import json
import re
import secrets
import ssl
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.net import free_port
from support.require import require
from support.wait import eventually

from .conftest import Agent, cleanup_all, ip, server, wait_ready
from .test_join import busybox, join_command, running

BURN = "echo hello from $(hostname); while :; do :; done"


@dataclass
class Joined:
    cluster: object  # support.cluster.Cluster
    agent: Agent
    node: dict

    @property
    def endpoint(self) -> tuple[str, int]:
        status = self.node["status"]
        [address] = [a["address"] for a in status["addresses"] if a["type"] == "InternalIP"]
        return address, status["daemonEndpoints"]["kubeletEndpoint"]["Port"]


@pytest.fixture(scope="module")
def joined(tmp_path_factory, busybox_rootfs_tar) -> Iterator[Joined]:
    """A server on a test bridge and one agent on a host of its own, running a pod that prints a line and then
    burns CPU under a 200m limit."""
    require("root", "runc")
    from support.chaos import bridge_hosts

    base = tmp_path_factory.mktemp("endpoint")
    with ExitStack() as stack:
        hosts = stack.enter_context(bridge_hosts())
        netns, _ = hosts.host()
        ip("route", "add", "default", "via", hosts.gateway, netns=netns)
        cluster = stack.enter_context(server(base, "--address", hosts.gateway, "--port", str(free_port())))
        url, token = join_command(cluster)
        agent = Agent(base, busybox_rootfs_tar, f"ep-{secrets.token_hex(2)}", netns)
        stack.callback(lambda: _clean(agent))
        agent.start(url, token, "--metrics-period", "1")
        node = wait_ready(cluster, agent.name)
        p = busybox("burner", agent.name)
        p["spec"]["containers"][0].update(command=["sh", "-c", BURN],
                                          resources={"limits": {"cpu": "200m", "memory": "64Mi"}})
        cluster.kubectl("apply", "-f", "-", input=json.dumps(p))
        running(cluster, "burner")
        yield Joined(cluster, agent, node)


def _clean(agent: Agent) -> None:
    left = cleanup_all([agent])
    assert not left, f"left behind: {left}"


def test_kubectl_logs_and_exec_reach_a_pod_on_a_joined_node(joined):
    address, _ = joined.endpoint
    assert address.startswith("10.213.")  # the host's own address on the bridge, not loopback
    logs = eventually(lambda: (out := joined.cluster.kubectl("logs", "burner", check=False).stdout)
                      and "hello from" in out and out, timeout=20, what="the pod's first line in kubectl logs")
    assert logs.strip() == "hello from burner"
    out = joined.cluster.kubectl("exec", "burner", "--", "sh", "-c", "echo $((6 * 7)); hostname")
    assert out.stdout.split() == ["42", "burner"]
    piped = joined.cluster.kubectl("exec", "-i", "burner", "--", "tr", "a-z", "A-Z", input="through stdin\n")
    assert piped.stdout == "THROUGH STDIN\n"


def _top(cluster, kind: str) -> dict[str, list[str]]:
    proc = cluster.kubectl("top", kind, check=False)
    if proc.returncode != 0:
        return {}
    return {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines()[1:]}


def test_kubectl_top_shows_the_joined_node_and_its_pod(joined):
    pods = eventually(lambda: (got := _top(joined.cluster, "pods")) and "burner" in got and
                      150 <= int(got["burner"][0].removesuffix("m")) <= 260 and got, timeout=30,
                      what="kubectl top pods shows burner near 200m")
    assert re.fullmatch(r"\d+Mi", pods["burner"][1])
    nodes = eventually(lambda: (got := _top(joined.cluster, "nodes")) and joined.agent.name in got and got,
                       timeout=30, what="kubectl top nodes shows the joined node")
    assert int(nodes[joined.agent.name][0].removesuffix("m")) >= 150
    # the node's usage history reaches the API the same way (the capacity planner reads it there)
    raw = joined.cluster.kubectl("get", "--raw", f"/api/v1/nodes/{joined.agent.name}/proxy/stats/history?step=5")
    history = json.loads(raw.stdout)
    [pod] = [p for p in history["pods"] if p["name"] == "burner"]
    assert history["node"] == joined.agent.name and history["periodSeconds"] == 1
    assert pod["owner"] == {"kind": "", "name": ""} and len(pod["t"]) == len(pod["cpu"]) == len(pod["memory"])
    assert 0 < max(pod["cpu"]) <= 0.26 and min(pod["memory"]) > 0  # the quota holds (a busy machine gives less)


def _ask(joined: Joined, cert: tuple[Path, Path] | None = None, path: str = "/stats/summary") -> tuple[int, str]:
    """GET ``path`` of the agent straight from this machine, verifying the agent against the cluster CA. TLS 1.2,
    so that a refused client certificate fails the handshake itself (TLS 1.3 clients learn of it later)."""
    address, port = joined.endpoint
    ctx = ssl.create_default_context(cafile=joined.cluster.ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(*cert)
    conn = http.client.HTTPSConnection(address, port, context=ctx, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def _client_cert(base: Path, name: str, signer: tuple[x509.Certificate, object] | None) -> tuple[Path, Path]:
    """A client certificate for ``name``, signed by ``signer`` (certificate, key), or self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = signer or (None, key)
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(issuer_cert.subject if issuer_cert else subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1)).sign(issuer_key, hashes.SHA256()))
    paths = base / f"{name}.crt", base / f"{name}.key"
    paths[0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def test_the_agent_endpoint_serves_the_api_server_only(joined, tmp_path):
    pki = Path(joined.cluster.data_dir) / "pki"
    status, body = _ask(joined)  # TLS verified against the cluster CA, for the node's address: but no client cert
    assert status == 401 and "serves the API server only" in body
    ca = (x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes()),
          serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None))
    status, body = _ask(joined, _client_cert(tmp_path, "someone", ca), "/containerLogs/default/burner/app")
    assert status == 403 and 'user "someone" may not use' in body
    with pytest.raises(ssl.SSLError):  # a certificate of another CA does not get through the handshake
        _ask(joined, _client_cert(tmp_path, "kube-apiserver-kubelet-client", None))
    status, body = _ask(joined, (pki / "apiserver-kubelet-client.crt", pki / "apiserver-kubelet-client.key"))
    assert status == 200 and json.loads(body)["node"]["nodeName"] == joined.agent.name


def test_the_api_server_refuses_an_agent_whose_certificate_names_another_node(joined):
    """A Node that publishes the joined agent's address as its own: its pod's logs are not fetched from there."""
    address, port = joined.endpoint
    fake = f"impostor-{secrets.token_hex(2)}"
    cluster = joined.cluster
    cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Node",
                                                          "metadata": {"name": fake}}))
    try:
        status = {"addresses": [{"type": "InternalIP", "address": address}],
                  "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}
        cluster.kubectl("patch", "node", fake, "--subresource=status", "--type=merge", "-p",
                        json.dumps({"status": status}))
        p = busybox("misled", fake)
        p["spec"]["nodeName"] = fake
        cluster.kubectl("apply", "-f", "-", input=json.dumps(p))
        refused = cluster.kubectl("logs", "misled", check=False)
        assert refused.returncode != 0
        assert f"cannot reach the node agent of node {fake}" in refused.stderr
        assert "certificate verify failed" in refused.stderr and "Hostname mismatch" in refused.stderr
    finally:
        cluster.kubectl("delete", "pod", "misled", "--grace-period=0", "--force", "--ignore-not-found", check=False)
        cluster.kubectl("delete", "node", fake, "--ignore-not-found", check=False)


def test_port_forward_and_attach_reach_a_pod_on_a_joined_node(joined):
    """The joined node's agent dials into the pod's network namespace on its own host, and attaches to its
    container there."""
    import subprocess
    import urllib.request

    p = busybox("served", joined.agent.name)
    p["spec"]["containers"] = [
        {"name": "web", "image": "busybox", "imagePullPolicy": "IfNotPresent",
         "command": ["sh", "-c", "echo served on the joined node > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]},
        {"name": "reader", "image": "busybox", "imagePullPolicy": "IfNotPresent", "stdin": True, "stdinOnce": True,
         "command": ["sh", "-c", 'read line; echo "got $line"']}]
    joined.cluster.kubectl("apply", "-f", "-", input=json.dumps(p))
    eventually(lambda: joined.cluster.kubectl("get", "pod", "served", "-o",
                                              "jsonpath={.status.conditions[?(@.type=='Ready')].status}").stdout
               == "True", timeout=60, what="both containers of the pod running")
    attached = joined.cluster.kubectl("attach", "-i", "served", "-c", "reader", input="over there\n", timeout=30)
    assert attached.stdout == "got over there\n"
    argv = joined.cluster.kubectl_argv() + ["port-forward", "--address", "127.0.0.1", "pod/served", ":8080"]
    forward = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r"127\.0\.0\.1:(\d+) ->", forward.stdout.readline()).group(1))
        body = eventually(lambda: _get(f"http://127.0.0.1:{port}/index.html", urllib.request), timeout=20,
                          what="an answer through the port-forward")
        assert body == b"served on the joined node\n"
    finally:
        forward.kill()
        forward.wait()
    joined.cluster.kubectl("delete", "pod", "served", "--wait=false")


def _get(url: str, request) -> bytes | None:
    try:
        with request.urlopen(url, timeout=10) as answer:
            return answer.read()
    except OSError:
        return None
