"""Events through the Docker API and ``portside events``: what the CLI, the API and the containers' monitors did,
from the engine's one event log, replayed between ``since`` and ``until`` and followed as it grows."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from streamwire import request
from support.wait import eventually

pytestmark = pytest.mark.integration


def _window(api, action) -> tuple[str, str, object]:
    """``action()`` between two of docker's Unix-time bounds (what the docker CLI sends for --since/--until)."""
    since = f"{time.time():.9f}"
    result = action()
    time.sleep(0.01)
    return since, f"{time.time():.9f}", result


def test_a_containers_life_through_the_cli_is_in_docker_events(docker_api) -> None:
    def life() -> str:
        cid = docker_api.ps("create", "--name", "evapi-c1", "--label", "team=web", "busybox",
                            "sh", "-c", "exit 3").stdout.strip()
        docker_api.ps("start", "evapi-c1")
        docker_api.ps("wait", "evapi-c1")
        docker_api.ps("rm", "evapi-c1")
        return cid
    since, until, cid = _window(docker_api, life)
    lines = docker_api.docker("events", "--since", since, "--until", until,
                              "--filter", f"container={cid}").stdout.splitlines()
    attributes = "(image=busybox, name=evapi-c1, team=web)"
    assert [line.split(" ", 1)[1] for line in lines] == [
        f"container create {cid} {attributes}",
        f"container start {cid} {attributes}",
        f"container die {cid} (exitCode=3, image=busybox, name=evapi-c1, team=web)",
        f"container destroy {cid} {attributes}"]
    assert all(line.split(" ", 1)[0].endswith("Z") and len(line.split(" ", 1)[0]) == 30 for line in lines)

    events = list(docker_api.client().events(since=since, until=until, decode=True,
                                             filters={"container": "evapi-c1", "event": "die"}))
    assert events == [{
        "status": "die", "id": cid, "from": "busybox", "Type": "container", "Action": "die",
        "Actor": {"ID": cid, "Attributes": {"exitCode": "3", "image": "busybox", "name": "evapi-c1",
                                            "team": "web"}},
        "scope": "local", "time": events[0]["time"], "timeNano": events[0]["timeNano"]}]
    assert float(since) * 1e9 <= events[0]["timeNano"] <= float(until) * 1e9
    assert events[0]["time"] == events[0]["timeNano"] // 10**9


def test_volume_and_network_events_from_the_api_and_filters(docker_api) -> None:
    def objects() -> str:
        docker_api.docker("volume", "create", "evapi-v1")
        docker_api.docker("volume", "rm", "evapi-v1")
        net = docker_api.client().create_network("evapi-n1")["Id"]
        docker_api.client().remove_network(net)
        return net
    since, until, net = _window(docker_api, objects)
    client = docker_api.client()
    seen = [(e["Type"], e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"])
            for e in client.events(since=since, until=until, decode=True)]
    assert seen == [("volume", "create", "evapi-v1", {"driver": "local"}),
                    ("volume", "destroy", "evapi-v1", {"driver": "local"}),
                    ("network", "create", net, {"name": "evapi-n1", "type": "bridge"}),
                    ("network", "destroy", net, {"name": "evapi-n1", "type": "bridge"})]
    only = list(client.events(since=since, until=until, decode=True,
                              filters={"type": "network", "event": "destroy"}))
    assert [(e["Type"], e["Action"]) for e in only] == [("network", "destroy")]
    assert "status" not in only[0]  # docker's old fields are for containers and images only
    assert list(client.events(since=since, until=until, decode=True, filters={"volume": "evapi-other"})) == []

    out = docker_api.ps("events", "--since", since, "--until", until, "--filter", "type=volume",
                        "--format", "{{json .}}").stdout
    assert [json.loads(line)["Action"] for line in out.splitlines()] == ["create", "destroy"]

    bad = docker_api.docker("events", "--since", since, "--until", until, "--filter", "colour=red", check=False)
    assert bad.returncode == 1 and "invalid filter 'colour'" in bad.stderr
    # a request of its own: docker-py's event stream swallows errors (its iterator stops on any OSError)
    status, _, body = request(docker_api, "GET", f"/v1.41/events?since=yesterday-ish&until={until}")
    assert status == 400 and "invalid value for since" in json.loads(body)["message"]


def test_a_follower_sees_each_event_as_it_happens(docker_api) -> None:
    """Neither ``since`` nor ``until``: no past events (as docker), the stream stays open and each new event
    arrives on its own (the log is watched)."""
    client = docker_api.client(timeout=30)
    stream = client.events(decode=True, filters={"type": "volume"})
    received: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            for event in stream:
                received.put(event)
        except Exception as exc:  # noqa: BLE001 - the stream closed under us at the end
            received.put(exc)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        for name in ("evapi-f1", "evapi-f2"):
            docker_api.ps("volume", "create", name)  # through the CLI: another process writes the log
            event = received.get(timeout=15)
            assert (event["Type"], event["Action"], event["Actor"]["ID"]) == ("volume", "create", name)
    finally:
        stream.close()
        for name in ("evapi-f1", "evapi-f2"):
            docker_api.ps("volume", "rm", "-f", name, check=False)


def test_run_rm_and_kill_reach_the_log_from_the_monitor(docker_api) -> None:
    def runs() -> str:
        docker_api.ps("run", "--rm", "--network", "none", "--name", "evapi-rm", "busybox", "true")
        cid = docker_api.ps("run", "-d", "--network", "none", "--name", "evapi-k", "busybox",
                            "sleep", "60").stdout.strip()
        docker_api.ps("kill", "evapi-k")
        docker_api.ps("wait", "evapi-k")
        docker_api.ps("start", "evapi-k")
        docker_api.ps("stop", "-t", "1", "evapi-k")
        docker_api.ps("rm", "evapi-k")
        return cid
    since, _, cid = _window(docker_api, runs)
    until = f"{time.time() + 2:.9f}"  # --rm's die and destroy come from its monitor, after run returned

    def actions() -> list[tuple[str, str]]:
        return [(e["Actor"]["Attributes"]["name"], e["Action"])
                for e in docker_api.client().events(since=since, until=until, decode=True,
                                                    filters={"type": "container"})]
    seen = actions()
    assert [a for n, a in seen if n == "evapi-rm"] == ["create", "start", "die", "destroy"]
    assert [a for n, a in seen if n == "evapi-k"] == ["create", "start", "kill", "die", "start", "kill", "die",
                                                      "stop", "destroy"]


def test_image_tag_and_untag_are_events(docker_api) -> None:
    def retag() -> None:
        docker_api.ps("tag", "busybox", "evapi-tag:1")
        docker_api.ps("rmi", "evapi-tag:1")
    since, until, _ = _window(docker_api, retag)
    from portside.engine import Engine

    image_id = Engine(docker_api.ps.root).images.resolve("busybox").id
    events = list(docker_api.client().events(since=since, until=until, decode=True, filters={"type": "image"}))
    assert [(e["Action"], e["id"], e["Actor"]["Attributes"]) for e in events] == [
        ("tag", image_id, {"name": "evapi-tag:1"}), ("untag", image_id, {"name": "evapi-tag:1"})]
    assert events[0]["status"] == "tag" and "from" not in events[0]


def test_a_start_tells_its_networks_and_volumes(docker_api) -> None:
    client = docker_api.client()
    net = client.create_network("evapi-net")["Id"]
    try:
        def life() -> str:
            cid = docker_api.ps("run", "-d", "--name", "evapi-n", "--network", "evapi-net", "-v", "evapi-vol:/data",
                                "busybox", "sleep", "60").stdout.strip()
            docker_api.ps("rm", "-f", "evapi-n")
            return cid
        since, until, cid = _window(docker_api, life)
        seen = [(e["Type"], e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"].get("container", ""))
                for e in client.events(since=since, until=until, decode=True,
                                       filters={"type": ["network", "volume"]})]
        assert seen == [("volume", "create", "evapi-vol", ""),  # a volume named by -v is made with the container
                        ("network", "connect", net, cid), ("volume", "mount", "evapi-vol", cid),
                        ("network", "disconnect", net, cid)]
    finally:
        docker_api.ps("rm", "-f", "evapi-n", check=False)
        client.remove_network(net)
        docker_api.ps("volume", "rm", "-f", "evapi-vol", check=False)


def test_health_changes_are_events_from_the_monitor(docker_api) -> None:
    since = f"{time.time():.9f}"
    cid = docker_api.ps("run", "-d", "--name", "evapi-h", "--network", "none", "--health-cmd", "true",
                        "--health-interval", "200ms", "busybox", "sleep", "60").stdout.strip()
    try:
        def healthy() -> list[dict]:
            until = f"{time.time():.9f}"
            return list(docker_api.client().events(since=since, until=until, decode=True,
                                                   filters={"container": cid, "event": "health_status"}))
        events = eventually(healthy, timeout=15, what="a health_status event")
        assert [e["Action"] for e in events] == ["health_status: healthy"]
    finally:
        docker_api.ps("rm", "-f", "evapi-h")


def test_the_service_stops_while_a_client_follows_events(docker_api, tmp_path) -> None:
    """SIGTERM ends every follower's stream: the service does not wait for its clients to hang up."""
    path = f"/run/portside-test-ev{os.getpid()}.sock"  # short: a unix socket's path has 107 bytes
    service = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(docker_api.ps.root), "system",
                                "service", "--socket", f"unix://{path}"], stdout=subprocess.DEVNULL,
                               stderr=open(tmp_path / "service.log", "wb"))
    try:
        client = eventually(lambda: _connect(path), timeout=30, what="the second service to answer")
        with client:
            client.sendall(b"GET /v1.41/events HTTP/1.1\r\nHost: docker\r\n\r\n")
            assert client.recv(65536).startswith(b"HTTP/1.1 200")  # the headers: the stream is open
            started = time.monotonic()
            service.send_signal(signal.SIGTERM)
            service.wait(20)
            assert time.monotonic() - started < 10
            client.settimeout(5)  # the connection is closed, after at most the chunked stream's last chunk
            rest = b""
            while chunk := client.recv(65536):
                rest += chunk
            assert rest in (b"", b"0\r\n\r\n")
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
        if os.path.exists(path):
            os.unlink(path)
    assert "Traceback" not in (tmp_path / "service.log").read_text()


def _connect(path: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        return sock
    except OSError:
        sock.close()
        return None
