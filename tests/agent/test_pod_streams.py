"""Interactive work on real pods through a real ``portside up`` and stock kubectl: ``port-forward`` to a pod and
to a Service (WebSocket-tunnelled SPDY, plain SPDY, and the Python client's channel protocol), ``attach`` to a
pod's kept-open stdin, and ``kubectl run -it --rm`` on a terminal. One cluster for the module: each test works
on pods of its own."""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import socket
import subprocess
import urllib.request

import pytest
from support.require import require
from support.wait import eventually
from terminal import Terminal

from tests.agent.conftest import container_status, engine_root, ready, run_node

WEB_SCRIPT = ("mkdir -p /www/cgi-bin && echo hello from the pod > /www/index.html && "
              "printf '#!/bin/sh\\necho Content-Type: application/octet-stream\\necho\\n"
              "head -c $CONTENT_LENGTH\\n' > /www/cgi-bin/echo && chmod +x /www/cgi-bin/echo && "
              "exec httpd -f -p 8080 -h /www")


@pytest.fixture(scope="module")
def node(tmp_path_factory, busybox_rootfs_tar):
    require("root", "runc")
    base = tmp_path_factory.mktemp("streams")
    root, settings = engine_root(base, busybox_rootfs_tar)
    with pytest.MonkeyPatch.context() as patch:
        yield from run_node(base, root, settings, patch)


@pytest.fixture(scope="module")
def web(node) -> str:
    """A pod serving HTTP on 8080 (a page, and a CGI that answers with the body it was sent), and a Service."""
    node.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                    "name": "httpd", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", WEB_SCRIPT], "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}})
    node.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    node.wait_pod("web", ready, 30, "Ready")
    return "web"


@contextlib.contextmanager
def forwarded(node, target: str, remote: str, env: dict | None = None):
    """``kubectl port-forward TARGET :REMOTE`` running: yields (its local port, the pod's port, the process)."""
    argv = node.cluster.kubectl_argv() + ["port-forward", "--address", "127.0.0.1", target, f":{remote}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = _line(proc, 30)
        found = re.search(r"127\.0\.0\.1:(\d+) -> (\d+)", line)
        assert found, f"kubectl port-forward said {line!r}: {proc.stderr.read() if proc.poll() is not None else ''}"
        yield int(found.group(1)), int(found.group(2)), proc
    finally:
        proc.kill()
        proc.wait()


def _line(proc: subprocess.Popen, timeout: float) -> str:
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    return proc.stdout.readline() if sel.select(timeout) else ""


def http(port: int, path: str = "/", body: bytes | None = None) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.read()


def test_port_forward_to_a_pod_carries_http_both_ways(node, web) -> None:
    with forwarded(node, "pod/web", "8080") as (port, _, _):
        assert http(port) == b"hello from the pod\n"
        upload = os.urandom(300_000)  # many frames each way
        assert http(port, "/cgi-bin/echo", upload) == upload
        for _ in range(3):  # one session, one connection after another
            assert http(port) == b"hello from the pod\n"


def test_port_forward_to_a_service_reaches_a_pod_behind_it(node, web) -> None:
    with forwarded(node, "svc/web", "80") as (port, remote, _):
        assert remote == 8080  # kubectl resolved the Service's port 80 to the pod's targetPort, named "http"
        assert http(port) == b"hello from the pod\n"
        assert http(port, "/cgi-bin/echo", b"through the service") == b"through the service"


def test_port_forward_over_plain_spdy_when_websockets_are_off(node, web) -> None:
    env = {**os.environ, "KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}
    with forwarded(node, "pod/web", "8080", env=env) as (port, _, _):
        assert http(port) == b"hello from the pod\n"
        assert http(port, "/cgi-bin/echo", b"x" * 70_000) == b"x" * 70_000


def test_port_forward_with_the_python_clients_channel_protocol(node, web) -> None:
    from kubernetes import client, config
    from kubernetes.stream import portforward

    core = client.CoreV1Api(config.new_client_from_config(config_file=node.cluster.kubeconfig))
    forward = portforward(core.connect_get_namespaced_pod_portforward, "web", "default", ports="8080")
    sock = forward.socket(8080)
    sock.setblocking(True)
    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.") and answer.endswith(b"hello from the pod\n")
    assert forward.error(8080) is None


def test_port_forward_to_a_closed_port_says_why(node, web) -> None:
    with forwarded(node, "pod/web", "9999") as (port, _, proc):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.settimeout(10)
            assert conn.recv(100) == b""  # the pod refused: the local connection ends
        proc.wait(20)  # kubectl ends the session on a forwarding error
        said = proc.stderr.read()
    assert "error forwarding port 9999 to pod web" in said, said
    assert "failed to connect to 127.0.0.1:9999 in the pod's network namespace: connection refused" in said, said


def test_attach_writes_to_a_stdin_kept_open_between_attachments(node) -> None:
    node.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                    "name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent", "stdin": True,
                    "command": ["sh", "-c", 'while read line; do echo "got $line"; done']}]}})
    node.wait_pod("reader", ready, 30, "Ready")
    for word in ("first", "second"):
        attached = subprocess.Popen(node.cluster.kubectl_argv() + ["attach", "-i", "reader"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            attached.stdin.write(word + "\n")
            attached.stdin.flush()
            assert _line(attached, 20) == f"got {word}\n"
        finally:
            attached.kill()
            attached.wait()
    assert container_status(node.pod("reader"))["state"].get("running")
    assert node.kubectl("logs", "reader").stdout == "got first\ngot second\n"
    node.kubectl("delete", "pod", "reader", "--wait=false")


def test_attach_with_stdin_once_ends_the_containers_input_with_its_own(node) -> None:
    node.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "once"},
                "spec": {"restartPolicy": "Never", "containers": [{
                    "name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent", "stdin": True,
                    "stdinOnce": True, "command": ["sh", "-c", "cat; echo input ended"]}]}})
    node.wait_pod("once", ready, 30, "Ready")
    done = node.kubectl("attach", "-i", "once", input="typed\n", timeout=30)
    assert done.stdout == "typed\ninput ended\n"
    pod = node.wait_pod("once", lambda p: p["status"].get("phase") == "Succeeded", 20, "Succeeded")
    assert container_status(pod)["state"]["terminated"]["exitCode"] == 0
    node.kubectl("delete", "pod", "once", "--wait=false")


def test_kubectl_run_it_rm_gives_a_shell_on_this_terminal_and_removes_the_pod(node) -> None:
    argv = node.cluster.kubectl_argv() + ["run", "shell", "-it", "--rm", "--restart=Never", "--image=busybox",
                                          "--image-pull-policy=IfNotPresent", "--", "sh"]
    term = Terminal(argv, rows=30, cols=100)
    try:
        term.until("If you don't see a command prompt, try pressing enter.", 60)
        term.type("\r")
        term.until("# ")
        term.type("tty; stty size; echo $((6*7))\r")
        shown = term.until("42")
        assert "/dev/pts/0" in shown and "30 100" in shown  # the pod's terminal, at this one's size
        term.resize(44, 120)  # kubectl sends the new size; the agent's attachment sets it on the pod's terminal
        term.type('i=0; while [ "$(stty size)" != "$((44)) $((120))" ] && [ $i -lt 100 ]; do sleep 0.1; '
                  'i=$((i+1)); done; stty size\r')
        term.until("\n44 120")
        term.type("exit 3\r")
        term.until('pod "shell" deleted', 30)
    finally:
        code = term.close()
    assert code == 3  # kubectl run ends with the shell's code (restartPolicy Never)
    eventually(lambda: node.kubectl("get", "pod", "shell", "-o", "name", check=False).returncode != 0, 30,
               what="the pod to be gone")


def test_attach_and_port_forward_are_refused_to_the_read_only_token(node, web) -> None:
    readonly = str(node.cluster.data_dir / "kubeconfig-readonly.yaml")
    refused = node.kubectl("attach", "web", kubeconfig=readonly, check=False, timeout=30)
    assert refused.returncode != 0 and "Forbidden" in refused.stderr, refused.stderr
    raw = node.cluster.kubectl_argv(readonly) + ["get", "--raw", "/api/v1/namespaces/default/pods/web/portforward"]
    got = subprocess.run(raw, capture_output=True, text=True, timeout=30)  # a GET: read-only, were it not a stream
    assert got.returncode != 0 and 'cannot create resource "pods/portforward"' in got.stderr, got.stderr
    assert json.loads(node.kubectl("get", "pod", "web", "-o", "json").stdout)["status"]["phase"] == "Running"


def test_a_refused_stream_says_why(node, web) -> None:
    node.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gone"},
                "spec": {"restartPolicy": "Never", "containers": [{
                    "name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent", "command": ["true"]}]}})
    node.wait_pod("gone", lambda p: p["status"].get("phase") == "Succeeded", 30, "Succeeded")
    # a plain GET: what kubectl shows when both its WebSocket and its SPDY attempt were refused
    attach = node.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/gone/attach?stdout=true", check=False)
    assert 'container "main" is not running' in attach.stderr, attach.stderr
    forward = node.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/web/portforward?ports=8080", check=False)
    assert "port-forward needs an upgrade" in forward.stderr, forward.stderr
    node.kubectl("delete", "pod", "gone", "--wait=false")


def test_port_forward_channels_in_base64_text_frames(node, web) -> None:
    """The channel protocol's other encoding: text frames, the channel as a digit, the data in base64."""
    import base64

    from kubernetes import config
    from kubernetes.stream.ws_client import create_websocket

    configuration = config.new_client_from_config(config_file=node.cluster.kubeconfig).configuration
    url = configuration.host.replace("https://", "wss://") + "/api/v1/namespaces/default/pods/web/portforward"
    url += "?ports=8080"
    bearer = configuration.auth_settings()["BearerToken"]["value"]
    ws = create_websocket(configuration, url, {"authorization": bearer,
                                               "sec-websocket-protocol": "v4.base64.channel.k8s.io"})
    try:
        assert sorted(ws.recv() for _ in range(2)) == ["0kB8=", "1kB8="]  # each channel opens with 8080, LE
        ws.send("0" + base64.b64encode(b"GET / HTTP/1.0\r\n\r\n").decode())
        answer = b""
        while not answer.endswith(b"hello from the pod\n"):
            frame = ws.recv()
            assert frame[0] == "0", frame
            answer += base64.b64decode(frame[1:])
    finally:
        ws.close()
    assert answer.startswith(b"HTTP/1.")
