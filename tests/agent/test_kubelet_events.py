"""The node agent's Events in the kubelet's words, through a real ``portside up`` and stock kubectl: what
``kubectl describe pod`` lists for a healthy pod, a pod whose probes fail, an image pulled from a registry and one
that cannot be pulled."""

from __future__ import annotations

import json
import re

from support.wait import eventually

from portside.agent.events import back_off_waiting, go_duration, pulled
from tests.agent.conftest import container_status
from tests.agent.test_pods import pod
from tests.image.registry.helpers import start_registry, stop_registry


def events(node, pod_name: str) -> dict[str, list[dict]]:
    """The pod's Events by reason."""
    got = node.kubectl("get", "events", "--field-selector", f"involvedObject.name={pod_name}", "-o", "json")
    out: dict[str, list[dict]] = {}
    for e in json.loads(got.stdout)["items"]:
        out.setdefault(e["reason"], []).append(e)
    return out


def messages(node, pod_name: str, *reasons: str) -> dict[str, list[str]]:
    """Once every one of ``reasons`` was recorded: their messages by reason."""
    got = eventually(lambda: (e := events(node, pod_name)) and set(reasons) <= set(e) and e, 20, 0.2,
                   f"{pod_name}: Events {reasons}")
    return {r: [e["message"] for e in got[r]] for r in reasons}


def described(node, pod_name: str) -> list[str]:
    """The rows under "Events:" of ``kubectl describe pod`` (type, reason, age, from, message)."""
    text = node.kubectl("describe", "pod", pod_name).stdout
    return [row for row in text.split("\nEvents:\n", 1)[-1].splitlines()[2:] if row.strip()]


def shows(rows: list[str], type: str, reason: str, message: str) -> bool:
    return any(row.split()[:2] == [type, reason] and row.rstrip().endswith(message) for row in rows)


def test_a_pod_that_starts_shows_pulled_created_started_and_killing_on_delete(node):
    node.apply(pod("calm", "trap 'exit 0' TERM; while true; do sleep 1; done"))
    got = messages(node, "calm", "Pulled", "Created", "Started")
    assert got == {"Pulled": ['Container image "busybox" already present on machine'],
                   "Created": ["Created container: main"], "Started": ["Started container main"]}
    every = [e for reason, found in events(node, "calm").items() if reason != "Scheduled" for e in found]
    assert {(e["type"], e["source"]["component"], e["involvedObject"].get("fieldPath")) for e in every} == {
        ("Normal", "kubelet", "spec.containers{main}")}
    rows = described(node, "calm")
    assert shows(rows, "Normal", "Pulled", 'Container image "busybox" already present on machine'), rows
    assert shows(rows, "Normal", "Created", "Created container: main"), rows
    assert shows(rows, "Normal", "Started", "Started container main"), rows
    node.kubectl("delete", "pod", "calm", "--wait=false")
    assert messages(node, "calm", "Killing")["Killing"] == ["Stopping container main"]


def test_failing_probes_show_unhealthy_killing_and_back_off(node):
    manifest = pod("sick", "trap 'exit 0' TERM; while true; do sleep 1; done",
                   livenessProbe={"exec": {"command": ["cat", "/tmp/alive"]}, "periodSeconds": 1,
                                  "failureThreshold": 1},
                   readinessProbe={"tcpSocket": {"port": 8081}, "periodSeconds": 1})
    node.apply(manifest)
    got = messages(node, "sick", "Unhealthy", "Killing", "BackOff")
    p = node.pod("sick")
    ip, uid = p["status"]["podIP"], p["metadata"]["uid"]
    assert "Liveness probe failed: cat: can't open '/tmp/alive': No such file or directory\n" in got["Unhealthy"]
    assert f"Readiness probe failed: dial tcp {ip}:8081: connect: connection refused" in got["Unhealthy"]
    assert got["Killing"] == ["Container main failed liveness probe, will be restarted"]
    assert got["BackOff"] == [f"Back-off restarting failed container main in pod sick_default({uid})"]
    waiting = eventually(lambda: container_status(node.pod("sick"))["state"].get("waiting"), 10, 0.2, "back-off")
    assert waiting["reason"] == "CrashLoopBackOff"
    assert waiting["message"].startswith("back-off ") and waiting["message"].endswith(
        f" restarting failed container=main pod=sick_default({uid})")
    rows = described(node, "sick")
    assert {"Pulled", "Created", "Started", "Unhealthy", "Killing", "BackOff"} <= {r.split()[1] for r in rows}
    assert shows(rows, "Warning", "BackOff", f"Back-off restarting failed container main in pod sick_default({uid})")
    assert shows(rows, "Normal", "Killing", "Container main failed liveness probe, will be restarted"), rows


def test_an_image_that_cannot_be_pulled_shows_pulling_failed_and_back_off(node):
    image = "127.0.0.1:1/nothing:1"  # a registry address where nothing listens
    node.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unpulled"},
                "spec": {"containers": [{"name": "main", "image": image}]}})
    eventually(lambda: "Error: ImagePullBackOff" in messages(node, "unpulled", "Failed")["Failed"], 20, 0.2,
               "the Failed Event of the back-off")  # recorded just after the BackOff one
    got = messages(node, "unpulled", "Pulling", "Failed", "BackOff")
    assert got["Pulling"] == [f'Pulling image "{image}"']
    assert "Error: ErrImagePull" in got["Failed"] and "Error: ImagePullBackOff" in got["Failed"]
    assert any(m.startswith(f'Failed to pull image "{image}": ') for m in got["Failed"]), got
    assert got["BackOff"] == [f'Back-off pulling image "{image}"']


def test_durations_and_pull_messages_read_as_go_and_the_kubelet_write_them():
    assert [go_duration(s) for s in (0.000512, 0.5125, 1.25, 46.9444707, 80, 300, 3723.5)] == [
        "512µs", "512.5ms", "1.25s", "46.9444707s", "1m20s", "5m0s", "1h2m3.5s"]
    assert pulled("busybox:1.36", 1.5, 2048).message == (
        'Successfully pulled image "busybox:1.36" in 1.5s (1.5s including waiting). Image size: 2048 bytes.')
    assert back_off_waiting(20, "main", "web_default(u1)") == (
        "back-off 20s restarting failed container=main pod=web_default(u1)")


def test_an_init_container_is_named_by_its_own_field_path(node):
    manifest = pod("prepared", "sleep 3600")
    manifest["spec"]["initContainers"] = [{"name": "setup", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                           "command": ["true"]}]
    node.apply(manifest)
    eventually(lambda: len(events(node, "prepared").get("Started", [])) == 2, 20, 0.2, "both containers Started")
    started = {e["message"]: e["involvedObject"]["fieldPath"] for e in events(node, "prepared")["Started"]}
    assert started == {"Started container setup": "spec.initContainers{setup}",
                       "Started container main": "spec.containers{main}"}


def test_an_image_pulled_from_a_registry_shows_pulling_and_pulled(node, tmp_path):
    registry = start_registry(tmp_path / "registry")
    try:
        image = f"{registry.host}/busybox:1"
        (node.root / "registries.json").write_text(json.dumps({"insecure": [registry.host]}))
        for argv in (("tag", "busybox", image), ("push", "-q", image), ("rmi", image)):
            assert node.engine(*argv).returncode == 0, argv
        node.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pulled"},
                    "spec": {"containers": [{"name": "main", "image": image, "command": ["sleep", "3600"]}]}})
        got = messages(node, "pulled", "Pulling", "Pulled", "Started")
    finally:
        stop_registry(registry.proc)
    assert got["Pulling"] == [f'Pulling image "{image}"']
    (pulled_message,) = got["Pulled"]
    assert re.fullmatch(rf'Successfully pulled image "{re.escape(image)}" in (\S+) \(\1 including waiting\)\. '
                        r"Image size: [1-9][0-9]* bytes\.", pulled_message), pulled_message
