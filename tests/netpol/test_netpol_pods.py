"""Network policies on real pods: one ``portside up`` (agent, proxy, DNS, netpol) for the module, five busybox pods
in two namespaces, each serving ports 80 ("http"), 81 and 8081 ("alt") with nc, and real connections between them.

Each case applies policies, waits until the whole connection matrix (every source pod x every other pod x each
port) is what the policies mean, and deletes them again, after which the matrix is all open. Refused connections
fail at once (the node answers with a reset), so a matrix of 60 connections takes a second or two.
"""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.builders import network_policy
from support.require import require
from support.wait import eventually

from tests.agent.conftest import ready, run_node

NS_A, NS_B = "np-a", "np-b"
PODS = {"db": (NS_A, "db"), "web": (NS_A, "web"), "other": (NS_A, "other"), "web-b": (NS_B, "web"),
        "tool-b": (NS_B, "tool")}  # name -> (namespace, app label)
PORTS = (80, 81, 8081)
SERVE = "for p in 80 81 8081; do nc -ll -p $p -e echo ok & done; wait"
PROBE = ('for t in $TARGETS; do if nc -w 2 ${t%:*} ${t#*:} </dev/null 2>/dev/null | grep -q ok; '
         'then echo "$t ok"; else echo "$t no"; fi; done')
MATRIX_TIMEOUT_S = 20


def pod(name: str, namespace: str, app: str, **spec) -> dict:
    container = {"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", SERVE],
                 "ports": [{"name": "http", "containerPort": 80}, {"containerPort": 81},
                           {"name": "alt", "containerPort": 8081}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                           "labels": {"app": app}},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [container], **spec}}


def namespace(name: str, team: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": team}}}


@pytest.fixture(scope="module")
def node(tmp_path_factory, busybox_rootfs_tar):
    from tests.agent.conftest import engine_root
    require("root", "runc", "nft")
    base = tmp_path_factory.mktemp("netpol")
    root, settings = engine_root(base, busybox_rootfs_tar)
    with pytest.MonkeyPatch.context() as mp:
        for n in run_node(base, root, settings, mp):
            n.apply({"apiVersion": "v1", "kind": "List", "items": [namespace(NS_A, "a"), namespace(NS_B, "b")]})
            n.apply({"apiVersion": "v1", "kind": "List",
                     "items": [pod(name, ns, app) for name, (ns, app) in PODS.items()]})
            n.ips = {name: n.wait_pod(name, ready, timeout=90, ns=ns)["status"]["podIP"]
                     for name, (ns, _) in PODS.items()}
            yield n


def probe(n, source: str, targets: list[tuple[str, int]]) -> dict[tuple[str, int], bool]:
    ns, _ = PODS[source]
    env = " ".join(f"{n.ips[d]}:{p}" for d, p in targets)
    out = n.kubectl("exec", "-n", ns, source, "--", "env", f"TARGETS={env}", "sh", "-c", PROBE, timeout=60).stdout
    by_address = dict(line.rsplit(" ", 1) for line in out.splitlines())
    return {(d, p): by_address[f"{n.ips[d]}:{p}"] == "ok" for d, p in targets}


def matrix(n) -> dict[tuple[str, str, int], bool]:
    """Whether each source pod reaches each other pod on each port, every source probed at once."""
    def row(source: str) -> dict:
        targets = [(d, p) for d in PODS if d != source for p in PORTS]
        return {(source, d, p): ok for (d, p), ok in probe(n, source, targets).items()}
    with ThreadPoolExecutor(len(PODS)) as pool:
        return {k: v for part in pool.map(row, PODS) for k, v in part.items()}


def expect(allowed) -> dict[tuple[str, str, int], bool]:
    return {(s, d, p): bool(allowed(s, d, p)) for s in PODS for d in PODS if d != s for p in PORTS}


def converges(n, allowed, what: str) -> None:
    """The matrix becomes ``allowed`` (a predicate on source, destination, port); on timeout the differences."""
    want = expect(allowed)
    seen: list[dict] = []

    def check() -> bool:
        seen[:] = [matrix(n)]
        return seen[0] == want
    try:
        eventually(check, MATRIX_TIMEOUT_S, what=what)
    except AssertionError:
        wrong = sorted(f"{s}->{d}:{p} {'open' if ok else 'refused'}" for (s, d, p), ok in seen[0].items()
                       if want[(s, d, p)] != ok)
        raise AssertionError(f"{what}: wrong connections {wrong}") from None


def apply(n, *policies: dict) -> None:
    n.apply({"apiVersion": "v1", "kind": "List", "items": list(policies)})


def remove(n, *policies: dict) -> None:
    for p in policies:
        n.kubectl("delete", "networkpolicy", "-n", p["metadata"]["namespace"], p["metadata"]["name"])


def case(n, policies: list[dict], allowed, what: str) -> None:
    """Apply, check the matrix, remove, check that everything is open again."""
    apply(n, *policies)
    try:
        converges(n, allowed, what)
    finally:
        remove(n, *policies)
    converges(n, lambda s, d, p: True, f"{what}: open again once removed")


def to_db(allowed_sources, ports=PORTS):
    """Connections into db only from ``allowed_sources`` on ``ports``; every other pod open."""
    return lambda s, d, p: d != "db" or (s in allowed_sources and p in ports)


DB = {"matchLabels": {"app": "db"}}


def test_without_policies_everything_connects(node):
    converges(node, lambda s, d, p: True, "no policies")


def test_default_deny_plus_one_allow_rule(node):
    deny = network_policy("deny-all", NS_A)
    allow = network_policy("web-to-db", NS_A, podSelector=DB, ingress=[
        {"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 80}]}])
    case(node, [deny, allow], lambda s, d, p: PODS[d][0] != NS_A or (s, d, p) == ("web", "db", 80),
         "default deny in np-a, web -> db:80 allowed")


def test_a_namespace_selector_admits_every_pod_of_the_namespaces_it_picks(node):
    policy = network_policy("from-b", NS_A, podSelector=DB, ingress=[
        {"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}])
    case(node, [policy], to_db({"web-b", "tool-b"}), "db admits np-b")


def test_both_selectors_in_one_peer_and_and_separate_peers_or(node):
    web, team_b = {"matchLabels": {"app": "web"}}, {"matchLabels": {"team": "b"}}
    anded = network_policy("and", NS_A, podSelector=DB, ingress=[
        {"from": [{"namespaceSelector": team_b, "podSelector": web}]}])
    case(node, [anded], to_db({"web-b"}), "web pods of np-b only")
    ored = network_policy("or", NS_A, podSelector=DB, ingress=[
        {"from": [{"namespaceSelector": team_b}, {"podSelector": web}]}])
    case(node, [ored], to_db({"web-b", "tool-b", "web"}), "np-b's pods, and np-a's web")


def test_an_ip_block_with_an_exception(node):
    subnet = node.settings["subnet"]
    policy = network_policy("block", NS_A, podSelector=DB, ingress=[
        {"from": [{"ipBlock": {"cidr": subnet, "except": [f"{node.ips['web-b']}/32"]}}]}])
    case(node, [policy], to_db({"web", "other", "tool-b"}), "the pod subnet but web-b")


def test_a_named_port_and_a_port_range(node):
    named = network_policy("named", NS_A, podSelector=DB, ingress=[{"ports": [{"port": "alt"}]}])
    case(node, [named], to_db(set(PODS), ports=(8081,)), "db's port named alt (8081)")
    ranged = network_policy("range", NS_A, podSelector=DB, ingress=[{"ports": [{"port": 81, "endPort": 8081}]}])
    case(node, [ranged], to_db(set(PODS), ports=(81, 8081)), "db's ports 81-8081")


def nslookup(n, source: str) -> str:
    ns, _ = PODS[source]
    proc = n.kubectl("exec", "-n", ns, source, "--", "nslookup", "-timeout=1", "-retry=1",
                     "kube-dns.kube-system.svc.cluster.local.", check=False)
    return proc.stdout + proc.stderr


def test_egress_default_deny_blocks_dns_until_a_policy_allows_it(node):
    web = {"matchLabels": {"app": "web"}}
    deny = network_policy("web-egress", NS_A, podSelector=web, policyTypes=["Egress"])
    dns = network_policy("web-dns", NS_A, podSelector=web, egress=[{
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}])
    dns["spec"]["policyTypes"] = ["Egress"]
    assert "10.96.0.10" in nslookup(node, "web")
    apply(node, deny)
    try:
        converges(node, lambda s, d, p: s != "web", "web sends nothing")
        assert "10.96.0.10" not in nslookup(node, "web")
        apply(node, dns)
        eventually(lambda: "10.96.0.10" in nslookup(node, "web"), MATRIX_TIMEOUT_S, what="web's DNS allowed")
        converges(node, lambda s, d, p: s != "web", "web still sends nothing but DNS")
        assert "10.96.0.10" in nslookup(node, "other")  # a pod the policies do not select is untouched
    finally:
        remove(node, deny, dns)
    converges(node, lambda s, d, p: True, "open again")


def table_elements(n) -> dict:
    from portside.netpol import table_name
    proc = subprocess.run(["nft", "-j", "list", "map", "ip", table_name(n.settings["bridge"]), "ingress"],
                          capture_output=True, text=True)
    items = json.loads(proc.stdout)["nftables"] if proc.returncode == 0 else []
    return next((i["map"] for i in items if "map" in i), {})


def db_isolated(n) -> bool:
    return n.ips["db"] in json.dumps(table_elements(n).get("elem", []))


def test_a_change_applies_within_a_second(node):
    """Timed from the API's answer to the write (kubectl's own start-up is not the enforcer's) to the node's rules."""
    policy = network_policy("deny-db", NS_A, podSelector=DB)
    apply(node, policy)
    started = time.monotonic()
    try:
        eventually(lambda: db_isolated(node), 10, 0.01, what="db's address in the ingress map")
        took = time.monotonic() - started
        assert took < 1.0, f"the policy took {took:.2f} s to reach the node's rules"
        converges(node, to_db(set()), "db refuses everything")
    finally:
        remove(node, policy)
    started = time.monotonic()
    eventually(lambda: not db_isolated(node), 10, 0.01, what="db's address gone from the ingress map")
    took = time.monotonic() - started
    assert took < 1.0, f"the removal took {took:.2f} s to reach the node's rules"
    converges(node, lambda s, d, p: True, "open again")


def test_probes_pass_under_a_default_deny(node):
    probed = pod("probed", NS_B, "probed")
    main = probed["spec"]["containers"][0]
    main["command"] = ["sh", "-c", "mkdir /tmp/www && echo up > /tmp/www/index.html && httpd -p 8090 -h /tmp/www && "
                       + SERVE]
    main["readinessProbe"] = {"httpGet": {"port": 8090}, "periodSeconds": 1, "failureThreshold": 1}
    main["livenessProbe"] = {"tcpSocket": {"port": 80}, "periodSeconds": 1, "failureThreshold": 2}
    deny = network_policy("deny-everything", NS_B, policyTypes=["Ingress", "Egress"])
    node.apply(probed)
    try:
        node.wait_pod("probed", ready, timeout=60, ns=NS_B)
        apply(node, deny)
        converges(node, lambda s, d, p: PODS[s][0] != NS_B and PODS[d][0] != NS_B, "np-b isolated both ways")
        time.sleep(3)  # several probe periods under the policy: a refused probe would flip Ready at once
        now = node.pod("probed", NS_B)
        assert ready(now), now["status"]
        assert now["status"]["containerStatuses"][0]["restartCount"] == 0
    finally:
        remove(node, deny)
        node.kubectl("delete", "pod", "-n", NS_B, "probed", "--wait=false")
