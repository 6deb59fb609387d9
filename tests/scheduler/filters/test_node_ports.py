from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import HostPort


def test_same_host_port_goes_to_another_node(cluster):
    c = cluster([node("a", cpu=8), node("b", cpu=1)])
    assert c.place(pod("web1", host_ports=(HostPort(8080),))) == "a"
    assert c.place(pod("web2", host_ports=(HostPort(8080),))) == "b"
    assert c.refusal(pod("web3", host_ports=(HostPort(8080),))).startswith(
        "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.")


def test_other_protocol_or_distinct_addresses_do_not_conflict(cluster):
    c = cluster([node("a")])
    assert c.place(pod("tcp", host_ports=(HostPort(53, "TCP", "10.0.0.1"),))) == "a"
    assert c.place(pod("udp", host_ports=(HostPort(53, "UDP"),))) == "a"
    assert c.place(pod("other-ip", host_ports=(HostPort(53, "TCP", "10.0.0.2"),))) == "a"
    assert c.place(pod("wildcard", host_ports=(HostPort(53, "TCP"),))) is None
