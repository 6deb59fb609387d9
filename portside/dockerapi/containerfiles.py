"""A container's files and processes: ``top``, ``changes`` (docker diff), ``export`` and ``archive`` (docker cp,
both ways), over the engine's verbs (``engine/files.py``, ``engine/usage.py``).

Tars are streamed both ways: a tar the engine writes reaches the client chunk by chunk as the client reads it, and
an uploaded tar is unpacked as it arrives, so neither is ever held whole in memory.
"""

from __future__ import annotations

import asyncio
import base64
import json
import stat
import threading
import time
from collections.abc import Callable

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.dockerapi.errors import bad_parameter, log
from portside.dockerapi.params import qbool, qstr, reply
from portside.dockerapi.routing import Routes

routes = Routes()

CHUNK = 64 * 1024
AHEAD = 8  # chunks a producer may write before the client has read them
TAR = "application/x-tar"


@routes.get("/containers/{id}/top")
async def top(request: web.Request) -> web.Response:
    b = backend(request)
    found = await b.call(b.engine.top, request.match_info["id"], qstr(request, "ps_args"))
    return reply({"Titles": found.titles, "Processes": found.processes})


@routes.get("/containers/{id}/changes")
async def changes(request: web.Request) -> web.Response:
    b = backend(request)
    found = await b.call(b.engine.changes, request.match_info["id"])
    return reply([{"Path": c.path, "Kind": c.kind} for c in found] or None)  # dockerd's null for none


@routes.get("/containers/{id}/export")
async def export(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    ref = request.match_info["id"]
    await b.call(b.engine.find, ref)  # a missing container is a 404, before the 200 goes out
    response = web.StreamResponse(headers={"Content-Type": TAR})
    await response.prepare(request)
    await stream(request, response, lambda out: b.engine.export(ref, out))
    return response


@routes.get("/containers/{id}/archive")  # and HEAD: the stat alone
async def get_archive(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    ref, path = request.match_info["id"], _path(request)
    if request.method == "HEAD":
        found = await b.call(b.engine.stat_path, ref, path)
        return web.Response(headers={"X-Docker-Container-Path-Stat": path_stat_header(found)})
    archive = await b.call(b.engine.archive, ref, path)
    try:
        response = web.StreamResponse(headers={"X-Docker-Container-Path-Stat": path_stat_header(archive.stat),
                                               "Content-Type": TAR})
        await response.prepare(request)
        await stream(request, response, archive.write)
    finally:
        await b.call(archive.close)
    return response


@routes.put("/containers/{id}/archive")
async def put_archive(request: web.Request) -> web.Response:
    b = backend(request)
    ref, path = request.match_info["id"], _path(request)
    allow_overwrite_dir = not qbool(request, "noOverwriteDirNonDir")
    source = BodyReader(request, asyncio.get_running_loop())
    await b.call(b.engine.extract, ref, path, source, allow_overwrite_dir, qbool(request, "copyUIDGID"))
    return web.Response(status=200)


def _path(request: web.Request) -> str:
    path = qstr(request, "path")
    if not path:
        raise bad_parameter("bad parameter: path cannot be empty")
    return path


# -- docker's path stat ------------------------------------------------------------------------------------------

GO_MODE_BITS = ((stat.S_ISUID, 1 << 23), (stat.S_ISGID, 1 << 22), (stat.S_ISVTX, 1 << 20))
GO_TYPE_BITS = ((stat.S_IFDIR, 1 << 31), (stat.S_IFLNK, 1 << 27), (stat.S_IFIFO, 1 << 25),
                (stat.S_IFSOCK, 1 << 24), (stat.S_IFBLK, 1 << 26), (stat.S_IFCHR, (1 << 26) | (1 << 21)))


def go_file_mode(st_mode: int) -> int:
    """An st_mode as Go's ``os.FileMode``, which is what docker's clients decode: type and set-id bits move to
    the top of the word (a directory is 1<<31, a symlink 1<<27), the permission bits stay."""
    mode = st_mode & 0o777
    kind = stat.S_IFMT(st_mode)
    mode |= next((bit for ifmt, bit in GO_TYPE_BITS if ifmt == kind), 0)
    for posix, go in GO_MODE_BITS:
        if st_mode & posix:
            mode |= go
    return mode


def go_time(ns: int) -> str:
    """Go's RFC 3339 with nanoseconds (trailing zeros dropped), in the server's time zone, as dockerd writes."""
    seconds, frac = divmod(ns, 1_000_000_000)
    local = time.localtime(seconds)
    offset = local.tm_gmtoff
    zone = "Z" if offset == 0 else f"{'+' if offset > 0 else '-'}{abs(offset) // 3600:02d}:{abs(offset) % 3600 // 60:02d}"
    fraction = f".{frac:09d}".rstrip("0") if frac else ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + fraction + zone


def path_stat_header(found) -> str:
    """``X-Docker-Container-Path-Stat``: the stat as base64 JSON."""
    body = {"name": found.name, "size": found.size, "mode": go_file_mode(found.mode),
            "mtime": go_time(found.mtime_ns), "linkTarget": found.link_target}
    return base64.b64encode(json.dumps(body).encode()).decode()


# -- streams between the engine's threads and the event loop -------------------------------------------------

class ChunkPipe:
    """A file to write to from a thread, read as chunks on the event loop; the writer stays at most ``AHEAD``
    chunks ahead of the reader (a slow client slows the tar, never fills memory), and once the reader gives up
    (the client left) every write raises BrokenPipeError, which ends the producer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.queue = loop, asyncio.Queue()
        self.room = threading.Semaphore(AHEAD)
        self.buffer = bytearray()
        self.abandoned = False

    def write(self, data) -> int:
        if self.abandoned:
            raise BrokenPipeError("the client went away")
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self._send()
        return len(data)

    def flush(self) -> None:
        pass

    def _send(self) -> None:
        self.room.acquire()
        if self.abandoned:
            raise BrokenPipeError("the client went away")
        chunk, self.buffer = bytes(self.buffer), bytearray()
        self.loop.call_soon_threadsafe(self.queue.put_nowait, chunk)

    def finish(self) -> None:
        """The producer's last call, whatever happened: what is buffered, then the end."""
        try:
            if self.buffer and not self.abandoned:
                self._send()
        finally:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, None)

    async def chunks(self):
        while (chunk := await self.queue.get()) is not None:
            yield chunk
            self.room.release()

    def abandon(self) -> None:
        self.abandoned = True
        self.room.release(AHEAD + 1)


async def stream(request: web.Request, response: web.StreamResponse, produce: Callable[[ChunkPipe], None]) -> None:
    """Run ``produce(pipe)`` in the engine's pool and send what it writes. A failure after the headers went out
    can only cut the stream short: the client sees a truncated tar, the log says why."""
    pipe = ChunkPipe(asyncio.get_running_loop())

    def run() -> None:
        try:
            produce(pipe)
        finally:
            pipe.finish()

    task = asyncio.ensure_future(backend(request).call(run))
    try:
        async for chunk in pipe.chunks():
            await response.write(chunk)
        await response.write_eof()
    except ConnectionResetError:
        pipe.abandon()  # the client has read enough (``docker export | head``): not a failure
    except BaseException:
        pipe.abandon()
        raise
    finally:
        try:
            await task
        except BrokenPipeError:
            pass
        except Exception:  # noqa: BLE001 - the status is sent; log it and end the body
            log.exception("%s %s failed mid-stream", request.method, request.path)


class BodyReader:
    """The request body as a file for a thread: each ``read`` waits on the event loop for the next bytes."""

    def __init__(self, request: web.Request, loop: asyncio.AbstractEventLoop) -> None:
        self.content, self.loop = request.content, loop
        self.left = b""

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (what has arrived, for -1); b"" at the body's end."""
        if not self.left:
            self.left = asyncio.run_coroutine_threadsafe(self.content.readany(), self.loop).result()
        if size < 0 or size >= len(self.left):
            data, self.left = self.left, b""
        else:
            data, self.left = self.left[:size], self.left[size:]
        return data
