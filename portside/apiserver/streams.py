"""``pods/attach`` and ``pods/portforward``: forwarded to the node agent that runs the pod, as ``pods/exec`` is
(``nodeproxy.py``), to the agent's kubelet paths ``/attach/{ns}/{pod}/{container}`` and ``/portForward/{ns}/{pod}``.

attach is a WebSocket with a ``channel.k8s.io`` subprotocol, relayed message for message.

port-forward arrives in one of three ways, and leaves for the agent as a WebSocket every time:

- kubectl 1.31 and later first ask for a WebSocket with the subprotocol ``SPDY/3.1+portforward.k8s.io``: its
  binary messages carry a SPDY session (the "tunnel"), relayed message for message;
- the Python client asks for a WebSocket with ``v4.channel.k8s.io`` (or its base64 variant, or none) and the
  ports in the query: relayed likewise;
- older kubectl, and kubectl with ``KUBECTL_PORT_FORWARD_WEBSOCKETS=false``, ask for an HTTP upgrade to
  ``SPDY/3.1`` itself: the upgrade is answered here, and the raw bytes travel to the agent inside the tunnel,
  as binary WebSocket messages; the agent speaks SPDY either way.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web

from portside.apiserver import errors
from portside.apiserver.agents import AgentClient, Endpoint
from portside.apiserver.nodeproxy import agent_target, copy_frames, node_endpoint
from portside.apiserver.objects import Target
from portside.apiserver.registry import Registry

CONNECT = frozenset({"attach", "portforward"})
ATTACH_PARAMS = ("stdin", "stdout", "stderr", "tty")
CHANNEL_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                     "channel.k8s.io")
TUNNEL = "SPDY/3.1+portforward.k8s.io"
PORTFORWARD_CHANNELS = ("v4.channel.k8s.io", "v4.base64.channel.k8s.io")
SPDY_UPGRADE, PORTFORWARD_PROTOCOL = "SPDY/3.1", "portforward.k8s.io"
REASONS = {400: "BadRequest", 404: "NotFound"}


def _asked(request: web.Request, header: str) -> list[str]:
    return [p.strip() for value in request.headers.getall(header, []) for p in value.split(",") if p.strip()]


def _agent_session() -> aiohttp.ClientSession:
    """A session to the node agents (TLS both ways: ``agents``): no total timeout, streams last."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5))


class _Upstream:
    """One agent and one of its paths, reached with the API server's TLS identity."""

    def __init__(self, agents: AgentClient, to: Endpoint, path: str, t: Target) -> None:
        self.agents, self.to, self.path, self.t = agents, to, path, t

    async def connect(self, session: aiohttp.ClientSession, protocols: list[str]):
        """The agent's WebSocket; an ApiError with the agent's own words when it refuses the upgrade."""
        try:
            return await self.agents.ws_connect(session, self.to, self.path, protocols)
        except aiohttp.WSServerHandshakeError:
            await self.raise_refusal(session, protocols)
            raise self.unreachable("it refused the WebSocket upgrade") from None
        except aiohttp.ClientError as exc:
            raise self.unreachable(exc) from None

    async def raise_refusal(self, session: aiohttp.ClientSession, protocols: list[str] = ()) -> None:
        """The agent checks a request before it upgrades it: asked plainly, it says what it would refuse, if
        anything (nothing was started then). What it says of the missing upgrade itself is no refusal."""
        headers = {"Sec-WebSocket-Protocol": ", ".join(protocols)} if protocols else {}
        try:
            async with self.agents.get(session, self.to, self.path, headers=headers) as answer:
                status, text = answer.status, (await answer.text()).strip()
        except aiohttp.ClientError as exc:
            raise self.unreachable(exc) from None
        if status >= 400 and text and "upgrade" not in text.lower():
            raise errors.ApiError(status, REASONS.get(status, "InternalError"), text)

    def unreachable(self, why: Exception | str) -> errors.ApiError:
        return errors.ApiError(502, "BadGateway", f"cannot reach the node agent of node {self.to.node} "
                                                  f"({self.to.url}) for pod {self.t.name}: {why}")


async def attach(registry: Registry, agents: AgentClient, t: Target, request: web.Request) -> web.StreamResponse:
    to, path = await agent_target(registry, t, request, "attach", ATTACH_PARAMS)
    upstream = _Upstream(agents, to, path, t)
    protocols = [p for p in _asked(request, "Sec-WebSocket-Protocol") if p in CHANNEL_PROTOCOLS]
    if not protocols:
        # kubectl falls back to SPDY when its WebSocket was refused, and shows only the second answer: that one
        # gives the agent's reason, when it has one, before the protocol's
        async with _agent_session() as session:
            await upstream.raise_refusal(session)
        raise errors.bad_request("attach needs a WebSocket upgrade with a channel.k8s.io subprotocol "
                                 "(kubectl 1.30 and later send one unless KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)")
    return await _relay_websocket(upstream, request, protocols)


async def portforward(registry: Registry, agents: AgentClient, t: Target, request: web.Request
                      ) -> web.StreamResponse:
    upgrade = request.headers.get("Upgrade", "").lower()
    node = (json.loads((await registry.read(t)).value).get("spec") or {}).get("nodeName")
    if not node:
        raise errors.bad_request(f"pod {t.name} does not have a host assigned")
    to = await node_endpoint(registry, node)
    path = f"/portForward/{quote(t.namespace, safe='')}/{quote(t.name, safe='')}"
    if upgrade == "websocket":
        asked = _asked(request, "Sec-WebSocket-Protocol")
        if TUNNEL in asked:
            return await _relay_websocket(_Upstream(agents, to, path, t), request, [TUNNEL])
        ports = urlencode([("ports", p) for p in request.query.getall("ports", [])])
        return await _relay_websocket(_Upstream(agents, to, f"{path}?{ports}", t), request,
                                      [p for p in asked if p in PORTFORWARD_CHANNELS])
    if upgrade == SPDY_UPGRADE.lower():
        if PORTFORWARD_PROTOCOL not in _asked(request, "X-Stream-Protocol-Version"):
            raise errors.bad_request(f"port-forward over SPDY needs X-Stream-Protocol-Version: "
                                     f"{PORTFORWARD_PROTOCOL}")
        return await _tunnel_spdy(_Upstream(agents, to, path, t), request)
    raise errors.bad_request("port-forward needs an upgrade: a WebSocket (subprotocol "
                             f"{TUNNEL} or {PORTFORWARD_CHANNELS[0]}) or {SPDY_UPGRADE}")


async def _relay_websocket(upstream: _Upstream, request: web.Request, protocols: list[str]
                           ) -> web.WebSocketResponse:
    async with _agent_session() as session:
        agent = await upstream.connect(session, protocols)
        client = web.WebSocketResponse(protocols=[agent.protocol] if agent.protocol else protocols)
        await client.prepare(request)
        await _until_one_ends(copy_frames(client, agent), copy_frames(agent, client))
        await agent.close()
        await client.close()
        return client


async def _tunnel_spdy(upstream: _Upstream, request: web.Request) -> web.StreamResponse:
    """Answer the SPDY upgrade here, then carry the connection's bytes to the agent and back in the tunnel."""
    async with _agent_session() as session:
        agent = await upstream.connect(session, [TUNNEL])
        response = web.StreamResponse(status=101, headers={
            "Connection": "Upgrade", "Upgrade": SPDY_UPGRADE, "X-Stream-Protocol-Version": PORTFORWARD_PROTOCOL})
        response.force_close()
        await response.prepare(request)
        incoming: asyncio.Queue[bytes] = asyncio.Queue()
        request.protocol.set_parser(_RawReader(incoming))
        transport = request.transport
        try:
            await _until_one_ends(_bytes_to(agent, incoming), _messages_to(transport, agent))
        finally:
            await agent.close()
            if transport is not None:
                transport.close()
        return response


class _RawReader:
    """What aiohttp's protocol hands an upgraded connection's bytes to, in place of a WebSocket reader."""

    def __init__(self, queue: asyncio.Queue) -> None:
        self.queue = queue

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(b"")


async def _bytes_to(upstream, incoming: asyncio.Queue) -> None:
    while data := await incoming.get():
        await upstream.send_bytes(data)


async def _messages_to(transport, upstream) -> None:
    async for msg in upstream:
        if msg.type != aiohttp.WSMsgType.BINARY or transport is None or transport.is_closing():
            return
        transport.write(msg.data)


async def _until_one_ends(*coros) -> None:
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
