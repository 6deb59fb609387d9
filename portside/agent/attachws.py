"""``kubectl attach`` (and ``kubectl run -it``) over the ``channel.k8s.io`` WebSocket protocols.

The frames are exec's (``execws.py``): a channel byte, then data. The engine's attachment to the container
(``runtime/attach.py``) numbers its messages with the same channels, so a frame crosses by changing its envelope:
stdin (0) and the terminal's resize (4, kubectl's ``{"Width", "Height"}`` JSON) go in, stdout (1) and stderr
(2) come out; ``v5.channel.k8s.io``'s close of stdin (255, 0) ends this client's input, which ends the
container's when the pod says ``stdinOnce`` (and it has no terminal). Only what kubectl asked for (the
``stdin``, ``stdout``, ``stderr`` query flags) crosses.

Output is the container's from the moment of attaching on (what came before is in its log: kubectl says "If you
don't see a command prompt, try pressing enter"). The session ends when the container ends for good, with a
Success status on channel 3, as the kubelet's attach does (kubectl run reads the exit code from the pod's status),
or when kubectl goes away, which leaves the container running: a later attach finds it, and its stdin, again.
"""

from __future__ import annotations

import asyncio
import json
import socket

from aiohttp import WSMsgType, web

from portside.agent.execws import CLOSE, ERROR, PROTOCOLS, RESIZE, STDIN, status
from portside.runtime import attach as wire
from portside.runtime.errors import PortsideError


def _flags(request: web.Request) -> dict[str, bool]:
    return {k: request.query.get(k, "").lower() in ("1", "true") for k in ("stdin", "stdout", "stderr", "tty")}


async def serve_attach(request: web.Request, run) -> web.WebSocketResponse:
    agent = request.app["agent"]
    if not run.running:
        raise web.HTTPBadRequest(text=f'container "{run.container}" is not running\n')
    try:
        conn = await agent.engine.call(agent.engine.engine.attach, run.cid)
    except PortsideError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    sock = socket.socket(fileno=conn.sock.detach())  # an event loop's sock_* take socket.socket objects
    sock.setblocking(False)
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    try:
        await ws.prepare(request)
        wanted = _flags(request)
        outputs = asyncio.ensure_future(_outputs(ws, sock, wanted))
        inputs = asyncio.ensure_future(_inputs(ws, sock, wanted["stdin"]))
        await asyncio.wait([outputs, inputs], return_when=asyncio.FIRST_COMPLETED)
        inputs.cancel()
        if outputs.done() and not ws.closed:  # the container ended: say so, as the kubelet does
            await ws.send_bytes(bytes([ERROR]) + json.dumps(status(0, [])).encode())
        outputs.cancel()
        await asyncio.gather(outputs, inputs, return_exceptions=True)
    finally:
        sock.close()
        await ws.close()
    return ws


async def _outputs(ws: web.WebSocketResponse, sock, wanted: dict[str, bool]) -> None:
    """The container's output, until the monitor closes (the container has ended)."""
    loop = asyncio.get_running_loop()
    keep = {wire.STDOUT: wanted["stdout"], wire.STDERR: wanted["stderr"]}
    while True:
        try:
            message = await loop.sock_recv(sock, wire.MAX_MESSAGE + 1)
        except ConnectionError:
            return
        if not message:
            return
        if keep.get(message[0]) and len(message) > 1 and not ws.closed:
            await ws.send_bytes(message)


async def _inputs(ws: web.WebSocketResponse, sock, stdin: bool) -> None:
    """kubectl's frames, into the attachment, until kubectl goes away."""
    loop = asyncio.get_running_loop()
    async for msg in ws:
        if msg.type != WSMsgType.BINARY or not msg.data:
            continue
        channel, data = msg.data[0], msg.data[1:]
        if channel == STDIN and stdin and data:
            for i in range(0, len(data), wire.MAX_MESSAGE):
                await loop.sock_sendall(sock, bytes([wire.STDIN]) + data[i:i + wire.MAX_MESSAGE])
        elif channel == RESIZE:
            size = json.loads(data or b"{}")
            await loop.sock_sendall(sock, wire.resize_message(int(size.get("Height") or 24),
                                                              int(size.get("Width") or 80)))
        elif channel == CLOSE and data[:1] == bytes([STDIN]) and stdin:
            await loop.sock_sendall(sock, bytes([wire.CLOSE_STDIN]))
