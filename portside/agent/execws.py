"""``kubectl exec`` over the ``channel.k8s.io`` WebSocket protocols.

Every frame starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the final Status (JSON), 4 terminal
resize; ``v5.channel.k8s.io`` adds 255, "close this channel" (kubectl sends ``[255, 0]`` at stdin's end). The
command runs through ``runc exec`` with pipes (or, for ``tty``, a pseudo-terminal) whose host ends this module
pumps. The exit code reaches kubectl as a ``NonZeroExitCode`` Status, which kubectl turns into its own exit code.

``tty`` merges stderr into stdout, but allocates no terminal: the runtime's foreground ``runc exec`` gives the
process pipes (a terminal would need runc's console socket), so full-screen programs see no terminal.
"""

from __future__ import annotations

import asyncio
import json
import os

from aiohttp import WSMsgType, web

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
             "channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def status(code: int, argv: list[str]) -> dict:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: error executing command {argv}, "
                       f"exit code {code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


class Pipes:
    """The child's three fds and the host ends: ``stdin`` to write, ``outputs`` (fd -> channel) to read."""

    def __init__(self, tty: bool, stdin: bool) -> None:
        r_in, w_in = os.pipe() if stdin else (os.open(os.devnull, os.O_RDONLY), None)
        r_out, w_out = os.pipe()
        r_err, w_err = os.pipe() if not tty else (None, w_out)  # a terminal has one output stream
        self.child = (r_in, w_out, w_err)
        self.stdin, self.outputs = w_in, {r_out: STDOUT, **({r_err: STDERR} if r_err is not None else {})}
        self.own = [fd for fd in {r_in, w_in, r_out, w_out, r_err, w_err} if fd is not None]
        for fd in self.outputs:
            os.set_blocking(fd, False)

    def drain(self, fd: int) -> bytes:
        chunks = []
        while True:
            try:
                data = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)

    def close_stdin(self) -> None:
        if self.stdin is not None:
            os.close(self.stdin)
            self.own.remove(self.stdin)
        self.stdin = None

    def close(self) -> None:
        for fd in self.own:
            os.close(fd)
        self.own = []


async def serve_exec(request: web.Request, run) -> web.WebSocketResponse:
    agent = request.app["agent"]
    argv = request.query.getall("command", [])
    if not argv:
        raise web.HTTPBadRequest(text="exec needs at least one command parameter\n")
    if not run.running:
        raise web.HTTPBadRequest(text=f'container "{run.container}" is not running\n')
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    await ws.prepare(request)
    pipes = Pipes(request.query.get("tty") in ("1", "true"), request.query.get("stdin") in ("1", "true"))
    try:
        code = await _session(ws, agent, run.cid, argv, pipes)
        await ws.send_bytes(bytes([ERROR]) + json.dumps(status(code, argv)).encode())
    finally:
        pipes.close()
        await ws.close()
    return ws


async def _session(ws: web.WebSocketResponse, agent, cid: str, argv: list[str], pipes: Pipes) -> int:
    loop = asyncio.get_running_loop()
    sends: list[asyncio.Future] = []
    for fd, channel in pipes.outputs.items():
        loop.add_reader(fd, lambda fd=fd, ch=channel: sends.append(asyncio.ensure_future(
            _forward(ws, ch, pipes.drain(fd)))))
    job = asyncio.ensure_future(agent.engine.call(agent.engine.engine.exec, cid, argv, pipes.child))
    feeder = asyncio.ensure_future(_feed(ws, pipes))
    try:
        code = await job
    finally:
        feeder.cancel()
        for fd in pipes.outputs:
            loop.remove_reader(fd)
    for fd, channel in pipes.outputs.items():
        await _forward(ws, channel, pipes.drain(fd))
    await asyncio.gather(*sends, return_exceptions=True)
    return code


async def _forward(ws: web.WebSocketResponse, channel: int, data: bytes) -> None:
    if data and not ws.closed:
        await ws.send_bytes(bytes([channel]) + data)


async def _feed(ws: web.WebSocketResponse, pipes: Pipes) -> None:
    """kubectl's stdin frames into the child; channel 255 (or the socket's end) closes it."""
    async for msg in ws:
        if msg.type != WSMsgType.BINARY or not msg.data:
            continue
        channel, data = msg.data[0], msg.data[1:]
        if channel == STDIN and pipes.stdin is not None and data:
            await asyncio.get_running_loop().run_in_executor(None, os.write, pipes.stdin, data)
        elif channel == CLOSE and data[:1] == bytes([STDIN]):
            pipes.close_stdin()
    pipes.close_stdin()
