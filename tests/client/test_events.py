"""The event recorder: repeats of one event become one Event with a count, as ``kubectl describe`` shows them."""

import asyncio
import json
import logging

from support.net import free_port

from portside.client import Client, ClientConfig, EventRecorder, container_path, pod_reference


def events(cluster, ns):
    return json.loads(cluster.kubectl("get", "-n", ns, "events", "-o", "json").stdout)["items"]


def configmap(ns):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": ns}, "data": {}}


def run(cluster, ns, steps, **options):
    """``steps(recorder, cm)`` against a fresh ConfigMap in ``ns``, with a recorder of its own."""
    async def body():
        async with Client.from_kubeconfig(cluster.kubeconfig) as client:
            cm = await client.create("configmaps", configmap(ns))
            return await steps(EventRecorder(client, "test-component", **options), cm)
    return asyncio.run(body())


def test_repeats_are_counted_on_one_event_and_new_messages_get_their_own(cluster):
    ns = cluster.namespace("events")

    async def body(recorder, cm):
        for _ in range(3):
            await recorder.record(cm, "Warning", "BackOff", "Back-off restarting failed container")
        await recorder.record(cm, "Normal", "Pulled", "Image pulled")
        return cm

    cm = run(cluster, ns, body)
    got = {e["reason"]: e for e in events(cluster, ns)}
    assert set(got) == {"BackOff", "Pulled"}
    assert got["BackOff"]["count"] == 3 and got["Pulled"]["count"] == 1
    assert got["BackOff"]["involvedObject"]["uid"] == cm.metadata.uid
    assert got["BackOff"]["source"]["component"] == "test-component"
    assert got["BackOff"]["lastTimestamp"] >= got["BackOff"]["firstTimestamp"]


def test_an_expired_event_is_written_afresh(cluster):
    ns = cluster.namespace("events-expired")

    async def body(recorder, cm):
        await recorder.record(cm, "Normal", "Synced", "synced")
        await asyncio.to_thread(cluster.kubectl, "delete", "-n", ns, "events", "--all")
        await recorder.record(cm, "Normal", "Synced", "synced")

    run(cluster, ns, body)
    assert [(e["reason"], e["count"]) for e in events(cluster, ns)] == [("Synced", 1)]


def test_many_similar_messages_fold_into_one_combined_event(cluster):
    ns = cluster.namespace("events-similar")

    async def body(recorder, cm):
        for i in range(15):
            await recorder.record(cm, "Normal", "SuccessfulCreate", f"Created pod: web-{i}")

    run(cluster, ns, body)
    created = [e for e in events(cluster, ns) if e["reason"] == "SuccessfulCreate"]
    combined = [e for e in created if e["message"].startswith("(combined from similar events): ")]
    assert len(created) == 10 and len(combined) == 1
    assert combined[0]["count"] == 6 and combined[0]["message"].endswith("Created pod: web-14")
    assert sum(e["count"] for e in created) == 15


def test_a_node_component_names_its_host_and_the_container(cluster):
    """What the agent writes: source host and reportingInstance, and the container as the fieldPath; the same
    reason for two containers of one pod stays two Events."""
    ns = cluster.namespace("events-host")

    async def body(recorder, cm):
        ref = pod_reference(ns, "web", "uid-web")
        await recorder.record(ref, "Normal", "Started", "Started container", container_path("main"))
        await recorder.record(ref, "Normal", "Started", "Started container", container_path("side"))

    run(cluster, ns, body, host="node-7")
    got = sorted(events(cluster, ns), key=lambda e: e["involvedObject"]["fieldPath"])
    assert [e["involvedObject"]["fieldPath"] for e in got] == ["spec.containers{main}", "spec.containers{side}"]
    assert all(e["count"] == 1 for e in got)
    first = got[0]
    assert (first["source"], first["reportingInstance"]) == ({"component": "test-component", "host": "node-7"},
                                                             "node-7")
    assert {k: first["involvedObject"][k] for k in ("kind", "name", "namespace", "uid")} == {
        "kind": "Pod", "name": "web", "namespace": ns, "uid": "uid-web"}


def test_emit_returns_at_once_and_a_repeated_warning_grows_one_count(cluster):
    ns = cluster.namespace("events-emit")

    async def body(recorder, cm):
        for _ in range(4):
            assert recorder.emit(cm, "Warning", "BackOff", "Back-off restarting failed container") is None
        pending = len(recorder._tasks)
        await recorder.drain()
        return pending

    assert run(cluster, ns, body) == 4  # all four were still in flight when emit returned
    assert [(e["reason"], e["count"]) for e in events(cluster, ns)] == [("BackOff", 4)]


def test_an_emitted_event_that_cannot_reach_the_api_is_logged(caplog):
    async def body():
        async with Client(ClientConfig(f"http://127.0.0.1:{free_port()}")) as client:  # nothing listens there
            recorder = EventRecorder(client, "test-component")
            recorder.emit(pod_reference("default", "web", "uid-web"), "Normal", "Started", "Started container")
            await recorder.drain()
            await asyncio.sleep(0)  # the done callback runs one loop turn after the task ends
            return len(recorder._tasks)

    with caplog.at_level(logging.WARNING, logger="portside.events"):
        assert asyncio.run(body()) == 0
    assert any("test-component: event not recorded" in r.getMessage() for r in caplog.records)
