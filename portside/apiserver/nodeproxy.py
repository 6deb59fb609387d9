"""``pods/log``, ``pods/exec`` and ``nodes/proxy``: forwarded to the node agent, as the API server does with the
kubelet.

The agent publishes where it listens in its Node and is reached over TLS both ways (``agents``), at the
kubelet's paths:

- ``GET /containerLogs/{namespace}/{pod}/{container}`` with ``follow``, ``previous``, ``tailLines``,
  ``timestamps``, ``sinceSeconds``, ``limitBytes`` (a text stream);
- ``GET /exec/{namespace}/{pod}/{container}?command=...&stdin=&stdout=&stderr=&tty=`` upgraded to a WebSocket
  speaking the channel protocol kubectl asked for (``v5.channel.k8s.io`` and older); frames pass through as they are;
- ``GET /api/v1/nodes/{node}/proxy/{path}``: any ``GET`` of the node's agent (``stats/summary``, ``stats/history``),
  passed through with its status. Only ``GET``, and no upgrade: exec goes through ``pods/exec``, whose
  authorization names the pod.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web

from portside import api
from portside.apiserver import errors
from portside.apiserver.agents import AgentClient, Endpoint, endpoint
from portside.apiserver.auth import USER
from portside.apiserver.objects import Target, key
from portside.apiserver.registry import Registry

CONNECT = frozenset({"log", "exec"})
LOG_PARAMS = ("follow", "previous", "tailLines", "timestamps", "sinceSeconds", "limitBytes")
EXEC_PARAMS = ("command", "stdin", "stdout", "stderr", "tty")
CHANNEL_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                     "channel.k8s.io")
NODES = api.lookup("", "v1", "nodes")


def _container(t: Target, pod: dict[str, Any], asked: str) -> str:
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    names += [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
    if asked:
        if asked not in names:
            raise errors.bad_request(f"container {asked} is not valid for pod {t.name}")
        return asked
    if len(names) != 1:
        raise errors.bad_request(f"a container name must be specified for pod {t.name}, choose one of: "
                                 f"[{' '.join(names)}]")
    return names[0]


async def node_endpoint(registry: Registry, node_name: str) -> Endpoint:
    kv = await registry.store.get(key(NODES, "", node_name))
    if kv is None:
        raise errors.ApiError(404, "NotFound", f'nodes "{node_name}" not found', {"name": node_name, "kind": "nodes"})
    found = endpoint(json.loads(kv.value))
    if found is None:
        raise errors.ApiError(503, "ServiceUnavailable", f'node "{node_name}" publishes no agent endpoint '
                                                          f'(status.daemonEndpoints.kubeletEndpoint.Port)')
    return found


async def agent_target(registry: Registry, t: Target, request: web.Request, path: str,
                       wanted: tuple[str, ...]) -> tuple[Endpoint, str]:
    """The agent that runs the pod, and the agent's ``path`` for the asked container with the ``wanted`` query
    parameters (log, exec, attach and port-forward all go this way)."""
    pod = json.loads((await registry.read(t)).value)
    container = _container(t, pod, request.query.get("container", ""))
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f"pod {t.name} does not have a host assigned")
    params = [(k, v) for k, v in request.query.items() if k in wanted]
    parts = "/".join(quote(p, safe="") for p in (t.namespace, t.name, container))
    return await node_endpoint(registry, node_name), f"/{path}/{parts}?{urlencode(params)}"


def _unreachable(what: str, to: Endpoint, exc: Exception) -> errors.ApiError:
    return errors.ApiError(502, "BadGateway", f"cannot reach the node agent of node {to.node} ({to.url}) for "
                                              f"{what}: {exc}")


async def _relay(agents: AgentClient, to: Endpoint, path: str, request: web.Request, what: str,
                 passthrough: bool = False) -> web.StreamResponse:
    """Stream the agent's answer to ``path`` back. An error status becomes a Status with the agent's text,
    unless ``passthrough`` (nodes/proxy hands back whatever the agent said)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5)) as session:
        try:
            async with agents.get(session, to, path) as upstream:
                if upstream.status != 200 and not passthrough:
                    raise errors.ApiError(upstream.status, "BadRequest", (await upstream.text()).strip())
                content_type = upstream.headers.get("Content-Type", "text/plain") if passthrough else "text/plain"
                resp = web.StreamResponse(status=upstream.status, headers={"Content-Type": content_type})
                await resp.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await resp.write(chunk)
                return resp
        except aiohttp.ClientError as exc:
            raise _unreachable(what, to, exc) from None


async def logs(registry: Registry, agents: AgentClient, t: Target, request: web.Request) -> web.StreamResponse:
    to, path = await agent_target(registry, t, request, "containerLogs", LOG_PARAMS)
    return await _relay(agents, to, path, request, f"pod {t.name}")


async def node_proxy(registry: Registry, agents: AgentClient, request: web.Request) -> web.StreamResponse:
    """``GET /api/v1/nodes/{name}/proxy/{path}``: the node's agent's answer, as it is."""
    name = request.match_info["name"]
    user = request[USER]
    if user.node:
        raise errors.forbidden(f'nodes "{name}" is forbidden: User "{user.name}" cannot get resource "nodes/proxy"'
                               f' in API group "" at the cluster scope: a node may not proxy to agents')
    if request.method != "GET":
        raise errors.ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on nodes/proxy: only get")
    if request.headers.get("Upgrade"):
        raise errors.bad_request("nodes/proxy does not upgrade connections; exec goes through pods/exec")
    to = await node_endpoint(registry, name)
    path = "/" + quote(request.match_info.get("path", ""), safe="/")
    query = f"?{request.query_string}" if request.query_string else ""
    return await _relay(agents, to, path + query, request, path, passthrough=True)


async def copy_frames(source, sink) -> None:
    async for msg in source:
        if msg.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(msg.data)
        elif msg.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(msg.data)
        else:
            break
    await sink.close()


async def exec_(registry: Registry, agents: AgentClient, t: Target, request: web.Request) -> web.StreamResponse:
    to, path = await agent_target(registry, t, request, "exec", EXEC_PARAMS)
    asked = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    protocols = [p for p in asked if p in CHANNEL_PROTOCOLS]
    if not protocols:
        raise errors.bad_request("exec needs a WebSocket upgrade with a channel.k8s.io subprotocol")
    async with aiohttp.ClientSession() as session:
        try:
            upstream = await agents.ws_connect(session, to, path, protocols)
        except aiohttp.ClientError as exc:
            raise _unreachable(f"pod {t.name}", to, exc) from None
        client = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else protocols)
        await client.prepare(request)
        pumps = [asyncio.ensure_future(copy_frames(client, upstream)), asyncio.ensure_future(copy_frames(upstream, client))]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        await upstream.close()
        await client.close()
        return client
