"""Picking a new network's subnet from the address pools: pure, no root needed."""

from __future__ import annotations

from ipaddress import IPv4Network as Net

import pytest

from portside.runtime.errors import InvalidArgument, NetworkError
from portside.runtime.net.pools import DEFAULT_POOLS, allocate, parse_pools


def test_the_first_free_block_of_the_first_pool() -> None:
    pools = parse_pools(DEFAULT_POOLS)
    assert allocate(pools, []) == Net("10.89.0.0/24")
    assert allocate(pools, [Net("10.89.0.0/24"), Net("10.89.1.0/24")]) == Net("10.89.2.0/24")
    assert allocate(pools, [Net("10.89.1.0/24")]) == Net("10.89.0.0/24")  # a gap is taken first


def test_a_block_overlapping_anything_taken_is_passed_over() -> None:
    pools = parse_pools([{"base": "10.89.0.0/16", "size": 24}])
    # a wider route covering the first blocks, an address of the host inside the next one
    assert allocate(pools, [Net("10.89.0.0/23"), Net("10.89.2.77/32")]) == Net("10.89.3.0/24")
    with pytest.raises(NetworkError, match="non-overlapping IPv4 address pool"):
        allocate(pools, [Net("10.0.0.0/8")])


def test_the_next_pool_when_one_is_full() -> None:
    pools = parse_pools([{"base": "10.89.0.0/23", "size": 24}, {"base": "192.168.64.0/20", "size": 26}])
    assert allocate(pools, [Net("10.89.0.0/24"), Net("10.89.1.0/24")]) == Net("192.168.64.0/26")


def test_the_default_pools_stay_clear_of_the_engines_and_the_clusters_ranges() -> None:
    pools = parse_pools(DEFAULT_POOLS)
    for used in ("10.88.0.0/16", "10.42.0.0/16", "10.96.0.0/12"):  # default bridge, pods, Services
        assert not any(base.overlaps(Net(used)) for base, _ in pools), used


@pytest.mark.parametrize("pool, message", [
    ({"base": "10.89.0.0/16"}, "expected"),
    ({"base": "nonsense", "size": 24}, "expected"),
    ({"base": "10.89.0.0/16", "size": 8}, "size must be between"),
    ({"base": "10.89.0.0/16", "size": 31}, "size must be between"),
])
def test_bad_pools_are_refused(pool: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_pools([pool])
