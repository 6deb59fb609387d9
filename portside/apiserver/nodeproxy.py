"""``pods/log`` and ``pods/exec``: forwarded to the node agent that runs the pod, as the API server does with the
kubelet.

The agent publishes where it listens in its Node: ``status.daemonEndpoints.kubeletEndpoint.Port`` on the first
``InternalIP`` of ``status.addresses`` (127.0.0.1 when none is given), serving plain HTTP with the kubelet's paths:

- ``GET /containerLogs/{namespace}/{pod}/{container}`` with ``follow``, ``previous``, ``tailLines``,
  ``timestamps``, ``sinceSeconds``, ``limitBytes`` (a text stream);
- ``GET /exec/{namespace}/{pod}/{container}?command=...&stdin=&stdout=&stderr=&tty=`` upgraded to a WebSocket
  speaking the channel protocol kubectl asked for (``v5.channel.k8s.io`` and older); frames pass through as they are.
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


async def _endpoint(registry: Registry, t: Target, pod: dict[str, Any]) -> str:
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f"pod {t.name} does not have a host assigned")
    kv = await registry.store.get(key(NODES, "", node_name))
    url = agent_url(json.loads(kv.value).get("status") or {} if kv else {})
    if url is None:
        raise errors.ApiError(503, "ServiceUnavailable", f'node "{node_name}" publishes no agent endpoint '
                                                          f'(status.daemonEndpoints.kubeletEndpoint.Port)')
    return url


def agent_url(status: dict[str, Any]) -> str | None:
    """Where a node's agent serves (from its Node's status): the published port on its first InternalIP
    (127.0.0.1 when none), or None when it publishes no port."""
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    if not port:
        return None
    addresses = [a.get("address") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"]
    return f"http://{addresses[0] if addresses else '127.0.0.1'}:{port}"


async def _target(registry: Registry, t: Target, request: web.Request, path: str, wanted: tuple[str, ...]) -> str:
    pod = json.loads((await registry.read(t)).value)
    container = _container(t, pod, request.query.get("container", ""))
    base = await _endpoint(registry, t, pod)
    params = [(k, v) for k, v in request.query.items() if k in wanted]
    parts = "/".join(quote(p, safe="") for p in (t.namespace, t.name, container))
    return f"{base}/{path}/{parts}?{urlencode(params)}"


async def logs(registry: Registry, t: Target, request: web.Request) -> web.StreamResponse:
    url = await _target(registry, t, request, "containerLogs", LOG_PARAMS)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5)) as session:
        try:
            async with session.get(url) as upstream:
                if upstream.status != 200:
                    raise errors.ApiError(upstream.status, "BadRequest", (await upstream.text()).strip())
                resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
                await resp.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await resp.write(chunk)
                return resp
        except aiohttp.ClientError as exc:
            raise errors.ApiError(502, "BadGateway", f"cannot reach the node agent for pod {t.name}: {exc}") from None


async def _pump(source, sink) -> None:
    async for msg in source:
        if msg.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(msg.data)
        elif msg.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(msg.data)
        else:
            break
    await sink.close()


async def exec_(registry: Registry, t: Target, request: web.Request) -> web.StreamResponse:
    url = await _target(registry, t, request, "exec", EXEC_PARAMS)
    asked = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    protocols = [p for p in asked if p in CHANNEL_PROTOCOLS]
    if not protocols:
        raise errors.bad_request("exec needs a WebSocket upgrade with a channel.k8s.io subprotocol")
    async with aiohttp.ClientSession() as session:
        try:
            upstream = await session.ws_connect(url, protocols=protocols)
        except aiohttp.ClientError as exc:
            raise errors.ApiError(502, "BadGateway", f"cannot reach the node agent for pod {t.name}: {exc}") from None
        client = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else protocols)
        await client.prepare(request)
        pumps = [asyncio.ensure_future(_pump(client, upstream)), asyncio.ensure_future(_pump(upstream, client))]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        await upstream.close()
        await client.close()
        return client
