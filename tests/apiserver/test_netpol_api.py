"""NetworkPolicies on a real API server, through stock kubectl and the official Python client: discovery and the
``netpol`` short name, the defaults the server fills in, refusals that name the field, ``kubectl get`` and
``kubectl describe``. No node runs: what the policies do to traffic is tests/netpol's."""

import json

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from support.builders import network_policy
from support.cluster import only

UP_FLAGS = only()
NS = "netpol-api"


@pytest.fixture(scope="module")
def kube(cluster):
    cluster.namespace(NS)
    api_client = config.new_client_from_config(config_file=cluster.kubeconfig)
    yield api_client
    api_client.close()


def test_kubectl_finds_netpol_and_the_server_defaults_policy_types(cluster, kube):
    resources = cluster.kubectl("api-resources", "--api-group=networking.k8s.io").stdout
    assert "networkpolicies" in resources and "netpol" in resources and "NetworkPolicy" in resources
    web = network_policy("web", NS, podSelector={"matchLabels": {"app": "web"}}, ingress=[
        {"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}, "podSelector": {}}],
         "ports": [{"port": 8080, "endPort": 8090}, {"port": "metrics"}]}],
                         egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}])
    deny = network_policy("deny-all", NS)
    cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [web, deny]}))
    stored = json.loads(cluster.kubectl("get", "netpol", "web", "-n", NS, "-o", "json").stdout)["spec"]
    assert stored["policyTypes"] == ["Ingress", "Egress"]
    assert [p["protocol"] for p in stored["ingress"][0]["ports"]] == ["TCP", "TCP"]
    deny_spec = json.loads(cluster.kubectl("get", "netpol", "deny-all", "-n", NS, "-o", "json").stdout)["spec"]
    assert deny_spec == {"podSelector": {}, "policyTypes": ["Ingress"]}

    table = cluster.kubectl("get", "networkpolicies", "-n", NS).stdout.splitlines()
    assert table[0].split() == ["NAME", "POD-SELECTOR", "AGE"]
    assert table[1].split()[:2] == ["deny-all", "<none>"] and table[2].split()[:2] == ["web", "app=web"]

    described = cluster.kubectl("describe", "netpol", "web", "-n", NS).stdout
    for line in ("PodSelector:     app=web", "Allowing ingress traffic:", "To Port Range: 8080-8090/TCP",
                 "To Port: metrics/TCP", "NamespaceSelector: team=ops", "PodSelector: <none>",
                 "Allowing egress traffic:", "IPBlock:", "CIDR: 10.0.0.0/8", "Except: 10.1.0.0/16",
                 "Policy Types: Ingress, Egress"):
        assert line in described, f"{line!r} not in:\n{described}"


def test_bad_policies_are_refused_naming_the_field(cluster):
    bad = network_policy("bad", NS, policyTypes=["Ingress", "Sideways"], ingress=[{
        "ports": [{"port": "http", "endPort": 90}, {"port": 100, "endPort": 90}, {"port": 70000},
                  {"protocol": "ICMP"}],
        "from": [{}, {"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.0.1.0/28"]}, "podSelector": {}}]}])
    refused = cluster.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert refused.returncode != 0
    for message in ('spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is '
                    'non-numeric',
                    "spec.ingress[0].ports[1].endPort: Invalid value: 100: must be greater than or equal to `port`",
                    "spec.ingress[0].ports[2].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
                    'spec.ingress[0].ports[3].protocol: Unsupported value: "ICMP"',
                    "spec.ingress[0].from[0]: Required value: must specify a peer",
                    'spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: "10.0.1.0/28": must be a strict '
                    'subset of `cidr`',
                    "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
                    'spec.policyTypes[1]: Unsupported value: "Sideways"'):
        assert message in refused.stderr, f"{message!r} not in {refused.stderr}"


def test_the_python_client_reads_writes_and_watches_policies(kube):
    net = client.NetworkingV1Api(kube)
    body = network_policy("py", NS, podSelector={"matchExpressions": [{"key": "tier", "operator": "In",
                                                                        "values": ["db"]}]},
                          egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}])
    made = net.create_namespaced_network_policy(NS, body)
    assert made.spec.policy_types == ["Ingress", "Egress"] and made.spec.egress[0].ports[0].port == 53
    patched = net.patch_namespaced_network_policy("py", NS, {"spec": {"ingress": [
        {"from": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]}]}})
    assert patched.spec.ingress[0]._from[0].ip_block.cidr == "192.0.2.0/24"
    assert "py" in [p.metadata.name for p in net.list_network_policy_for_all_namespaces().items]
    with pytest.raises(ApiException) as refused:
        net.patch_namespaced_network_policy("py", NS, {"spec": {"policyTypes": ["Ingress", "Egress", "Ingress"]}})
    assert refused.value.status == 422 and "may not specify more than two policyTypes" in refused.value.body
    net.delete_namespaced_network_policy("py", NS)
