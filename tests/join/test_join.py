"""Joining nodes to a real ``portside up`` with ``portside agent``: the printed token, the pinned CA, node
credentials confined by the Node authorizer, pod CIDRs, pods running on joined nodes, detach and stop."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path

from support.builders import pod
from support.net import free_port
from support.wait import Watch, eventually

from .conftest import server, wait_ready

BUSYBOX_SLEEP = ["sleep", "3600"]


def join_command(cluster) -> tuple[str, str]:
    """Server URL and token, read the way the printed join line says to."""
    line = cluster.proc.stdout.readline()
    assert "portside agent --server" in line, line
    url = line.split("--server ", 1)[1].split()[0]
    token_file = Path(cluster.data_dir) / "node-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    return url, token_file.read_text().strip()


def running(cluster, name: str, ns: str = "default", timeout: float = 60) -> dict:
    def check(pods: dict) -> dict | None:
        p = pods.get(name)
        return p if p and (p.get("status") or {}).get("phase") == "Running" else None
    return eventually(check, timeout, what=f"pod {name} Running", watch=Watch(cluster.kubeconfig, "pods", ns))


def busybox(name: str, node_name: str, **spec) -> dict:
    p = pod(containers=[{"name": "app", "image": "busybox", "command": BUSYBOX_SLEEP,
                         "imagePullPolicy": "IfNotPresent"}], nodeSelector={"kubernetes.io/hostname": node_name},
            **spec)
    p["metadata"]["name"] = name
    return p


def test_agent_joins_runs_pods_and_its_credential_is_confined(tmp_path, agents, needs_root):
    with server(tmp_path) as cluster:
        url, token = join_command(cluster)
        a = agents("joiner-a")
        out = a.portside("agent", "-d", "--server", url, "--token", token, "--node-name", "joiner-a",
                         "--labels", "zone=a,tier=edge", "--taints", "dedicated=edge:NoSchedule")
        assert out.returncode == 0 and "node joiner-a joined" in out.stdout, out.stderr
        n = wait_ready(cluster, "joiner-a")
        assert n["metadata"]["labels"]["zone"] == "a"
        assert "node-role.kubernetes.io/control-plane" not in n["metadata"]["labels"]
        assert n["spec"]["taints"] == [{"key": "dedicated", "value": "edge", "effect": "NoSchedule"}]
        cidr = ipaddress.ip_network(n["spec"]["podCIDR"])
        assert cidr.subnet_of(ipaddress.ip_network("10.42.0.0/16")) and cidr.prefixlen == 24
        settings = a.settings()
        assert settings["subnet"] == str(cidr) and "joiner-a" in settings["cgroup_parent"]
        # the cluster's pod range, announced by node-ipam: pod routes to the other nodes follow from it
        assert settings["cluster_cidr"] == "10.42.0.0/16"
        assert n["metadata"]["annotations"]["portside.io/cluster-cidr"] == "10.42.0.0/16"
        wide = cluster.kubectl("get", "nodes", "-o", "wide").stdout
        row = wide.split("joiner-a", 1)[1].splitlines()[0]
        assert "INTERNAL-IP" in wide and "POD-CIDR" in wide and "127.0.0.1" in row and str(cidr) in row

        for s in ("used", "unused"):
            cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Secret",
                                                                  "metadata": {"name": s}, "stringData": {"k": "v"}}))
        p = busybox("bb", "joiner-a", tolerations=[{"key": "dedicated", "operator": "Exists"}])
        p["spec"]["containers"][0]["env"] = [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "used",
                                                                                          "key": "k"}}}]
        cluster.kubectl("apply", "-f", "-", input=json.dumps(p))
        ran = running(cluster, "bb")
        assert ran["spec"]["nodeName"] == "joiner-a" and ipaddress.ip_address(ran["status"]["podIP"]) in cidr

        as_node = dict(kubeconfig=a.kubeconfig, check=False)
        assert cluster.kubectl("get", "secret", "used", **as_node).returncode == 0
        refused = cluster.kubectl("get", "secret", "unused", **as_node)
        assert refused.returncode != 0
        assert 'secrets "unused" is forbidden: User "system:node:joiner-a" cannot get resource "secrets"' \
               in refused.stderr
        cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Node",
                                                              "metadata": {"name": "someone-else"}}))
        refused = cluster.kubectl("label", "node", "someone-else", "x=y", **as_node)
        assert "cannot patch resource \"nodes\"" in refused.stderr and "cannot modify node 'someone-else'" \
               in refused.stderr
        # every pod is readable (the node's network policy enforcer follows them all), but none may be made
        assert "bb" in cluster.kubectl("get", "pods", "-A", **as_node).stdout
        refused = cluster.kubectl("run", "made-by-node", "--image=busybox", **as_node)
        assert 'cannot create resource "pods"' in refused.stderr and "a node may not create pods" in refused.stderr
        assert cluster.kubectl("label", "node", "joiner-a", "x=y", **as_node).returncode == 0

        stopped = a.portside("agent", "stop", "--root", str(a.root))
        assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
        again = a.portside("agent", "stop", "--root", str(a.root))
        assert again.returncode == 1 and "no portside agent is running" in again.stderr


def test_agent_in_another_network_namespace_joins_a_server_on_the_bridge(tmp_path, hosts, agents, needs_root):
    netns, address = hosts.host()
    port = free_port()
    with server(tmp_path, "--address", hosts.gateway, "--port", str(port)) as cluster:
        url, token = join_command(cluster)
        assert url == f"https://{hosts.gateway}:{port}"
        a = agents("joiner-ns", netns)
        a.start(url, token)
        n = wait_ready(cluster, "joiner-ns")
        internal = [x["address"] for x in n["status"]["addresses"] if x["type"] == "InternalIP"]
        assert internal == [address]
        assert address in cluster.kubectl("get", "nodes", "-o", "wide").stdout
        cluster.kubectl("apply", "-f", "-", input=json.dumps(busybox("bb-ns", "joiner-ns")))
        ran = running(cluster, "bb-ns")
        assert ipaddress.ip_address(ran["status"]["podIP"]) in ipaddress.ip_network(n["spec"]["podCIDR"])
        a.stop()  # a restart needs no token: the node's own credential is kept in its root, and pods are adopted
        a.start(url, "")
        assert running(cluster, "bb-ns")["status"]["podIP"] == ran["status"]["podIP"]
        bridge = a.settings()["bridge"]
        in_ns = subprocess.run(["ip", "-n", netns, "link", "show", bridge], capture_output=True)
        on_host = subprocess.run(["ip", "link", "show", bridge], capture_output=True)
        assert in_ns.returncode == 0 and on_host.returncode != 0  # the node's bridge lives on its host only


def test_a_wrong_or_tampered_token_is_refused_on_both_sides(tmp_path, agents, needs_root):
    with server(tmp_path) as cluster:
        url, token = join_command(cluster)
        a = agents("intruder")
        other_ca = "K10" + "0" * 64 + "::" + token.split("::", 1)[1]
        out = a.portside("agent", "--server", url, "--token", other_ca, "--node-name", "intruder")
        assert out.returncode == 1
        assert "refusing to join" in out.stderr and "the join token pins " + "0" * 64 in out.stderr
        wrong_secret = token.rsplit(".", 1)[0] + "." + "a" * 16
        out = a.portside("agent", "--server", url, "--token", wrong_secret, "--node-name", "intruder")
        assert out.returncode == 1 and "does not match" in out.stderr, out.stderr
        out = a.portside("agent", "--server", url, "--token", "K10abc", "--node-name", "intruder")
        assert out.returncode == 2 and "invalid join token" in out.stderr
        log = eventually(lambda: (t := cluster.log()).count("join refused") >= 2 and t, what="refusals logged")
        assert "pins CA sha256 " + "0" * 64 in log and "the secret of token" in log
        assert not (a.root / "agent" / "kubeconfig.yaml").exists()
        assert subprocess.run(cluster.kubectl_argv() + ["get", "node", "intruder"], capture_output=True).returncode


def test_up_with_another_address_serves_a_certificate_naming_it(tmp_path, hosts):
    port = free_port()
    with server(tmp_path, "--address", hosts.gateway, "--port", str(port), "--tls-san", "portside.example"):
        from cryptography import x509
        cert = x509.load_pem_x509_certificate((tmp_path / "data" / "pki" / "server.crt").read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert ipaddress.ip_address(hosts.gateway) in sans.get_values_for_type(x509.IPAddress)
        assert "portside.example" in sans.get_values_for_type(x509.DNSName)


def test_a_pod_on_a_joined_node_resolves_services_through_that_nodes_dns(tmp_path, agents, needs_root):
    """The agent's own DNS (its pods' nameserver) answers from the cluster's Services: a pod there that asks
    for a Service's name by its short name succeeds only when the answer is the Service's ClusterIP."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("# no upstream: only cluster names are asked\n")
    with server(tmp_path) as cluster:
        url, token = join_command(cluster)
        a = agents("joiner-dns")
        a.start(url, token, "--resolv-conf", str(resolv))
        wait_ready(cluster, "joiner-dns")
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "named", "namespace": "default"},
               "spec": {"selector": {"app": "named"}, "ports": [{"port": 80}]}}
        cluster.kubectl("apply", "-f", "-", input=json.dumps(svc))
        ip = json.loads(cluster.kubectl("get", "svc", "named", "-o", "json").stdout)["spec"]["clusterIP"]
        p = busybox("asker", "joiner-dns", restartPolicy="Never")
        # asked until answered (30 s): the node's DNS may not have seen the new Service yet on a loaded machine
        ask = f"nslookup named | grep -q 'Address: {ip}$'"
        p["spec"]["containers"][0]["command"] = ["sh", "-c", f"for i in $(seq 30); do {ask} && exit 0; sleep 1; done; "
                                                             "exit 1"]
        cluster.kubectl("apply", "-f", "-", input=json.dumps(p))
        done = eventually(lambda pods: (x := pods.get("asker")) and x.get("status", {}).get("phase") in
                          ("Succeeded", "Failed") and x, 60, what="the asking pod finished",
                          watch=Watch(cluster.kubeconfig, "pods", "default"))
        assert done["status"]["phase"] == "Succeeded", done["status"]
        gateway = str(ipaddress.ip_network(a.settings()["subnet"]).network_address + 1)
        resolv_files = list((a.root / "pods").glob(f"*/{done['metadata']['uid']}/etc/resolv.conf"))
        assert resolv_files and resolv_files[0].read_text().startswith(f"nameserver {gateway}\n")
