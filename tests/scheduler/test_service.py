"""The scheduler daemon against a real ``portside up``: watches in, pods/binding and status out."""

from __future__ import annotations

import asyncio

import pytest
from support.cluster import Cluster, only
from support.wait import eventually_async

from portside.client import Client, NotFound
from portside.scheduler.service import SchedulerService


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Only the API server: the local node's agent (and the scheduler component) would run or bind pods behind
    the back of the scheduler under test. (Here, since tests/scheduler's own ``cluster`` is an in-memory one.)"""
    with Cluster(tmp_path_factory.mktemp("sched") / "data", extra=only()) as c:
        yield c


def node(name: str, cpu: str = "4", memory: str = "8Gi", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"tier": name[:1]}},
            "spec": spec, "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                                     "capacity": {"cpu": cpu, "memory": memory, "pods": "110"}}}


def pod(name: str, cpu: str = "500m", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}], **spec}}


async def node_of(client: Client, ns: str, name: str) -> str | None:
    return (await client.get("pods", name, ns))["spec"].get("nodeName")


def run_with_scheduler(cluster: Cluster, body) -> None:
    async def main():
        async with Client.from_kubeconfig(cluster.kubeconfig) as client:
            service = SchedulerService(client)
            ready = asyncio.Event()
            task = asyncio.create_task(service.run(ready))
            try:
                await asyncio.wait_for(ready.wait(), 10)
                await body(client.raw, service)  # the tests read wire dicts
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    asyncio.run(main())


def test_binds_through_the_api_and_explains_refusals(cluster):
    ns = cluster.namespace("sched-basic")

    async def body(client: Client, service: SchedulerService):
        await client.create("nodes", node("a-small", cpu="1"))
        await client.create("nodes", node("b-big", cpu="8"))
        await client.create("pods", pod("fits"), ns)
        await client.create("pods", pod("picky", nodeSelector={"tier": "a"}), ns)
        await client.create("pods", pod("huge", cpu="16"), ns)
        await client.create("pods", pod("other", schedulerName="someone-else"), ns)
        assert await eventually_async(lambda: node_of(client, ns, "fits")) == "b-big"
        assert await eventually_async(lambda: node_of(client, ns, "picky")) == "a-small"

        async def condition():
            got = await client.get("pods", "huge", ns)
            return [c for c in got["status"].get("conditions") or [] if c["type"] == "PodScheduled"]
        cond = (await eventually_async(condition))[0]
        assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
        assert cond["message"].startswith("0/2 nodes are available: 2 Insufficient cpu.")

        async def failed_scheduling():  # the scheduler records its Event in the background, after the status
            got = await client.list("events", ns, field_selector="involvedObject.name=huge")
            matching = [e for e in got.items if e["reason"] == "FailedScheduling" and e["message"] == cond["message"]]
            return got if matching else None
        events = await eventually_async(failed_scheduling)
        assert all(e["type"] == "Warning" and e["source"] == {"component": "default-scheduler"}
                   and e["involvedObject"]["kind"] == "Pod" for e in events.items)
        assert await node_of(client, ns, "other") is None  # another scheduler's pod is left alone

        # A bigger node arrives: the parked pod is retried on that event and bound.
        await client.create("nodes", node("c-huge", cpu="32"))
        assert await eventually_async(lambda: node_of(client, ns, "huge"), timeout=15) == "c-huge"
        for name in ("a-small", "b-big", "c-huge"):
            await client.delete("nodes", name)

    run_with_scheduler(cluster, body)


def test_priority_class_preemption_through_the_api(cluster):
    ns = cluster.namespace("sched-preempt")

    async def body(client: Client, service: SchedulerService):
        await client.create("priorityclasses", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                                "metadata": {"name": "urgent"}, "value": 1000})
        await client.create("priorityclasses", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                                "metadata": {"name": "background"}, "value": -5,
                                                "globalDefault": True})
        await client.create("nodes", node("p-only", cpu="2"))
        await client.create("pods", pod("low", cpu="2", terminationGracePeriodSeconds=0), ns)
        assert await eventually_async(lambda: node_of(client, ns, "low")) == "p-only"
        low = [p for p, _ in service.core.nodes.placed.values() if p.name == "low"][0]
        assert low.priority == -5  # no class named: the globalDefault class applies
        await client.create("pods", pod("vip", cpu="2", priorityClassName="urgent"), ns)

        async def victim_gone():
            try:
                await client.get("pods", "low", ns)
            except NotFound:
                return True
            return False
        await eventually_async(victim_gone)

        async def nominated_or_bound():  # the nomination patch and the eviction are sent concurrently
            status = (await client.get("pods", "vip", ns))["status"]
            return status.get("nominatedNodeName") == "p-only" or (await node_of(client, ns, "vip")) == "p-only"
        await eventually_async(nominated_or_bound)
        assert await eventually_async(lambda: node_of(client, ns, "vip"), timeout=15) == "p-only"
        await client.delete("nodes", "p-only")
        await client.delete("priorityclasses", "background")

    run_with_scheduler(cluster, body)


def test_a_bound_pod_that_finishes_frees_its_node_for_the_next(cluster):
    """The scheduler's own bindings come back as pod events it skips without decoding the pod; a later event of
    the same bound pod that ends it (phase Succeeded) must still reach the core and free the node's room."""
    ns = cluster.namespace("sched-finish")

    async def body(client: Client, service: SchedulerService):
        await client.create("nodes", node("f-only", cpu="1"))
        await client.create("pods", pod("first", cpu="800m"), ns)
        assert await eventually_async(lambda: node_of(client, ns, "first")) == "f-only"
        await client.create("pods", pod("second", cpu="800m"), ns)
        await asyncio.sleep(1)
        assert await node_of(client, ns, "second") is None  # no room while the first runs
        first = await client.get("pods", "first", ns)
        await client.patch("pods", "first", {"status": {"phase": "Succeeded"}}, ns, subresource="status")
        assert first["spec"]["nodeName"] == "f-only"
        assert await eventually_async(lambda: node_of(client, ns, "second"), timeout=15) == "f-only"
        await client.delete("nodes", "f-only")

    run_with_scheduler(cluster, body)


def test_binds_queue_behind_a_few_tasks_and_all_complete(cluster):
    """A slice of the loop queues many binds at once: they wait in one queue that ``max_in_flight`` tasks work
    through in order (not as a task each), and every outcome is reported."""
    from portside.scheduler.apibinder import ApiBinder
    from portside.scheduler.model import PodInfo

    ns = cluster.namespace("sched-queue")

    async def main():
        async with Client.from_kubeconfig(cluster.kubeconfig) as client:
            raw = client.raw
            await raw.create("nodes", node("q-node"))
            made = [await raw.create("pods", pod(f"q{i}"), ns) for i in range(12)]
            done = []
            binder = ApiBinder(raw, lambda uid, ok: done.append((uid, ok)), max_in_flight=3)
            for p in made:
                binder.bind(PodInfo(p["metadata"]["name"], namespace=ns, uid=p["metadata"]["uid"]), "q-node")
            assert len(binder.tasks) == 3 and binder.binding == 12
            await binder.drain()
            assert sorted(done) == sorted((p["metadata"]["uid"], True) for p in made)
            assert not binder.tasks and not binder.to_bind and binder.binding == 0 and binder.idle.is_set()
            for p in made:
                await raw.delete("pods", p["metadata"]["name"], ns)
            await raw.delete("nodes", "q-node")
    asyncio.run(main())


def test_scheduled_events_wait_for_the_backlog_and_are_then_written(cluster):
    """A Scheduled Event costs the API server (in the same process) a request: while the service says a backlog
    of pods waits, the binder binds and holds the Events back; once it is gone, they are written."""
    from portside.scheduler.apibinder import ApiBinder
    from portside.scheduler.model import PodInfo

    ns = cluster.namespace("sched-backlog")

    async def main():
        async with Client.from_kubeconfig(cluster.kubeconfig) as client:
            raw = client.raw
            await raw.create("nodes", node("bl-node"))
            created = await raw.create("pods", pod("held"), ns)
            done = []
            binder = ApiBinder(raw, lambda uid, ok: done.append(ok))
            binder.scheduling_backlog(True)
            binder.bind(PodInfo("held", namespace=ns, uid=created["metadata"]["uid"]), "bl-node")
            await eventually_async(lambda: done or None)
            assert done == [True] and await node_of(raw, ns, "held") == "bl-node"

            async def scheduled():
                got = await raw.list("events", ns, field_selector="involvedObject.name=held,reason=Scheduled")
                return got.items
            await asyncio.sleep(1)
            assert await scheduled() == []  # held back while the backlog lasts
            binder.scheduling_backlog(False)
            event = (await eventually_async(scheduled))[0]
            assert event["message"] == f"Successfully assigned {ns}/held to bl-node"
            await binder.drain()
            await raw.delete("nodes", "bl-node")
    asyncio.run(main())
