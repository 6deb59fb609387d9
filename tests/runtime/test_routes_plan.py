"""The pod network's planner and names, pure: which backend a peer gets, what is skipped and why, the batches."""

from __future__ import annotations

import pytest

from portside.runtime.errors import InvalidArgument
from portside.runtime.net import names, vxlan
from portside.runtime.net.routes import PROTO, Local, Peer, Route, Settings, State, diff, wanted

LOCAL = Local("192.168.1.2", "10.244.1.0/24", ("192.168.1.0/24",))
S = Settings("psx-test")


def test_auto_routes_a_peer_on_a_local_subnet_directly_and_encapsulates_the_rest() -> None:
    state, skipped = wanted([Peer("b", "10.244.2.0/24", "192.168.1.3"), Peer("c", "10.244.3.0/24", "192.168.9.3")],
                            LOCAL, S)
    assert skipped == {}
    assert state.routes == {"10.244.2.0/24": Route("10.244.2.0/24", "192.168.1.3"),
                            "10.244.3.0/24": Route("10.244.3.0/24", "10.244.3.0", "psx-test")}
    assert state.neighbours == {"10.244.3.0": "0e:70:0a:f4:03:00"}
    assert state.fdb == {"0e:70:0a:f4:03:00": "192.168.9.3"} and state.overlay


def test_a_published_mac_is_used_as_given() -> None:
    state, _ = wanted([Peer("c", "10.244.3.0/24", "192.168.9.3", "0E:AA:BB:CC:DD:EE")], LOCAL, S)
    assert state.neighbours == {"10.244.3.0": "0e:aa:bb:cc:dd:ee"}


def test_without_vxlan_peers_auto_needs_no_device_but_the_vxlan_backend_always_does() -> None:
    peers = [Peer("b", "10.244.2.0/24", "192.168.1.3")]
    assert wanted(peers, LOCAL, S)[0].overlay is False
    state, _ = wanted(peers, LOCAL, Settings("psx-test", "vxlan"))
    assert state.overlay and state.routes["10.244.2.0/24"].dev == "psx-test"


@pytest.mark.parametrize("peer, reason", [
    (Peer("x", "10.244.1.0/25", "192.168.1.9"), "podCIDR 10.244.1.0/25 overlaps 10.244.1.0/24, already routed here"),
    (Peer("x", "nope", "192.168.1.9"), 'podCIDR "nope" is not an IPv4 network'),
    (Peer("x", "10.244.5.0/24", ""), 'InternalIP "" is not an IPv4 address'),
    (Peer("x", "10.244.5.0/24", "192.168.1.2"), "node address 192.168.1.2 is this node's own"),
    (Peer("x", "10.244.5.0/24", "192.168.1.9", "01:00:5e:00:00:01"),
     'VXLAN MAC "01:00:5e:00:00:01" is not a unicast MAC address'),
])
def test_a_bad_peer_is_skipped_with_the_field_named(peer: Peer, reason: str) -> None:
    state, skipped = wanted([peer], LOCAL, S)
    assert skipped == {"x": reason} and state.routes == {}


def test_two_peers_claiming_one_range_keep_the_first_by_name() -> None:
    _, skipped = wanted([Peer("b", "10.244.2.0/24", "192.168.1.3"), Peer("a", "10.244.2.0/23", "192.168.1.4")],
                        LOCAL, S)
    assert skipped == {"b": "podCIDR 10.244.2.0/24 overlaps 10.244.2.0/23, already routed here"}


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match='backend "udp" is not one of auto, host-gw, vxlan'):
        Settings("d", "udp")
    with pytest.raises(ValueError, match="VNI 16777216"):
        Settings("d", vni=1 << 24)


def test_diff_adds_what_is_missing_and_removes_what_is_no_longer_wanted() -> None:
    held = State({"10.244.2.0/24": Route("10.244.2.0/24", "192.168.1.3"),
                  "10.244.4.0/24": Route("10.244.4.0/24", "10.244.4.0", "d")},
                 {"10.244.4.0": "0e:70:0a:f4:04:00"}, {"0e:70:0a:f4:04:00": "192.168.9.4"}, True)
    want = State({"10.244.2.0/24": Route("10.244.2.0/24", "192.168.1.3"),
                  "10.244.3.0/24": Route("10.244.3.0/24", "10.244.3.0", "d")},
                 {"10.244.3.0": "0e:70:0a:f4:03:00"}, {"0e:70:0a:f4:03:00": "192.168.9.3"}, True)
    out = diff(held, want, "d")
    assert out.ip.splitlines() == [
        "neigh replace 10.244.3.0 lladdr 0e:70:0a:f4:03:00 dev d nud permanent",
        f"route replace 10.244.3.0/24 via 10.244.3.0 dev d onlink proto {PROTO}",
        f"route del 10.244.4.0/24 proto {PROTO}",
        "neigh del 10.244.4.0 dev d"]
    assert out.bridge.splitlines() == ["fdb del 0e:70:0a:f4:04:00 dev d dst 192.168.9.4 self",
                                       "fdb append 0e:70:0a:f4:03:00 dev d dst 192.168.9.3 self permanent"]
    assert not diff(want, want, "d")


def test_node_names_are_stable_short_and_distinct() -> None:
    a, b = names.for_node("node-a"), names.for_node("node-b")
    assert a == names.for_node("node-a") and a.cgroup_parent == "portside-node-a"
    assert len({a.bridge, a.vxlan, b.bridge, b.vxlan}) == 4
    assert all(len(n) <= 15 for n in (a.bridge, a.vxlan))
    assert names.for_node("n" * 60).cgroup_parent.startswith("portside-") and len(names.for_node("n" * 60)
                                                                                  .cgroup_parent) == 17
    with pytest.raises(InvalidArgument, match='node name "Node_A" must be a DNS subdomain'):
        names.for_node("Node_A")


def test_engine_settings_give_a_joined_node_its_own_bridge_on_its_pod_cidr() -> None:
    n = names.for_node("w1")
    assert names.engine_settings("w1", "10.244.3.0/24", "10.244.0.0/16", names.pod_mtu("vxlan")) == {
        "bridge": n.bridge, "subnet": "10.244.3.0/24", "cgroup_parent": "portside-w1",
        "cluster_cidr": "10.244.0.0/16", "mtu": 1450}
    assert names.pod_mtu("host-gw", 9000) == 9000


def test_vtep_address_and_mac_follow_the_pod_cidr() -> None:
    assert vxlan.vtep_ip("10.244.7.0/24") == "10.244.7.0"
    assert vxlan.vtep_mac("10.244.7.0/24") == "0e:70:0a:f4:07:00" and vxlan.valid_mac("0e:70:0a:f4:07:00")
    assert not vxlan.valid_mac("00:00:00:00:00:00") and not vxlan.valid_mac("0e:70")


def test_a_bridge_on_a_nodes_share_is_checked_against_the_cluster_range(tmp_path) -> None:
    from portside.runtime.net import BridgeNetwork
    from portside.runtime.net.nft import create_table
    with pytest.raises(InvalidArgument, match='subnet "10.88.0.0/24" is not inside the cluster CIDR "10.244.0.0/16"'):
        BridgeNetwork(tmp_path, "psb-x", "10.88.0.0/24", "10.244.0.0/16")
    with pytest.raises(InvalidArgument, match='cluster CIDR "10.244.0.0/99" is not an IPv4 network'):
        BridgeNetwork(tmp_path, "psb-x", "10.244.1.0/24", "10.244.0.0/99")
    with pytest.raises(InvalidArgument, match="mtu 100 is not in 576-65535"):
        BridgeNetwork(tmp_path, "psb-x", "10.244.1.0/24", mtu=100)
    table = create_table("psb-x", "10.244.1.0/24", "10.244.0.0/16")
    assert 'oifname != "psb-x" ip saddr 10.244.1.0/24 ip daddr != 10.244.0.0/16 masquerade' in table
