"""``kubectl exec`` over the ``channel.k8s.io`` WebSocket protocols.

Every frame starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the final Status (JSON), 4 terminal
resize; ``v5.channel.k8s.io`` adds 255, "close this channel" (kubectl sends ``[255, 0]`` at stdin's end). The
command runs through ``runc exec`` with pipes whose host ends this module pumps. The exit code reaches kubectl as
a ``NonZeroExitCode`` Status, which kubectl turns into its own exit code; so do 127 and 126 for a command that
could not start (not found; not executable or no working directory), after runc's own line saying why.

With ``tty``, runc gives the process a terminal in the container and copies it to and from its own stdin and
stdout, which are here the follower end of a pseudo-terminal of ours: we pump its leader end, one stream. A
resize frame sets our terminal's size and signals runc, which copies it into the container's.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import struct
import termios
import tty as tty_module

from aiohttp import WSMsgType, web

from portside.runtime.errors import PortsideError

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


def not_started(exc: PortsideError, argv: list[str]) -> dict:
    """The Status of a command that could not start. Not found (127) and cannot be invoked (126) are exit codes, as
    a shell's and docker's are, so kubectl exits with them; runc has already written why to the command's stderr,
    which reached kubectl. Anything else is a Failure, whose message kubectl prints."""
    if exc.exit_code in (126, 127):
        return {**status(exc.exit_code, argv), "message": f"OCI runtime exec failed: {exc}"}
    return {"metadata": {}, "status": "Failure", "reason": "InternalError",
            "message": f"error executing command in container: {exc}"}


class Pipes:
    """The child's three fds and the host ends: ``stdin`` to write, ``outputs`` (fd -> channel) to read."""

    def __init__(self, tty: bool, stdin: bool) -> None:
        self.tty, self.runc_pid = tty, 0
        if tty:  # one terminal: runc reads and writes its follower end, we the leader
            leader, follower = os.openpty()
            tty_module.setraw(follower)  # a plain conduit: the container's terminal does the line discipline
            self.child = (follower, follower, follower)
            self.stdin, self.outputs = (leader if stdin else None), {leader: STDOUT}
            self.own = [leader, follower]
        else:
            r_in, w_in = os.pipe() if stdin else (os.open(os.devnull, os.O_RDONLY), None)
            r_out, w_out = os.pipe()
            r_err, w_err = os.pipe()
            self.child = (r_in, w_out, w_err)
            self.stdin, self.outputs = w_in, {r_out: STDOUT, r_err: STDERR}
            self.own = [fd for fd in (r_in, w_in, r_out, w_out, r_err, w_err) if fd is not None]
        for fd in self.outputs:
            os.set_blocking(fd, False)

    def drain(self, fd: int) -> bytes:
        chunks = []
        while True:
            try:
                data = os.read(fd, 65536)
            except (BlockingIOError, OSError):  # OSError: EIO once the terminal's other side has closed
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)

    def resize(self, width: int, height: int) -> None:
        """kubectl's terminal size, onto ours; runc copies it into the container's when signalled."""
        if self.tty:
            fcntl.ioctl(self.child[0], termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
            if self.runc_pid:
                try:
                    os.kill(self.runc_pid, signal.SIGWINCH)
                except ProcessLookupError:
                    pass

    def close_stdin(self) -> None:
        if self.stdin is not None and not self.tty:
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
        try:
            outcome = status(await _session(ws, agent, run.cid, argv, pipes), argv)
        except PortsideError as exc:
            outcome = not_started(exc, argv)
        await ws.send_bytes(bytes([ERROR]) + json.dumps(outcome).encode())
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
    job = asyncio.ensure_future(agent.engine.call(agent.engine.engine.exec, cid, argv, pipes.child, tty=pipes.tty,
                                                  started=lambda pid: setattr(pipes, "runc_pid", pid)))
    feeder = asyncio.ensure_future(_feed(ws, pipes))
    try:
        return await job
    finally:  # what the command (or runc, on a failed start) wrote last goes out before the Status
        feeder.cancel()
        for fd in pipes.outputs:
            loop.remove_reader(fd)
        for fd, channel in pipes.outputs.items():
            await _forward(ws, channel, pipes.drain(fd))
        await asyncio.gather(*sends, return_exceptions=True)


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
        elif channel == RESIZE:
            size = json.loads(data or b"{}")
            pipes.resize(int(size.get("Width") or 80), int(size.get("Height") or 24))
        elif channel == CLOSE and data[:1] == bytes([STDIN]):
            pipes.close_stdin()
    pipes.close_stdin()
