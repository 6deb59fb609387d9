"""Node lifecycle's pure cores: silence, conditions, lifecycle taints, disruption, the eviction rate limiter,
NoExecute tolerations and their timers, and the admission's default tolerations."""

from __future__ import annotations

import math

import pytest

from portside.api.models import Node, Taint, Toleration
from portside.apiserver.admission import default_tolerations
from portside.controllers import nodehealth as h
from portside.controllers.noexecute import eviction_time, tolerated_for, tolerates

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
STAMP = "2027-01-15T08:00:00Z"


def node(ready: str | None = "True", taints: list[dict] | None = None) -> Node:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready, "reason": "KubeletReady",
                                            "lastHeartbeatTime": "2027-01-15T07:59:00Z"},
                                           {"type": "MemoryPressure", "status": "False"}]
    return Node.from_dict({"metadata": {"name": "n"}, "spec": {"taints": taints or []},
                           "status": {"conditions": conditions}})


def keys(taints: list[Taint]) -> list[str]:
    return sorted(f"{t.key}:{t.effect}" for t in taints)


def test_a_node_is_silent_only_after_the_grace():
    assert not h.silent(100.0, 105.0, 5.0)
    assert h.silent(100.0, 105.1, 5.0)


def test_a_silent_node_gets_ready_unknown_keeping_its_last_heartbeat_and_other_conditions():
    conditions = h.unknown_conditions(node("True"), STAMP)
    ready = conditions[0]
    assert (ready.type, ready.status, ready.reason, ready.message) == (
        "Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert ready.last_transition_time == STAMP and ready.last_heartbeat_time == "2027-01-15T07:59:00Z"
    assert conditions[1].type == "MemoryPressure"
    assert h.unknown_conditions(Node.from_dict({"metadata": {"name": "n"}, "status": {"conditions": [
        c.to_dict() for c in conditions]}}), STAMP) is None  # already Unknown: nothing to write
    assert [c.type for c in h.unknown_conditions(node(None), STAMP)] == ["Ready"]


def test_ready_status_reads_the_condition_and_a_node_without_one_is_unknown():
    assert [h.ready_status(node(s)) for s in ("True", "False", "Unknown")] == ["True", "False", "Unknown"]
    assert h.ready_status(node(None)) == "Unknown" and not h.posted_ready(node(None))


def test_lifecycle_taints_follow_ready_and_leave_other_taints_alone():
    own = [Taint(key="dedicated", value="edge", effect="NoSchedule")]
    unreachable = h.desired_taints(own, "Unknown", True, STAMP)
    assert keys(unreachable) == ["dedicated:NoSchedule", "node.kubernetes.io/unreachable:NoExecute",
                                 "node.kubernetes.io/unreachable:NoSchedule"]
    assert next(t for t in unreachable if t.effect == "NoExecute").time_added == STAMP
    assert keys(h.desired_taints(own, "Unknown", False, STAMP)) == [
        "dedicated:NoSchedule", "node.kubernetes.io/unreachable:NoSchedule"]  # no token: NoSchedule only
    later = h.desired_taints(unreachable, "Unknown", True, "2027-01-15T09:00:00Z")
    assert later == unreachable  # kept taints keep their timeAdded: the eviction timers do not restart
    not_ready = h.desired_taints(unreachable, "False", True, STAMP)
    assert keys(not_ready) == ["dedicated:NoSchedule", "node.kubernetes.io/not-ready:NoExecute",
                               "node.kubernetes.io/not-ready:NoSchedule"]
    assert h.desired_taints(unreachable, "True", True, STAMP) == own


def test_disruption_stops_evictions_when_most_nodes_are_lost():
    assert h.disruption(["True", "Unknown"]) is h.Disruption.NORMAL  # one of two: a node died
    assert h.disruption(["True", "True", "Unknown"]) is h.Disruption.NORMAL
    assert h.disruption(["True", "Unknown", "Unknown"]) is h.Disruption.PARTIAL  # 2 of 3 >= 55 %
    assert h.disruption(["Unknown"]) is h.Disruption.FULL and h.disruption(["False", "Unknown"]) is h.Disruption.FULL
    assert h.disruption([]) is h.Disruption.NORMAL
    assert h.disruption(["True"] * 5 + ["Unknown"] * 5) is h.Disruption.NORMAL  # 50 % < 55 %
    assert h.eviction_rate(h.Disruption.NORMAL, 3, 1.0) == 1.0
    assert h.eviction_rate(h.Disruption.PARTIAL, 3, 1.0) == 0.0
    assert h.eviction_rate(h.Disruption.PARTIAL, 51, 1.0) == h.SECONDARY_RATE  # large clusters trickle
    assert h.eviction_rate(h.Disruption.FULL, 51, 1.0) == 0.0


def test_the_token_bucket_lets_the_first_node_go_at_once_and_spaces_the_rest():
    bucket = h.TokenBucket(0.5)
    assert bucket.take(100.0) and not bucket.take(100.0)
    assert bucket.wait(100.0) == pytest.approx(2.0)
    assert not bucket.take(101.0) and bucket.take(102.0)
    bucket.set_rate(0.0, 200.0)
    assert bucket.wait(200.0) == math.inf
    assert bucket.tokens >= 1 and not bucket.take(200.0)  # a full bucket hands out nothing at rate 0


def tol(key="", operator=None, effect=None, value=None, seconds=None) -> Toleration:
    return Toleration(key=key or None, operator=operator, effect=effect, value=value, toleration_seconds=seconds)


UNREACHABLE = Taint(key=h.UNREACHABLE, effect="NoExecute", time_added=STAMP)


def test_tolerations_match_as_kubernetes_matches_them():
    assert tolerates(tol(h.UNREACHABLE, "Exists", "NoExecute"), UNREACHABLE)
    assert tolerates(tol(operator="Exists"), UNREACHABLE)  # empty key with Exists: every taint
    assert not tolerates(tol(operator="Equal"), UNREACHABLE)
    assert not tolerates(tol(h.UNREACHABLE, "Exists", "NoSchedule"), UNREACHABLE)
    assert tolerates(tol(h.UNREACHABLE, "Exists"), UNREACHABLE)  # empty effect: every effect
    valued = Taint(key="k", value="v", effect="NoExecute")
    assert tolerates(tol("k", None, None, "v"), valued) and not tolerates(tol("k", "Equal", None, "w"), valued)


def test_eviction_time_from_the_taints_time_added_and_the_most_patient_toleration():
    assert eviction_time([], [UNREACHABLE], T0 + 3) == T0 + 3  # untolerated: at once
    ten = tol(h.UNREACHABLE, "Exists", "NoExecute", seconds=10)
    assert eviction_time([ten], [UNREACHABLE], T0 + 3) == T0 + 10  # from timeAdded, not from now
    assert eviction_time([ten], [UNREACHABLE], T0 + 30) == T0 + 30
    forever = tol(h.UNREACHABLE, "Exists", "NoExecute")
    assert eviction_time([ten, forever], [UNREACHABLE], T0) is None
    assert tolerated_for([tol(h.UNREACHABLE, "Exists", "NoExecute", seconds=-5)], UNREACHABLE) == 0
    schedule_only = Taint(key=h.UNREACHABLE, effect="NoSchedule")
    assert eviction_time([], [schedule_only], T0) is None  # NoSchedule never evicts
    other = Taint(key="maintenance", effect="NoExecute", time_added=STAMP)
    assert eviction_time([ten, forever], [UNREACHABLE, other], T0) == T0  # one untolerated taint is enough


def test_admission_adds_the_default_tolerations_unless_the_pod_has_its_own():
    spec: dict = {}
    default_tolerations(spec, 10)
    assert spec["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 10}]
    own = {"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                            "tolerationSeconds": 600}]}
    default_tolerations(own, 10)
    assert [t.get("tolerationSeconds") for t in own["tolerations"]] == [600, 10]
    everything = {"tolerations": [{"operator": "Exists"}]}
    default_tolerations(everything, 10)
    assert everything["tolerations"] == [{"operator": "Exists"}]
    schedule_only = {"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                      "effect": "NoSchedule"}]}
    default_tolerations(schedule_only, 10)
    assert len(schedule_only["tolerations"]) == 3
