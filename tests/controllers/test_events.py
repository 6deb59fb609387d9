"""The event recorder: repeats of one event become one Event with a count, as ``kubectl describe`` shows them."""

import json


from portside.controllers import EventRecorder


def events(cluster, ns):
    return json.loads(cluster.kubectl("get", "-n", ns, "events", "-o", "json").stdout)["items"]


def test_repeats_are_counted_on_one_event_and_new_messages_get_their_own(cluster, harness):
    ns = cluster.namespace("events")
    cm = harness.call(harness.client.create("configmaps", {"metadata": {"name": "cfg"}, "data": {}}, ns))
    recorder = harness.call(_recorder(harness.client))
    for _ in range(3):
        harness.call(recorder.record(cm, "Warning", "BackOff", "Back-off restarting failed container"))
    harness.call(recorder.record(cm, "Normal", "Pulled", "Image pulled"))
    got = {e["reason"]: e for e in events(cluster, ns)}
    assert set(got) == {"BackOff", "Pulled"}
    assert got["BackOff"]["count"] == 3 and got["Pulled"]["count"] == 1
    assert got["BackOff"]["involvedObject"]["uid"] == cm["metadata"]["uid"]
    assert got["BackOff"]["source"]["component"] == "test-component"
    assert got["BackOff"]["lastTimestamp"] >= got["BackOff"]["firstTimestamp"]


def test_an_expired_event_is_written_afresh(cluster, harness):
    ns = cluster.namespace("events-expired")
    cm = harness.call(harness.client.create("configmaps", {"metadata": {"name": "cfg"}, "data": {}}, ns))
    recorder = harness.call(_recorder(harness.client))
    harness.call(recorder.record(cm, "Normal", "Synced", "synced"))
    cluster.kubectl("delete", "-n", ns, "events", "--all")
    harness.call(recorder.record(cm, "Normal", "Synced", "synced"))
    assert [(e["reason"], e["count"]) for e in events(cluster, ns)] == [("Synced", 1)]


async def _recorder(client):
    return EventRecorder(client, "test-component")


def test_many_similar_messages_fold_into_one_combined_event(cluster, harness):
    ns = cluster.namespace("events-similar")
    cm = harness.call(harness.client.create("configmaps", {"metadata": {"name": "cfg"}, "data": {}}, ns))
    recorder = harness.call(_recorder(harness.client))
    for i in range(15):
        harness.call(recorder.record(cm, "Normal", "SuccessfulCreate", f"Created pod: web-{i}"))
    created = [e for e in events(cluster, ns) if e["reason"] == "SuccessfulCreate"]
    combined = [e for e in created if e["message"].startswith("(combined from similar events): ")]
    assert len(created) == 10 and len(combined) == 1
    assert combined[0]["count"] == 6 and combined[0]["message"].endswith("Created pod: web-14")
    assert sum(e["count"] for e in created) == 15
