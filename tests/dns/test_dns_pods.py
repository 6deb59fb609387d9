"""Cluster DNS and Service variables as pods see them: one real ``portside up`` (agent, proxy, dns) for the module,
real runc pods asking with busybox's nslookup, and a dnsmasq the module starts on loopback as the node's only
upstream (``--resolv-conf``), so that no query ever leaves the machine."""

from __future__ import annotations

import json
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.reversename
import pytest
from support.dnsmasq import Dnsmasq
from support.require import require
from support.wait import eventually

from tests.agent.conftest import engine_root, ready, run_node

NS = "dnstest"
UPSTREAM_NAME, UPSTREAM_IP = "outside.example", "192.0.2.7"


@pytest.fixture(scope="module")
def node(tmp_path_factory, busybox_rootfs_tar):
    require("root", "runc", "dnsmasq")
    base = tmp_path_factory.mktemp("dns")
    root, settings = engine_root(base, busybox_rootfs_tar)
    with Dnsmasq(base, {UPSTREAM_NAME: UPSTREAM_IP}) as upstream, pytest.MonkeyPatch.context() as mp:
        resolv = base / "resolv.conf"
        resolv.write_text(f"nameserver {upstream.address}\nsearch upstream.test\noptions edns0\n")
        for n in run_node(base, root, settings, mp, extra=("--resolv-conf", str(resolv))):
            n.cluster.namespace(NS)
            start_world(n)
            yield n


def service(name: str, headless: bool = False, ports=(("http", 80),)) -> dict:
    spec = {"selector": {"app": name}, "ports": [{"name": p, "port": n, "protocol": "TCP"} for p, n in ports]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS}, "spec": spec}


def pod(name: str, labels: dict | None = None, ready_file: bool = False, **spec) -> dict:
    script = "touch /tmp/ready; exec sleep 3600" if ready_file else "exec sleep 3600"
    container = {"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", script]}
    if ready_file:
        container["readinessProbe"] = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [container], **spec}}


def start_world(n) -> None:
    """Services first (a container's Service variables are those that exist when it starts), then the pods."""
    items = [service("my-svc", ports=(("http", 80), ("metrics", 9090))), service("hl", headless=True),
             pod("client"),
             pod("web-0", {"app": "hl"}, ready_file=True, hostname="web-0", subdomain="hl"),
             pod("web-1", {"app": "hl"}, ready_file=True),
             pod("nolinks", enableServiceLinks=False),
             pod("plain-dns", dnsPolicy="Default"),
             pod("own-dns", dnsPolicy="None", dnsConfig={"nameservers": ["192.0.2.53"], "searches": ["corp.example"],
                                                         "options": [{"name": "ndots", "value": "2"}]})]
    n.apply({"apiVersion": "v1", "kind": "List", "items": items})
    for name in ("client", "web-0", "web-1", "nolinks", "plain-dns", "own-dns"):
        n.wait_pod(name, ready, timeout=60, ns=NS)


def sh(n, pod_name: str, *cmd: str, check: bool = True) -> str:
    proc = n.kubectl("exec", "-n", NS, pod_name, "--", *cmd, check=check)
    return proc.stdout + (proc.stderr if not check else "")


def nslookup(n, name: str, rtype: str = "a") -> str:
    """busybox's nslookup output (its exit status says whether every search domain answered, so it is not
    read: a short name fails under the domains where it does not exist)."""
    return sh(n, "client", "nslookup", f"-type={rtype}", name, check=False)


def pod_json(n, name: str) -> dict:
    return json.loads(n.kubectl("get", "pod", name, "-n", NS, "-o", "json").stdout)


def cluster_ip(n, name: str, ns: str = NS) -> str:
    return json.loads(n.kubectl("get", "svc", name, "-n", ns, "-o", "json").stdout)["spec"]["clusterIP"]


def gateway(n) -> str:
    from portside.engine import Engine
    return Engine(n.root).network.gateway


def ask(server: str, name: str, rtype: str = "A") -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rtype), server, timeout=2)


def addresses(response: dns.message.Message) -> set[str]:
    return {r.address for rrset in response.answer if rrset.rdtype == dns.rdatatype.A for r in rrset}


def test_a_pod_gets_the_cluster_dns_and_the_kubernetes_search_path(node):
    text = sh(node, "client", "cat", "/etc/resolv.conf")
    assert f"nameserver {gateway(node)}\n" in text
    assert f"search {NS}.svc.cluster.local svc.cluster.local cluster.local upstream.test\n" in text
    assert "options ndots:5\n" in text


def test_dns_policy_default_and_none_with_dns_config(node):
    plain = sh(node, "plain-dns", "cat", "/etc/resolv.conf")
    assert "search upstream.test" in plain and "options edns0" in plain and "cluster.local" not in plain
    own = sh(node, "own-dns", "cat", "/etc/resolv.conf")
    assert own == "nameserver 192.0.2.53\nsearch corp.example\noptions ndots:2\n"


def libc_resolve(n, name: str) -> str:
    """The address the C library's resolver (search path, ndots) gives ``name``, as an application sees it:
    busybox's ping prints it before it sends anything (a ClusterIP does not answer ICMP; that is not asked)."""
    out = sh(n, "client", "ping", "-c", "1", "-W", "1", name, check=False)
    first = out.splitlines()[0] if out else ""
    return first.split("(", 1)[1].split(")", 1)[0] if first.startswith("PING") and "(" in first else out


@pytest.mark.parametrize("name", ["my-svc", f"my-svc.{NS}", f"my-svc.{NS}.svc.cluster.local"])
def test_a_pod_resolves_a_service_by_its_short_and_full_names(node, name):
    assert libc_resolve(node, name) == cluster_ip(node, "my-svc")
    if "." not in name:  # busybox's nslookup walks the search path only for names without a dot
        out = nslookup(node, name)
        assert cluster_ip(node, "my-svc") in out and f"my-svc.{NS}.svc.cluster.local" in out, out


def test_srv_record_for_a_named_port(node):
    out = nslookup(node, f"_metrics._tcp.my-svc.{NS}.svc.cluster.local", "srv")
    assert f"9090 my-svc.{NS}.svc.cluster.local" in out, out


def test_headless_service_answers_ready_pod_ips_and_follows_readiness(node):
    ips = {name: pod_json(node, name)["status"]["podIP"] for name in ("web-0", "web-1")}
    server, name = gateway(node), f"hl.{NS}.svc.cluster.local"
    eventually(lambda: addresses(ask(server, name)) == set(ips.values()), 10, 0.05, "both pods in the answer")
    assert set(ips.values()) <= set(nslookup(node, f"hl.{NS}.svc.cluster.local").split())
    sh(node, "web-1", "rm", "/tmp/ready")
    eventually(lambda: addresses(ask(server, name)) == {ips["web-0"]}, 20, 0.05, "web-1 gone once not ready")
    sh(node, "web-1", "touch", "/tmp/ready")
    eventually(lambda: addresses(ask(server, name)) == set(ips.values()), 20, 0.05, "web-1 back once ready")


def test_pod_hostname_under_its_subdomain(node):
    ip = pod_json(node, "web-0")["status"]["podIP"]
    fqdn = f"web-0.hl.{NS}.svc.cluster.local"
    assert ip in nslookup(node, fqdn)
    assert f"{ip}\t{fqdn}\tweb-0" in sh(node, "web-0", "cat", "/etc/hosts")
    assert sh(node, "web-0", "hostname").strip() == "web-0"
    srv = nslookup(node, f"_http._tcp.hl.{NS}.svc.cluster.local", "srv")
    assert f"80 {fqdn}" in srv, srv


def test_reverse_lookup_of_a_cluster_ip(node):
    ip = cluster_ip(node, "my-svc")
    response = ask(gateway(node), dns.reversename.from_address(ip).to_text(), "PTR")
    assert [r.target.to_text() for rrset in response.answer for r in rrset] == [f"my-svc.{NS}.svc.cluster.local."]


def test_unknown_names_are_nxdomain_and_other_types_nodata(node):
    out = nslookup(node, f"nosuch.{NS}.svc.cluster.local.")
    assert "NXDOMAIN" in out, out
    server = gateway(node)
    assert ask(server, f"nosuch.{NS}.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN
    nodata = ask(server, f"my-svc.{NS}.svc.cluster.local", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer and nodata.authority


def test_a_service_created_and_deleted_is_seen_within_a_second(node):
    server, name = gateway(node), f"late.{NS}.svc.cluster.local"
    node.apply(service("late"))
    created = time.monotonic()
    answer = eventually(lambda: addresses(ask(server, name)), 5, 0.01, "the new Service in DNS")
    assert time.monotonic() - created < 1.0 and answer == {cluster_ip(node, "late")}
    node.kubectl("delete", "svc", "late", "-n", NS)
    deleted = time.monotonic()
    eventually(lambda: ask(server, name).rcode() == dns.rcode.NXDOMAIN, 5, 0.01, "the Service gone from DNS")
    assert time.monotonic() - deleted < 1.0


def test_other_names_are_forwarded_to_the_nodes_upstream(node):
    out = nslookup(node, UPSTREAM_NAME)
    assert UPSTREAM_IP in out, out


def test_service_environment_variables(node):
    env = dict(line.split("=", 1) for line in sh(node, "client", "env").splitlines() if "=" in line)
    ip = cluster_ip(node, "my-svc")
    assert env["MY_SVC_SERVICE_HOST"] == ip and env["MY_SVC_SERVICE_PORT"] == "80"
    assert env["MY_SVC_SERVICE_PORT_HTTP"] == "80" and env["MY_SVC_SERVICE_PORT_METRICS"] == "9090"
    assert env["MY_SVC_PORT"] == f"tcp://{ip}:80"
    assert env["MY_SVC_PORT_9090_TCP"] == f"tcp://{ip}:9090" and env["MY_SVC_PORT_9090_TCP_ADDR"] == ip
    assert env["MY_SVC_PORT_9090_TCP_PROTO"] == "tcp" and env["MY_SVC_PORT_9090_TCP_PORT"] == "9090"
    assert env["KUBERNETES_SERVICE_HOST"] == cluster_ip(node, "kubernetes", "default")
    assert not any(k.startswith("HL_") for k in env)  # headless: no ClusterIP, no variables
    links = sh(node, "nolinks", "env")
    assert "KUBERNETES_SERVICE_HOST=" in links and "MY_SVC_" not in links


def test_kube_dns_service_is_listed_with_the_nodes_dns_as_endpoint(node):
    svc = json.loads(node.kubectl("get", "svc", "kube-dns", "-n", "kube-system", "-o", "json").stdout)
    assert svc["spec"]["clusterIP"] == "10.96.0.10"
    assert {(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]} == {("dns", 53, "UDP"),
                                                                                     ("dns-tcp", 53, "TCP")}
    endpoints = eventually(lambda: json.loads(node.kubectl("get", "endpoints", "kube-dns", "-n", "kube-system",
                                                           "-o", "json", check=False).stdout or "{}").get("subsets"),
                           10, 0.2, "kube-dns endpoints")
    assert [a["ip"] for a in endpoints[0]["addresses"]] == [gateway(node)]
