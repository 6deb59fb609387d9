from portside.scheduler.framework import NODE_ADD, POD_DELETE
from portside.scheduler.model import PodInfo
from portside.scheduler.queue import SchedulingQueue
from portside.scheduler.queuesort import PrioritySort

INTEREST = {"NodeResourcesFit": frozenset({NODE_ADD, POD_DELETE}), "NodeAffinity": frozenset({NODE_ADD})}


def names(q: SchedulingQueue, now: float = 0.0) -> list[str]:
    out = []
    while (qp := q.pop(now)) is not None:
        out.append(qp.pod.name)
    return out


def test_priority_first_then_age():
    q = SchedulingQueue()
    q.add(PodInfo("old-low", priority=0, created=1), 0)
    q.add(PodInfo("new-high", priority=10, created=5), 0)
    q.add(PodInfo("older-low", priority=0, created=0), 0)
    assert names(q) == ["new-high", "older-low", "old-low"]


def test_dominant_tie_break_orders_a_batch_largest_first():
    sort = PrioritySort("dominant", {"cpu": 8000, "memory": 8 << 30})
    q = SchedulingQueue(sort=sort)
    q.add(PodInfo("small", requests={"cpu": 1000}), 0)
    q.add(PodInfo("mem-big", requests={"cpu": 1000, "memory": 6 << 30}), 0)
    q.add(PodInfo("cpu-mid", requests={"cpu": 4000}), 0)
    assert names(q) == ["mem-big", "cpu-mid", "small"]


def test_parked_pod_returns_only_on_an_event_that_can_help():
    q = SchedulingQueue(interest=INTEREST)
    q.add(PodInfo("p"), 0)
    qp = q.pop(0)
    q.park(qp, 0, {"NodeAffinity"}, "no match")
    assert q.pop(100) is None
    assert q.on_event(POD_DELETE, 100) == 0  # a deleted pod frees room, not labels
    assert q.on_event(NODE_ADD, 100) == 1
    assert q.pop(100).pod.name == "p"


def test_back_off_doubles_and_caps():
    q = SchedulingQueue(interest=INTEREST)
    q.add(PodInfo("p"), 0)
    now = 0.0
    waits = []
    for _ in range(6):
        qp = q.pop(now)
        q.retry(qp, now)
        assert q.pop(now) is None
        waits.append(q.next_wakeup() - now)
        now = q.next_wakeup()
    assert waits == [1, 2, 4, 8, 10, 10]


def test_event_during_the_attempt_sends_the_pod_to_back_off_not_parking():
    q = SchedulingQueue(interest=INTEREST)
    q.add(PodInfo("p"), 0)
    qp = q.pop(0)
    q.on_event(POD_DELETE, 0)  # room freed while the pod was being tried
    q.park(qp, 0, {"NodeResourcesFit"}, "Insufficient cpu")
    assert q.counts()["backoff"] == 1
    assert q.pop(1.0).pod.name == "p"


def test_deleted_pod_never_pops():
    q = SchedulingQueue()
    q.add(PodInfo("p"), 0)
    q.delete("default/p")
    assert q.pop(0) is None and len(q) == 0


def test_batch_order_puts_scarce_resources_first_then_alternates_kinds():
    from portside.scheduler.queuesort import batch_order

    capacity = {"cpu": 16000, "memory": 64 << 30, "nvidia.com/gpu": 4}
    cpu_big, cpu_small = PodInfo("cpu-big", requests={"cpu": 8000}), PodInfo("cpu-small", requests={"cpu": 2000})
    mem_big = PodInfo("mem-big", requests={"cpu": 1000, "memory": 48 << 30})
    mem_small = PodInfo("mem-small", requests={"cpu": 500, "memory": 16 << 30})
    gpu = PodInfo("gpu", requests={"cpu": 1000, "nvidia.com/gpu": 1})
    order = batch_order([cpu_small, mem_small, cpu_big, gpu, mem_big], capacity)
    assert [p.name for p in order] == ["gpu", "mem-big", "cpu-big", "mem-small", "cpu-small"]


def test_batch_rank_orders_equal_priority_and_age_only():
    sort = PrioritySort("dominant", {"cpu": 8000, "memory": 8 << 30})
    q = SchedulingQueue(sort=sort)
    batch = [PodInfo("small", requests={"cpu": 1000}), PodInfo("big", requests={"cpu": 6000})]
    sort.rank_batch(batch)
    for pod in batch:
        q.add(pod, 0)
    q.add(PodInfo("urgent", priority=5, requests={"cpu": 100}), 0)
    assert names(q) == ["urgent", "big", "small"]
