"""The policy compiler on data: which pods are isolated and what each may receive and send, case by case against
Kubernetes' semantics (the connection matrices of tests/netpol/test_netpol_pods.py check the same on real pods)."""

from __future__ import annotations

from support.builders import network_policy

from portside import api
from portside.api import models
from portside.netpol import Allow, Peer, PodPort, PodRules, PortRange, World, compile_node
from portside.netpol.model import dns_peer

INFO = api.lookup("networking.k8s.io", "v1", "networkpolicies")
NODE = "node-a"
WEB = Peer("shop", "web", "10.42.0.2", NODE, {"app": "web"}, (PodPort("http", "TCP", 8080),))
DB = Peer("shop", "db", "10.42.0.3", NODE, {"app": "db"}, (PodPort("pg", "TCP", 5432),))
ADMIN = Peer("ops", "admin", "10.42.1.4", "node-b", {"app": "admin", "role": "ops"})
TOOLS = Peer("ops", "tools", "10.42.1.5", "node-b", {"app": "tools"})
STRAY = Peer("shop", "web-elsewhere", "10.42.1.6", "node-b", {"app": "web"}, (PodPort("http", "TCP", 9090),))
NAMESPACES = {"shop": {"kubernetes.io/metadata.name": "shop", "team": "shop"},
              "ops": {"kubernetes.io/metadata.name": "ops", "team": "ops"},
              "kube-system": {"kubernetes.io/metadata.name": "kube-system"}}


def policy(namespace: str = "shop", **spec) -> models.NetworkPolicy:
    """As the API stores it: defaults (policyTypes, protocols) applied, validation passed."""
    return models.NetworkPolicy.from_dict(api.prepare_create(INFO, network_policy(namespace=namespace, **spec)))


def world(*policies: models.NetworkPolicy, peers=(WEB, DB, ADMIN, TOOLS, STRAY)) -> World:
    return World(list(peers), NAMESPACES, list(policies))


def rules(*policies: models.NetworkPolicy, **kw) -> dict[str, PodRules]:
    return compile_node(world(*policies, **kw), NODE)


def tcp(first: int, last: int | None = None) -> PortRange:
    return PortRange("tcp", first, last or first)


def test_without_policies_every_pod_is_open():
    assert rules() == {}


def test_a_default_deny_isolates_every_pod_of_its_namespace_for_ingress_only():
    assert rules(policy()) == {WEB.ip: PodRules(ingress=()), DB.ip: PodRules(ingress=())}


def test_a_pod_no_policy_selects_stays_open():
    isolated = rules(policy(podSelector={"matchLabels": {"app": "db"}}))
    assert set(isolated) == {DB.ip}


def test_policies_add_up_and_rules_are_a_union():
    from_web = policy(podSelector={"matchLabels": {"app": "db"}},
                      ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 5432}]}])
    from_ops = policy(podSelector={"matchLabels": {"app": "db"}},
                      ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}]}])
    db = rules(from_web, from_ops, policy())[DB.ip]
    # the web pods of shop (on any node) on 5432; every pod of ops on every port
    assert db.ingress == (Allow(("10.42.0.2", "10.42.1.6"), (tcp(5432),)), Allow(("10.42.1.4/31",), None))
    assert db.egress is None


def test_a_pod_selector_alone_picks_pods_of_the_policys_namespace_only():
    spec = {"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "admin"}}}]}]}
    assert rules(policy(**spec))[DB.ip].ingress == ()  # admin runs in ops, not shop


def test_both_selectors_in_one_peer_are_anded_and_separate_peers_ored():
    anded = [{"namespaceSelector": {"matchLabels": {"team": "ops"}}, "podSelector": {"matchLabels": {"role": "ops"}}}]
    ored = [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}, {"podSelector": {"matchLabels": {"role": "ops"}}}]
    assert rules(policy(ingress=[{"from": anded}]))[DB.ip].ingress == (Allow(("10.42.1.4",), None),)
    assert rules(policy(ingress=[{"from": ored}]))[DB.ip].ingress == (Allow(("10.42.1.4/31",), None),)


def test_an_empty_namespace_selector_means_every_namespace():
    spec = {"ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "tools"}}}]}]}
    assert rules(policy(**spec))[DB.ip].ingress == (Allow(("10.42.1.5",), None),)


def test_an_ip_block_less_its_exceptions():
    block = {"ipBlock": {"cidr": "10.42.0.0/16", "except": ["10.42.1.0/24", "10.42.0.128/25"]}}
    got = rules(policy(ingress=[{"from": [block]}]))[DB.ip].ingress
    assert got == (Allow(("10.42.0.0/25", "10.42.2.0/23", "10.42.4.0/22", "10.42.8.0/21", "10.42.16.0/20",
                          "10.42.32.0/19", "10.42.64.0/18", "10.42.128.0/17"), None),)


def test_a_named_port_is_the_destination_pods_own():
    spec = {"ingress": [{"ports": [{"port": "http"}, {"port": "pg"}]}]}
    isolated = rules(policy(**spec))
    assert isolated[WEB.ip].ingress == (Allow(None, (tcp(8080),)),)
    assert isolated[DB.ip].ingress == (Allow(None, (tcp(5432),)),)
    udp = rules(policy(ingress=[{"ports": [{"port": "http", "protocol": "UDP"}]}]))
    assert udp[WEB.ip].ingress == ()  # a name the pod has for TCP only allows nothing, never every port


def test_port_ranges_merge_and_protocols_stay_apart():
    spec = {"ingress": [{"ports": [{"port": 8000, "endPort": 8080}, {"port": 8050, "endPort": 9000},
                                   {"port": 9001}, {"port": 53, "protocol": "UDP"}, {"protocol": "SCTP"}]}]}
    assert rules(policy(**spec))[DB.ip].ingress == (
        Allow(None, (PortRange("sctp", 0, 65535), tcp(8000, 9001), PortRange("udp", 53, 53))),)


def test_a_rule_without_peers_or_ports_allows_everything():
    assert rules(policy(ingress=[{}], podSelector={"matchLabels": {"app": "web"}}, egress=[{"to": []}]))[WEB.ip] == \
        PodRules(ingress=(Allow(None, None),), egress=(Allow(None, None),))


def test_egress_rules_make_an_egress_policy_and_ingress_stays_with_it():
    spec = {"egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"port": 5432}]}]}
    web = rules(policy(podSelector={"matchLabels": {"app": "web"}}, **spec))[WEB.ip]
    assert web == PodRules(ingress=(), egress=(Allow(("10.42.0.3",), (tcp(5432),)),))
    only_egress = rules(policy(policyTypes=["Egress"]))[WEB.ip]
    assert only_egress == PodRules(ingress=None, egress=())


def test_named_egress_ports_resolve_on_each_destination_pod():
    spec = {"policyTypes": ["Egress"], "egress": [{"ports": [{"port": "http"}]}]}
    web = rules(policy(**spec))[DB.ip].egress
    assert web == (Allow(("10.42.0.2",), (tcp(8080),)), Allow(("10.42.1.6",), (tcp(9090),)))
    block = {"policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "10.42.1.0/24"}}],
                                                    "ports": [{"port": "http"}]}]}
    assert rules(policy(**block))[DB.ip].egress == (Allow(("10.42.1.6",), (tcp(9090),)),)


def test_the_nodes_dns_is_a_peer_as_a_kube_dns_pod_would_be():
    node = models.Node.from_dict({"metadata": {"name": NODE}, "spec": {"podCIDR": "10.42.0.0/24"}})
    dns = dns_peer(node)
    assert dns.ip == "10.42.0.1" and not dns.pod
    by_selector = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                   "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    spec = {"policyTypes": ["Egress"], "egress": [{"to": [by_selector], "ports": [{"port": 53, "protocol": "UDP"}]},
                                                  {"ports": [{"port": "dns-tcp"}]}]}
    got = rules(policy(**spec), peers=(WEB, DB, dns))
    assert got[DB.ip].egress == (Allow(("10.42.0.1",), (tcp(53),)), Allow(("10.42.0.1",), (PortRange("udp", 53, 53),)))
    assert dns.ip not in got  # the DNS is a peer only, never isolated


def test_pods_of_other_nodes_are_peers_but_get_no_rules_here():
    assert set(rules(policy(namespace="ops"))) == set()
    assert set(compile_node(world(policy(namespace="ops")), "node-b")) == {ADMIN.ip, TOOLS.ip}


def test_finished_host_network_and_unaddressed_pods_are_not_peers():
    from portside.netpol.model import peer_of

    def pod(**status_and_spec):
        spec = {"containers": [{"name": "c", "image": "i", "ports": [{"name": "web", "containerPort": 80}]}],
                "nodeName": NODE, "hostNetwork": status_and_spec.pop("hostNetwork", False)}
        return models.Pod.from_dict({"metadata": {"name": "p", "namespace": "shop", "labels": {"a": "b"}},
                                     "spec": spec, "status": status_and_spec})

    running = peer_of(pod(phase="Running", podIP="10.42.0.9"))
    assert running == Peer("shop", "p", "10.42.0.9", NODE, ports=(PodPort("web", "TCP", 80),))
    assert running.labels == {"a": "b"}
    assert peer_of(pod(phase="Pending")) is None
    assert peer_of(pod(phase="Succeeded", podIP="10.42.0.9")) is None
    assert peer_of(pod(phase="Running", podIP="192.0.2.1", hostNetwork=True)) is None
