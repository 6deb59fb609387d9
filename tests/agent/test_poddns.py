"""A pod's resolv.conf and hosts file as the kubelet writes them, by dnsPolicy and dnsConfig. Pure."""

from __future__ import annotations

from portside.agent.poddns import PodDNS, hosts_file, resolv_conf
from portside.api.models import Pod
from portside.runtime.net.resolvconf import ResolvConf, parse

HOST = ResolvConf(("192.0.2.53",), ("corp.example",), ("edns0", "timeout:2"))
NODE = PodDNS("10.42.0.1", "cluster.local", HOST)


def pod(**spec) -> Pod:
    return Pod.from_dict({"metadata": {"name": "web-1", "namespace": "shop"},
                          "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}})


def test_cluster_first_is_the_cluster_dns_the_kubernetes_search_path_and_ndots_5():
    text, warnings = resolv_conf(pod(dnsPolicy="ClusterFirst"), NODE)
    assert text == ("nameserver 10.42.0.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local "
                    "corp.example\noptions ndots:5\n")
    assert warnings == [] and resolv_conf(pod(), NODE)[0] == text  # the default policy


def test_without_a_cluster_dns_cluster_first_falls_back_to_the_nodes_with_a_warning():
    text, warnings = resolv_conf(pod(), PodDNS("", "cluster.local", HOST))
    assert text == HOST.render() and "falling back" in warnings[0]


def test_default_is_the_nodes_resolv_conf_and_none_only_the_dns_config():
    assert resolv_conf(pod(dnsPolicy="Default"), NODE)[0] == HOST.render()
    text, _ = resolv_conf(pod(dnsPolicy="None", dnsConfig={"nameservers": ["1.1.1.1"], "searches": ["a.example."],
                                                           "options": [{"name": "ndots", "value": "1"},
                                                                       {"name": "rotate"}]}), NODE)
    assert text == "nameserver 1.1.1.1\nsearch a.example\noptions ndots:1 rotate\n"


def test_dns_config_merges_into_the_policys_settings():
    text, _ = resolv_conf(pod(dnsConfig={"nameservers": ["10.42.0.1", "192.0.2.54"], "searches": ["cluster.local", "x.example"],
                                         "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}), NODE)
    conf = parse(text)
    assert conf.nameservers == ("10.42.0.1", "192.0.2.54")
    assert conf.searches == ("shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example",
                             "x.example")
    assert conf.options == ("ndots:2", "edns0")


def test_limits_drop_what_glibc_would_not_read_and_say_so():
    host = ResolvConf(("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"), tuple(f"d{i}.example" for i in range(40)))
    text, warnings = resolv_conf(pod(dnsPolicy="Default"), PodDNS("", "cluster.local", host))
    conf = parse(text)
    assert len(conf.nameservers) == 3 and len(conf.searches) == 32
    assert any("Nameserver limits" in w for w in warnings) and any("Search Line limits" in w for w in warnings)


def test_hosts_file_names_the_pod_with_its_fqdn_under_a_subdomain_and_its_aliases():
    plain = hosts_file(pod(), "10.42.0.7", "cluster.local")
    assert plain.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert "10.42.0.7\tweb-1\n" in plain
    named = hosts_file(pod(hostname="db-0", subdomain="db", hostAliases=[{"ip": "192.0.2.9", "hostnames": ["a", "b"]}]),
                       "10.42.0.7", "cluster.local")
    assert "10.42.0.7\tdb-0.db.shop.svc.cluster.local\tdb-0\n" in named
    assert named.endswith("# Entries added by HostAliases.\n192.0.2.9\ta\tb\n")


def test_resolv_conf_parsing_follows_glibc():
    conf = parse("# comment\nnameserver 10.0.0.1\ndomain a.example\nsearch b.example c.example ; x\n"
                 "options ndots:2\noptions rotate\nnameserver 10.0.0.2\nsortlist 1.2.3.4\n")
    assert conf == ResolvConf(("10.0.0.1", "10.0.0.2"), ("b.example", "c.example"), ("ndots:2", "rotate"))
