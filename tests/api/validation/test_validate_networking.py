"""NetworkPolicy rules and defaults, worded and filled in as Kubernetes does."""

import copy

import pytest
from support.builders import network_policy

from portside import api
from tests.api.messages import messages, update_messages

INFO = api.lookup("networking.k8s.io", "v1", "networkpolicies")
RANGE = "must be between 1 and 65535, inclusive"
CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def port(**fields) -> dict:
    return network_policy(ingress=[{"ports": [fields]}])


def peer(**fields) -> dict:
    return network_policy(egress=[{"to": [fields]}])


@pytest.mark.parametrize("obj", [
    network_policy(),
    network_policy(podSelector={"matchExpressions": [{"key": "app", "operator": "Exists"}]}, ingress=[{}]),
    port(port=80), port(port=8000, endPort=8080), port(port="http", protocol="UDP"), port(protocol="SCTP"),
    peer(ipBlock={"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.3.4/32"]}),
    peer(ipBlock={"cidr": "10.0.0.1/8"}),  # address bits past the prefix: accepted, as Kubernetes accepts them
    peer(ipBlock={"cidr": "2001:db8::/32", "except": ["2001:db8:1::/48"]}),
    peer(namespaceSelector={}, podSelector={"matchLabels": {"app": "db"}}),
    network_policy(policyTypes=["Egress"]), network_policy(policyTypes=["Ingress", "Egress"]),
])
def test_valid_policies(obj):
    assert messages(obj) == []


@pytest.mark.parametrize(("obj", "expected"), [
    (port(port=0), [f"spec.ingress[0].ports[0].port: Invalid value: 0: {RANGE}"]),
    (port(port="not_a_name"), ['spec.ingress[0].ports[0].port: Invalid value: "not_a_name": must contain only '
                               'alpha-numeric characters (a-z, 0-9), and hyphens (-)']),
    (port(port=90, endPort=80), ["spec.ingress[0].ports[0].endPort: Invalid value: 90: must be greater than or "
                                 "equal to `port`"]),
    (port(port=90, endPort=70000), [f"spec.ingress[0].ports[0].endPort: Invalid value: 70000: {RANGE}"]),
    (port(endPort=80), ["spec.ingress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is "
                        "not specified"]),
    (port(port="http", endPort=80), ["spec.ingress[0].ports[0].endPort: Invalid value: 80: may not be specified "
                                     "when `port` is non-numeric"]),
    (port(port=80, protocol="ICMP"), ['spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported '
                                      'values: "TCP", "UDP", "SCTP"']),
    (peer(), ["spec.egress[0].to[0]: Required value: must specify a peer"]),
    (peer(ipBlock={"cidr": "10.0.0.0/8"}, namespaceSelector={}),
     ["spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer"]),
    (peer(ipBlock={"cidr": ""}), ["spec.egress[0].to[0].ipBlock.cidr: Required value"]),
    (peer(ipBlock={"cidr": "10.0.0.0"}), [f'spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.0.0.0": {CIDR}']),
    (peer(ipBlock={"cidr": "10.0.0.0/16", "except": ["10.0.0.0/16", "10.1.0.0/24", "10.0.0.0/33"]}),
     ['spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`',
      'spec.egress[0].to[0].ipBlock.except[1]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`',
      f'spec.egress[0].to[0].ipBlock.except[2]: Invalid value: "10.0.0.0/33": {CIDR}']),
    (peer(podSelector={"matchExpressions": [{"key": "app", "operator": "In"}]}),
     ["spec.egress[0].to[0].podSelector.matchExpressions[0].values: Required value: must be specified when "
      "`operator` is 'In' or 'NotIn'"]),
    (network_policy(podSelector={"matchLabels": {"app": "-bad-"}}),
     ['spec.podSelector.matchLabels: Invalid value: "-bad-": a valid label must be an empty string or consist of '
      "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
      "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]),
    (network_policy(policyTypes=["Ingress", "Egress", "Ingress"]),
     ['spec.policyTypes: Invalid value: []["Ingress", "Egress", "Ingress"]: may not specify more than two '
      'policyTypes']),
    (network_policy(policyTypes=["Inbound"]),
     ['spec.policyTypes[0]: Unsupported value: "Inbound": supported values: "Ingress", "Egress"']),
])
def test_invalid_policies(obj, expected):
    assert messages(obj) == expected


def stored(obj: dict) -> dict:
    return api.prepare_create(INFO, copy.deepcopy(obj))["spec"]


def test_policy_types_are_inferred_as_kubernetes_infers_them():
    assert stored(network_policy())["policyTypes"] == ["Ingress"]
    assert stored(network_policy(egress=[{}]))["policyTypes"] == ["Ingress", "Egress"]
    assert stored(network_policy(egress=[{}], policyTypes=["Egress"]))["policyTypes"] == ["Egress"]
    spec = stored(network_policy(ingress=[{"ports": [{"port": 80}]}]))
    assert spec["ingress"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    bare = network_policy()
    del bare["spec"]["podSelector"]
    assert stored(bare)["podSelector"] == {}


def test_an_update_is_validated_as_a_create_is():
    old = network_policy(ingress=[{"ports": [{"port": 80}]}])
    new = network_policy(ingress=[{"ports": [{"port": 80, "endPort": 79}]}])
    assert update_messages(new, old) == ["spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than "
                                         "or equal to `port`"]
