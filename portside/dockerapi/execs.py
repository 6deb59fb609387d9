"""Exec: ``POST /containers/{id}/exec``, ``POST /exec/{id}/start`` (hijacked when attached), ``GET
/exec/{id}/json`` and ``POST /exec/{id}/resize``, over the engine's exec instances (``engine/execs.py``).

An attached start runs the command with pipes (or, with ``Tty``, a pseudo-terminal of ours, whose follower end
runc copies to the container's terminal) and relays them over the hijacked connection: frames for stdout and
stderr without a terminal, the terminal's bytes as they are with one. The client's end of input closes the
command's stdin; on a terminal, its detach keys end the session instead. The exit code is the instance's, which
the client reads from ``/exec/{id}/json`` once the stream has ended: the engine records it before the stream
ends. A command that cannot start leaves runc's reason on its stderr and 126 as its exit code, as with dockerd.

The start's ``Tty`` (not the exec's) says how the stream is framed: multiplexed without it, also for a command
that has a terminal (its one stream is then stdout), raw with it.
"""

from __future__ import annotations

import asyncio
import os
import tty as terminal

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.dockerapi.errors import bad_parameter
from portside.dockerapi.hijack import (
    STDERR,
    STDOUT,
    ClientGone,
    Hijacked,
    end_streams,
    frame,
    media_type,
    streaming,
    take_over,
)
from portside.dockerapi.params import json_body, reply
from portside.dockerapi.relay import drain_fd, in_thread, read_fd, write_fd
from portside.dockerapi.routing import Routes
from portside.dockerapi.streams import terminal_size
from portside.engine.execs import ExecSpec
from portside.runtime.attach import DEFAULT_DETACH_KEYS, parse_keys, split_detach
from portside.runtime.errors import PortsideError

routes = Routes()
routes.on_shutdown(end_streams)  # every stream ends with the service


@routes.post("/containers/{id}/exec")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, required=True)
    spec = ExecSpec(_strings(body, "Cmd") or [], env=_strings(body, "Env"), user=_string(body, "User"),
                    workdir=_string(body, "WorkingDir"), tty=_flag(body, "Tty"), stdin=_flag(body, "AttachStdin"),
                    stdout=_flag(body, "AttachStdout"), stderr=_flag(body, "AttachStderr"),
                    privileged=_flag(body, "Privileged"), detach_keys=_string(body, "DetachKeys"))
    if spec.detach_keys:
        try:
            parse_keys(spec.detach_keys)
        except PortsideError as exc:
            raise bad_parameter(f"DetachKeys: {exc}") from None
    b = backend(request)
    return reply({"Id": await b.call(b.engine.exec_create, request.match_info["id"], spec)}, 201)


def _field(body: dict, name: str):
    """``body[name]``, its case aside, as Go's JSON decoding reads it (docker-py sends ``detachKeys``)."""
    if name in body:
        return body[name]
    return next((value for key, value in body.items() if key.lower() == name.lower()), None)


def _strings(body: dict, name: str) -> list[str]:
    value = _field(body, name)
    if value is None:
        return []
    if isinstance(value, str) and name == "Cmd":
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_parameter(f"{name}: expected a list of strings, got {value!r}")
    return value


def _string(body: dict, name: str) -> str:
    value = _field(body, name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_parameter(f"{name}: expected a string, got {value!r}")
    return value


def _flag(body: dict, name: str) -> bool:
    value = _field(body, name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_parameter(f"{name}: expected true or false, got {value!r}")
    return value


@routes.get("/exec/{id}/json")
async def inspect(request: web.Request) -> web.Response:
    b = backend(request)
    return reply(await b.call(b.engine.execs.inspect, request.match_info["id"]))


@routes.post("/exec/{id}/resize")
async def resize(request: web.Request) -> web.Response:
    rows, cols = terminal_size(request)
    b = backend(request)
    await b.call(b.engine.execs.resize, request.match_info["id"], rows, cols)
    return web.Response(status=200)


@routes.post("/exec/{id}/start")
async def start(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    detach = _flag(body, "Detach")
    b = backend(request)
    eid = request.match_info["id"]
    instance = await b.call(b.engine.execs.inspect, eid)
    if detach:
        return await _detached(b.engine, instance)
    # the start's own Tty says how the stream is framed, as with dockerd (docker-py's exec_start sends false for
    # an exec with a terminal: its one stream then comes in stdout frames)
    raw = _flag(body, "Tty")
    try:
        conn = await take_over(request, media_type(request, raw))
    except ClientGone:
        return Hijacked()
    try:
        with streaming(request):
            await Run(conn, b.engine, instance, multiplexed=not raw).serve()
    finally:
        conn.close()
    return Hijacked()


async def _detached(engine, instance: dict) -> web.Response:
    """Answer once the command runs (or could not start); a thread of its own waits for its end and records it.
    Its stdio is /dev/null, or with ``Tty`` a terminal of ours whose output is read and dropped."""
    loop = asyncio.get_running_loop()
    running = loop.create_future()

    def started(pid: int) -> None:
        loop.call_soon_threadsafe(lambda: running.done() or running.set_result(pid))

    if instance["ProcessConfig"]["tty"]:
        leader, follower = os.openpty()
        terminal.setraw(follower)
        os.set_blocking(leader, False)
        stdio, own = (follower,) * 3, [leader, follower]
    else:
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        stdio, own = (null,) * 3, [null]
    ended = in_thread(engine.execs.start, instance["ID"], stdio, started)
    dropping = asyncio.ensure_future(_drop(own[0])) if len(own) == 2 else None

    def close(_=None) -> None:
        for fd in own:
            os.close(fd)

    def done(job: asyncio.Future) -> None:
        job.exception()  # its end is recorded by the engine; nobody else waits for it
        if dropping is None:
            close()
        else:  # the descriptors go once the reader is off the loop
            dropping.add_done_callback(close)
            dropping.cancel()
    ended.add_done_callback(done)
    await asyncio.wait([running, ended], return_when=asyncio.FIRST_COMPLETED)
    if not running.done() and ended.done():
        ended.result()  # raises why it could not start (a conflict, a missing command)
    return web.Response(status=200)


class Run:
    """One attached start: the command's stdio on pipes or a terminal of ours, relayed over the connection."""

    def __init__(self, conn, engine, instance: dict, multiplexed: bool) -> None:
        self.conn, self.engine, self.instance = conn, engine, instance
        self.tty = instance["ProcessConfig"]["tty"]
        self.multiplexed = multiplexed
        keys = instance["DetachKeys"]
        self.keys = parse_keys(keys) if keys else DEFAULT_DETACH_KEYS
        self.child: tuple[int, int, int] = (-1, -1, -1)  # the command's ends
        self.stdin = -1  # our end of its input
        self.outputs: dict[int, int] = {}  # our ends of its output -> stream
        self.own: list[int] = []

    async def serve(self) -> None:
        self._open()
        job = in_thread(self.engine.execs.start, self.instance["ID"], self.child)
        pumps = [asyncio.ensure_future(self._output(fd, stream)) for fd, stream in self.outputs.items()]
        feeder = asyncio.ensure_future(self._input()) if self.stdin >= 0 else None
        lost = asyncio.ensure_future(self.conn.lost.wait())
        try:
            await asyncio.wait([job, lost] + ([feeder] if feeder else []), return_when=asyncio.FIRST_COMPLETED)
            if not job.done():
                return  # the client went away, or detached: the command runs on, as with docker
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            for fd, stream in self.outputs.items():  # what it wrote last (or runc's reason it could not start)
                await self._send(stream, drain_fd(fd))
            try:
                job.result()
            except PortsideError as exc:  # it could not start; runc wrote why to its stderr, if it was runc's
                if not exc.reported:  # started by someone else meanwhile, a user the image does not have, ...
                    await self._send(STDOUT, f"{exc}\r\n".encode())  # where docker writes it
        finally:
            for task in pumps + [lost] + ([feeder] if feeder else []):
                task.cancel()
            await asyncio.gather(*pumps, lost, *([feeder] if feeder else []), return_exceptions=True)
            self._close(job)

    def _open(self) -> None:
        """Pipes for the attached streams, /dev/null for the others; one terminal for all with ``Tty``."""
        want = self.instance
        if self.tty:
            leader, follower = os.openpty()
            terminal.setraw(follower)  # a plain conduit: the container's terminal does the line discipline
            os.set_blocking(leader, False)
            self.child, self.outputs, self.own = (follower,) * 3, {leader: STDOUT}, [leader, follower]
            self.stdin = leader if want["OpenStdin"] else -1
            return
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self.own.append(null)
        ends = []
        for name, stream in (("OpenStdin", 0), ("OpenStdout", STDOUT), ("OpenStderr", STDERR)):
            if not want[name]:
                ends.append(null)
                continue
            r, w = os.pipe2(os.O_CLOEXEC)
            self.own += [r, w]
            if stream == 0:
                ends.append(r)
                self.stdin = w
                os.set_blocking(w, False)
            else:
                ends.append(w)
                self.outputs[r] = stream
                os.set_blocking(r, False)
        self.child = tuple(ends)

    async def _output(self, fd: int, stream: int) -> None:
        while data := await read_fd(fd):
            if not await self._send(stream, data):
                return

    async def _send(self, stream: int, data: bytes) -> bool:
        if not data:
            return True
        return await self.conn.write(frame(stream, data) if self.multiplexed else data)

    async def _input(self) -> None:
        """The client's input to the command: its end closes the command's stdin (without a terminal) or ends
        the session (with one, as do the detach keys)."""
        held = b""
        while data := await self.conn.read():
            if self.tty:
                data, held, detached = split_detach(held + data, self.keys)
                if data and not await write_fd(self.stdin, data):
                    break
                if detached:
                    return
            elif not await write_fd(self.stdin, data):
                break
        if self.tty:
            return
        self._close_fd(self.stdin)
        self.stdin = -1
        await asyncio.Event().wait()  # the command reads to its end; its output goes on

    def _close_fd(self, fd: int) -> None:
        if fd in self.own:
            self.own.remove(fd)
            os.close(fd)

    def _close(self, job: asyncio.Future) -> None:
        """Our descriptors go at once if the command has ended. Else the client has gone and the command runs on,
        as with docker: its input ends, its output is read and dropped until its end, then they go."""
        if job.done():
            self._close_all()
            return
        if not self.tty:
            self._close_fd(self.stdin)
        task = asyncio.ensure_future(self._discard(job))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)

    async def _discard(self, job: asyncio.Future) -> None:
        readers = [asyncio.ensure_future(_drop(fd)) for fd in self.outputs]
        try:
            await asyncio.wait([job])
            job.exception()  # recorded by the engine; retrieved here so that asyncio does not report it
        finally:
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            self._close_all()

    def _close_all(self) -> None:
        own, self.own = self.own, []
        for fd in own:
            os.close(fd)


_BACKGROUND: set[asyncio.Task] = set()  # the commands whose client has gone, until they end


async def _drop(fd: int) -> None:
    while await read_fd(fd):
        pass
