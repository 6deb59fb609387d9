"""What the engine's DNS responder answers, decided without sockets: who asks, which names they see, PTR names."""

from __future__ import annotations

from portside.engine.resolver import Member, Net, addresses, pointer, querier, reverse_ip


def nets() -> list[Net]:
    front = Net("front", False, [Member("aaa", "10.89.0.2", ["web", "aaa", "www"]),
                                 Member("bbb", "10.89.0.3", ["client", "bbb"]),
                                 Member("ccc", "10.89.0.4", ["Other", "ccc", "www"])])
    back = Net("back", True, [Member("bbb", "10.89.1.2", ["client", "bbb", "api"]),
                              Member("ddd", "10.89.1.3", ["db", "ddd"])])
    lonely = Net("lonely", False, [Member("eee", "10.89.2.2", ["alone", "eee"])])
    return [front, back, lonely]


def test_the_querier_is_known_by_its_address_with_every_network_it_is_on() -> None:
    cid, shared = querier(nets(), "10.89.0.3")
    assert cid == "bbb" and [n.name for n in shared] == ["front", "back"]
    assert querier(nets(), "10.89.1.2")[0] == "bbb"  # from either of its addresses
    assert querier(nets(), "192.0.2.1") == ("", [])  # not a container: nothing is answered


def test_names_are_seen_on_shared_networks_only() -> None:
    _, shared = querier(nets(), "10.89.0.3")
    assert addresses(shared, "web") == ["10.89.0.2"]
    assert addresses(shared, "db") == ["10.89.1.3"]  # the other network the querier is on
    assert addresses(shared, "alone") == []  # a network the querier is not on
    assert addresses(shared, "www") == ["10.89.0.2", "10.89.0.4"]  # an alias two containers share
    assert addresses(shared, "other") == ["10.89.0.4"]  # names compare without case
    assert addresses(shared, "web.front") == ["10.89.0.2"] and addresses(shared, "web.back") == []
    assert addresses(querier(nets(), "10.89.1.3")[1], "web") == []  # db is on back only


def test_reverse_names() -> None:
    _, shared = querier(nets(), "10.89.0.3")
    assert reverse_ip("2.0.89.10.in-addr.arpa") == "10.89.0.2"
    assert reverse_ip("web") == "" and reverse_ip("0.89.10.in-addr.arpa") == ""
    assert pointer(shared, "10.89.0.2") == "web.front"
    assert pointer(shared, "10.89.2.2") == ""
