"""Node IPAM's allocation: one /24 per node from the cluster range, lowest free first, claimed blocks respected."""

from __future__ import annotations

from ipaddress import IPv4Network as Net

import pytest

from portside.controllers.nodeipam import first_free, parse_range


def test_blocks_are_handed_out_lowest_first_around_taken_ones():
    cluster = Net("10.42.0.0/16")
    assert first_free(cluster, set()) == Net("10.42.0.0/24")
    assert first_free(cluster, {Net("10.42.0.0/24"), Net("10.42.2.0/24")}) == Net("10.42.1.0/24")


def test_a_claimed_block_of_another_size_or_outside_the_range_is_respected():
    cluster = Net("10.42.0.0/16")
    assert first_free(cluster, {Net("10.42.0.0/23")}) == Net("10.42.2.0/24")
    assert first_free(cluster, {Net("10.200.3.0/24")}) == Net("10.42.0.0/24")


def test_an_exhausted_range_has_no_block():
    assert first_free(Net("10.42.0.0/23"), {Net("10.42.0.0/24"), Net("10.42.1.0/24")}) is None


@pytest.mark.parametrize("text, expected", [("10.42.0.1/16", "host bits set"), ("10.42.0.0/25", "smaller than"),
                                            ("nonsense", "expected an IPv4 network")])
def test_bad_cluster_ranges_are_named(text, expected):
    with pytest.raises(ValueError, match=expected):
        parse_range(text)
