"""kubectl logs and exec reach the node agent through the API server (pods/log, pods/exec).

The node agent of the pods issue is not here yet, so a small stand-in serves the agent's side of the contract
(``/containerLogs`` and the ``/exec`` WebSocket) on a real socket; kubectl and the API server are the real ones.
"""

import asyncio
import json
import threading

import pytest
from aiohttp import web
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from support.cluster import only
from support.net import free_port

UP_FLAGS = only("garbage-collector")  # no scheduler: the tests decide which pods are bound, and where


def stand_in_agent(port: int, ready: threading.Event, stop: threading.Event) -> None:
    async def logs(request):
        ns, pod, container = (request.match_info[k] for k in ("ns", "pod", "container"))
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        lines = [f"{ns}/{pod}/{container} line {i}\n" for i in range(3)]
        if request.query.get("tailLines"):
            lines = lines[-int(request.query["tailLines"]):]
        await resp.write("".join(lines).encode())
        return resp

    async def exec_(request):
        ws = web.WebSocketResponse(protocols=["v5.channel.k8s.io", "v4.channel.k8s.io"])
        await ws.prepare(request)
        command = " ".join(request.query.getall("command"))
        await ws.send_bytes(b"\x01" + f"ran: {command}\n".encode())
        await ws.send_bytes(b"\x03" + json.dumps({"metadata": {}, "status": "Success"}).encode())
        await ws.close()
        return ws

    async def main():
        app = web.Application()
        app.router.add_get("/containerLogs/{ns}/{pod}/{container}", logs)
        app.router.add_get("/exec/{ns}/{pod}/{container}", exec_)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await runner.cleanup()

    asyncio.run(main())


@pytest.fixture
def agent_port():
    port, ready, stop = free_port(), threading.Event(), threading.Event()
    thread = threading.Thread(target=stand_in_agent, args=(port, ready, stop), daemon=True)
    thread.start()
    ready.wait(10)
    yield port
    stop.set()
    thread.join(10)


def test_logs_and_exec_are_forwarded_to_the_pods_node(cluster, agent_port):
    ns = cluster.namespace("nodeproxy")
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"proxy-node-{agent_port}"},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": agent_port}}}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(node))
    cluster.kubectl("patch", "node", node["metadata"]["name"], "--subresource=status", "--type=merge", "-p",
                    json.dumps({"status": node["status"]}))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "talker"},
           "spec": {"nodeName": node["metadata"]["name"], "containers": [{"name": "app", "image": "busybox"}]}}
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(pod))
    assert cluster.kubectl("logs", "-n", ns, "talker").stdout == "".join(
        f"nodeproxy/talker/app line {i}\n" for i in range(3))
    assert cluster.kubectl("logs", "-n", ns, "talker", "--tail=1").stdout == "nodeproxy/talker/app line 2\n"
    ran = cluster.kubectl("exec", "-n", ns, "talker", "--", "echo", "hi")
    assert ran.stdout == "ran: echo hi\n"
    readonly = str(cluster.data_dir / "kubeconfig-readonly.yaml")
    refused = cluster.kubectl("exec", "-n", ns, "talker", "--", "true", kubeconfig=readonly, check=False)
    assert refused.returncode != 0


def test_logs_of_an_unbound_pod_say_why(cluster):
    ns = cluster.namespace("nodeproxy-unbound")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "waiting"},
           "spec": {"containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]}}
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(pod))
    unbound = cluster.kubectl("logs", "-n", ns, "waiting", "-c", "a", check=False)
    assert "pod waiting does not have a host assigned" in unbound.stderr
    core = client.CoreV1Api(config.new_client_from_config(config_file=cluster.kubeconfig))
    with pytest.raises(ApiException) as ambiguous:
        core.read_namespaced_pod_log("waiting", ns)
    assert ambiguous.value.status == 400
    assert "a container name must be specified for pod waiting, choose one of: [a b]" in ambiguous.value.body
