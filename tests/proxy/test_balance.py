"""The selection algorithms on data: no sockets, a seeded random source, counts checked exactly."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from portside.proxy.balance import ALGORITHMS, Affinity, Backend, Balancer, UnknownAlgorithm, make_balancer

A, B, C = Backend("10.0.0.1", 80), Backend("10.0.0.2", 80), Backend("10.0.0.3", 80)


def test_round_robin_is_exactly_even() -> None:
    lb = make_balancer("round-robin", [A, B, C])
    picks = Counter(lb.pick() for _ in range(300))
    assert picks == {A: 100, B: 100, C: 100}


def test_no_backends_picks_none_and_counts_nothing() -> None:
    for name in ALGORITHMS:
        lb = make_balancer(name, [])
        assert lb.pick() is None
        assert lb.active == {}


def test_least_connections_avoids_the_backend_holding_connections() -> None:
    lb = make_balancer("least-connections", [A, B, C])
    held = [lb.pick() for _ in range(3)]  # one each
    assert sorted(held) == [A, B, C]
    lb.release(B)
    lb.release(C)
    assert {lb.pick(), lb.pick()} == {B, C}  # A still holds one: it is never chosen while others hold fewer
    assert lb.active == {A: 1, B: 1, C: 1}


def test_least_connections_spreads_an_idle_pool() -> None:
    lb = make_balancer("least-connections", [A, B, C])
    picks = []
    for _ in range(30):
        backend = lb.pick()
        picks.append(backend)
        lb.release(backend)
    assert Counter(picks) == {A: 10, B: 10, C: 10}


def test_power_of_two_never_picks_the_busiest_of_three() -> None:
    lb = make_balancer("power-of-two-choices", [A, B, C], random.Random(7))
    lb.active[A] = 50
    picks = Counter()
    for _ in range(200):
        backend = lb.pick()
        picks[backend] += 1
        lb.release(backend)
    assert picks[A] == 0  # any pair containing A has a less loaded other member
    assert picks[B] > 50 and picks[C] > 50


def test_power_of_two_with_one_backend() -> None:
    lb = make_balancer("power-of-two-choices", [A], random.Random(1))
    assert lb.pick() == A


def test_update_keeps_counts_of_staying_backends_and_drops_leavers() -> None:
    lb = make_balancer("least-connections", [A, B])
    lb.pick(), lb.pick()
    lb.update([B, C])
    assert lb.active == {B: 1, C: 0}
    lb.release(A)  # a connection to a departed backend ends: ignored
    assert lb.active == {B: 1, C: 0}
    assert lb.pick() == C
    assert A not in [lb.pick() for _ in range(10)]


def test_release_never_goes_negative() -> None:
    lb = Balancer([A])
    lb.release(A)
    assert lb.active[A] == 0


def test_unknown_algorithm_is_named_with_the_choices() -> None:
    with pytest.raises(UnknownAlgorithm, match='unknown lb-algorithm "fastest" \\(expected one of: round-robin, '
                                              'least-connections, power-of-two-choices\\)'):
        make_balancer("fastest")


def test_affinity_keeps_a_client_on_its_backend_until_timeout() -> None:
    lb, aff = make_balancer("round-robin", [A, B, C]), Affinity(timeout=10)
    first = aff.pick(lb, "192.168.1.5", now=0.0)
    assert all(aff.pick(lb, "192.168.1.5", now=t) == first for t in (1.0, 5.0, 14.0))  # each use renews
    other = aff.pick(lb, "192.168.1.6", now=15.0)
    assert other != first
    assert lb.active[first] == 4
    assert aff.pick(lb, "192.168.1.5", now=30.0) != first  # 16 s of silence: expired, a fresh round-robin pick


def test_affinity_forgets_a_backend_that_left() -> None:
    lb, aff = make_balancer("round-robin", [A, B]), Affinity(timeout=100)
    first = aff.pick(lb, "c", now=0.0)
    lb.update([b for b in (A, B) if b != first])
    assert aff.pick(lb, "c", now=1.0) != first


def test_affinity_expire_drops_old_entries() -> None:
    lb, aff = make_balancer("round-robin", [A]), Affinity(timeout=5)
    aff.pick(lb, "c1", 0.0)
    aff.pick(lb, "c2", 4.0)
    aff.expire(6.0)
    assert list(aff._seen) == ["c2"]
