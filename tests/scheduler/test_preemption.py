from support.builders import match
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import Taint


def test_lowest_priority_victims_are_chosen(cluster):
    c = cluster([node("a", cpu=2), node("b", cpu=2)])
    c.bind(pod("a-mid", cpu=2, priority=50), "a")
    c.bind(pod("b-low", cpu=2, priority=10), "b")
    c.place(pod("vip", cpu=2, priority=100))
    assert [v for v, _, _ in c.binder.evicted] == ["default/b-low"]
    assert c.binder.nominations == {"default/vip": "b"}
    assert "nominated b, preempting 1 pod(s)" in c.binder.refusals["default/vip"]


def test_fewest_victims_win_among_equal_priorities(cluster):
    c = cluster([node("two", cpu=2), node("one", cpu=2)])
    c.bind(pod("t1", cpu=1, priority=1), "two")
    c.bind(pod("t2", cpu=1, priority=1), "two")
    c.bind(pod("o1", cpu=2, priority=1), "one")
    c.place(pod("vip", cpu=2, priority=100))
    assert [v for v, _, _ in c.binder.evicted] == ["default/o1"]


def test_only_as_many_victims_as_needed(cluster):
    c = cluster([node("a", cpu=4)])
    for i, prio in enumerate((1, 2, 3, 4)):
        c.bind(pod(f"v{i}", cpu=1, priority=prio), "a")
    c.place(pod("vip", cpu=2, priority=100))
    assert sorted(v for v, _, _ in c.binder.evicted) == ["default/v0", "default/v1"]


def test_nomination_reserves_the_room_and_the_preemptor_binds_when_victims_are_gone(cluster):
    c = cluster([node("a", cpu=2)])
    c.bind(pod("low", cpu=2, priority=1), "a")
    vip = pod("vip", cpu=2, priority=100)
    assert c.place(vip) is None
    c.sched.pod_deleted("default/low", 1.0)  # the victim terminated
    assert c.place(pod("sneaky", cpu=1, priority=1)) is None  # cannot take the nominated room
    c.now = 2.0
    c.sched.run(c.now)
    assert c.binder.bound["default/vip"] == "a"


def test_preemption_policy_never(cluster):
    c = cluster([node("a", cpu=2)])
    c.bind(pod("low", cpu=2, priority=1), "a")
    message = c.refusal(pod("polite", cpu=2, priority=100, preemption_policy="Never"))
    assert c.binder.evicted == []
    assert message == ("0/1 nodes are available: 1 Insufficient cpu. "
                       "preemption: not eligible due to preemptionPolicy=Never.")


def test_equal_or_higher_priority_pods_are_never_victims(cluster):
    c = cluster([node("a", cpu=2)])
    c.bind(pod("peer", cpu=2, priority=100), "a")
    message = c.refusal(pod("vip", cpu=2, priority=100))
    assert c.binder.evicted == []
    assert message.endswith("preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")


def test_evicting_cannot_cure_a_taint(cluster):
    c = cluster([node("a", cpu=2, taints=(Taint("gpu", "true"),))])
    c.bind(pod("low", cpu=2, priority=1), "a")
    message = c.refusal(pod("vip", cpu=2, priority=100))
    assert c.binder.evicted == []
    assert "Preemption is not helpful for scheduling" in message


def test_preemption_can_cure_pod_anti_affinity(cluster):
    from portside.scheduler.model import PodAffinityTerm

    c = cluster([node("a", cpu=8)])
    c.bind(pod("noisy", cpu=1, priority=1, labels={"app": "noisy"}), "a")
    c.bind(pod("quiet", cpu=1, priority=1), "a")
    away = (PodAffinityTerm(match(app="noisy"), "kubernetes.io/hostname"),)
    message = c.refusal(pod("vip", cpu=1, priority=100, anti_affinity=away))
    assert [v for v, _, _ in c.binder.evicted] == ["default/noisy"]  # room was never the problem
    assert message.startswith("0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules.")
