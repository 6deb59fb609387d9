"""``portside system service``'s app, plus minimal stand-ins for the container endpoints the streaming tests lean
on (inspect, create, start, wait) when this build does not serve them yet: the docker CLI and docker-py inspect a
container before they read its logs or attach to it, and ``docker run`` creates, waits and starts. A path the app
already serves is never replaced, so with the containers module present the tests exercise the real handlers.

Run as ``python standin_service.py ROOT SOCKET``; SIGTERM ends it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.dockerapi.params import json_body, qstr, reply
from portside.dockerapi.server import Listener, make_app, start
from portside.engine import ContainerConfig, Engine


async def inspect(request: web.Request) -> web.Response:
    b = backend(request)
    info = await b.call(b.engine.inspect, request.match_info["id"])
    if not isinstance(info["HostConfig"].get("PortBindings"), dict):
        info["HostConfig"]["PortBindings"] = {}  # what the docker CLI decodes (a map); the real handler's to fix
    return reply(info)


async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    host = body.get("HostConfig") or {}
    cfg = ContainerConfig(image=body["Image"], cmd=body.get("Cmd") or None, name=qstr(request, "name"),
                          tty=bool(body.get("Tty")), open_stdin=bool(body.get("OpenStdin")),
                          stdin_once=bool(body.get("StdinOnce")), autoremove=bool(host.get("AutoRemove")),
                          network=host.get("NetworkMode") or "bridge")
    b = backend(request)
    return reply({"Id": await b.call(b.engine.create, cfg), "Warnings": []}, 201)


async def begin(request: web.Request) -> web.Response:
    b = backend(request)
    await b.call(b.engine.start, request.match_info["id"])
    return web.Response(status=204)


async def wait(request: web.Request) -> web.Response:
    b = backend(request)
    ref, condition = request.match_info["id"], qstr(request, "condition", "not-running")
    cid = await b.call(b.engine.find, ref)
    waiting = asyncio.ensure_future(b.call(b.engine.wait, cid, condition))
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)  # docker answers the head at once: its CLI starts the container after it
    code = await waiting
    await response.write(f'{{"StatusCode":{code},"Error":null}}\n'.encode())
    await response.write_eof()
    return response


STANDINS = [("GET", "/containers/{id}/json", inspect), ("POST", "/containers/create", create),
            ("POST", "/containers/{id}/start", begin), ("POST", "/containers/{id}/wait", wait)]


def add_standins(app: web.Application) -> None:
    served = {(route.method, route.resource.canonical) for route in app.router.routes() if route.resource}
    prefix = r"/v{version:[0-9]+\.[0-9]+}"
    for method, path, handler in STANDINS:
        if (method, path) not in served:
            app.router.add_route(method, path, handler)
            app.router.add_route(method, prefix + path, handler)


async def main(root: str, socket: str) -> None:
    app = make_app(Engine(Path(root)))
    add_standins(app)
    runner = await start(app, [Listener(f"unix://{socket}")])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        Path(socket).unlink(missing_ok=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
