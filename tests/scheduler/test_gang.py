from support.builders import node_info as node
from support.builders import pod_info as pod


def member(name: str, cpu: float = 1, gang: str = "train", size: int = 3, **kw):
    return pod(name, cpu=cpu, gang=gang, gang_min=size, **kw)


def test_whole_gang_is_placed_together(cluster):
    c = cluster([node("a", cpu=2), node("b", cpu=2)])
    c.run(member("w0"), member("w1"), member("w2"))
    assert sorted(c.binder.bound) == ["default/w0", "default/w1", "default/w2"]


def test_gang_that_does_not_fit_places_nothing_and_holds_nothing(cluster):
    c = cluster([node("a", cpu=2), node("b", cpu=2)])
    c.run(member("w0", cpu=1.5), member("w1", cpu=1.5), member("w2", cpu=1.5))
    assert c.binder.bound == {}
    assert c.sched.nodes.placed == {}
    assert (c.sched.nodes.requested == 0).all()
    assert c.binder.refusals["default/w0"].startswith(
        "gang train: 2 of 3 pods placed; 0/2 nodes are available: 2 Insufficient cpu.")
    # The room no partial gang holds is free for anyone else.
    assert c.place(pod("other", cpu=2)) in {"a", "b"}


def test_incomplete_gang_waits_for_its_members_then_starts(cluster):
    c = cluster([node("a", cpu=4)])
    c.run(member("w0"), member("w1"))
    assert c.binder.bound == {}
    assert c.binder.refusals["default/w1"] == "gang train: waiting for members, 2 of 3 present"
    c.run(member("w2"))
    assert sorted(c.binder.bound) == ["default/w0", "default/w1", "default/w2"]


def test_gangs_are_per_namespace(cluster):
    c = cluster([node("a", cpu=4)])
    c.run(member("w0", namespace="x"), member("w1", namespace="x"), member("w2", namespace="y"))
    assert c.binder.bound == {}
