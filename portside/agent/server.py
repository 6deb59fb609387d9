"""The agent's HTTP server, the kubelet's paths the API server forwards ``kubectl logs`` and ``exec`` to.

Plain HTTP on loopback: ``GET /containerLogs/{ns}/{pod}/{container}`` (follow, previous, tailLines, timestamps,
sinceSeconds, limitBytes) and ``GET /exec/{ns}/{pod}/{container}`` upgraded to a WebSocket speaking the
``channel.k8s.io`` protocols (exec.py); ``GET /stats/summary``, the latest usage sample (metrics.py);
``GET /attach/{ns}/{pod}/{container}`` likewise (attachws.py); ``GET /portForward/{ns}/{pod}`` upgraded to a
WebSocket carrying SPDY or the port-forward channels (portforward.py).
"""

from __future__ import annotations

import contextlib
import time

from aiohttp import web

from portside.agent.inotify import FileWatch
from portside.agent.model import Run, latest, previous
from portside.api.timefmt import parse_time
from portside.runtime import logfile

FOLLOW_RECHECK_S = 5.0  # a safety net: appends and the container's end both wake a follower at once


def find_run(agent, request: web.Request, want_previous: bool = False) -> Run:
    ns, pod, name = (request.match_info[k] for k in ("namespace", "pod", "container"))
    worker = agent.find(ns, pod)
    if worker is None:
        raise web.HTTPNotFound(text=f'pod "{pod}" in namespace "{ns}" is not running on this node\n')
    runs = list(worker.runs.values())
    run = previous(runs, name) if want_previous else latest(runs).get(name)
    if run is None:
        what = "previous terminated container" if want_previous else "container"
        raise web.HTTPBadRequest(text=f'{what} "{name}" in pod "{pod}" not found\n')
    return run


def _flag(request: web.Request, key: str) -> bool:
    return request.query.get(key, "false").lower() in ("1", "true", "yes")


def _int(request: web.Request, key: str) -> int | None:
    text = request.query.get(key)
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{key} must be an integer, not {text!r}\n") from None


def render(entries: list[logfile.Entry], timestamps: bool, since: float | None) -> bytes:
    out = []
    for e in entries:
        if since is not None and (parse_time(e.time) is None or parse_time(e.time).timestamp() < since):
            continue
        out.append((f"{e.time} " if timestamps else "") + e.text)
    return "".join(out).encode()


async def container_logs(request: web.Request) -> web.StreamResponse:
    agent = request.app["agent"]
    run = find_run(agent, request, _flag(request, "previous"))
    tail, limit, since_s = _int(request, "tailLines"), _int(request, "limitBytes"), _int(request, "sinceSeconds")
    since = time.time() - since_s if since_s is not None else None
    follow, stamps = _flag(request, "follow") and run.running, _flag(request, "timestamps")
    path = agent.engine.engine.log_path(run.cid)
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await resp.prepare(request)
    watch = FileWatch(path) if follow else None
    unwatch = agent.engine.watch_exit(run.cid, watch.event.set) if watch else (lambda: None)
    try:
        entries, offset = await agent.engine.call(logfile.read, path, tail)
        budget = [limit]
        await _send(resp, render(entries, stamps, since), budget)
        while follow and budget[0] != 0:
            await watch.changed(FOLLOW_RECHECK_S)
            fresh = await agent.engine.inspect(run.cid)
            entries, offset = await agent.engine.call(logfile.read, path, None, offset)
            await _send(resp, render(entries, stamps, since), budget)
            follow = fresh is not None and fresh.running
    finally:
        unwatch()
        if watch is not None:
            watch.close()
    await resp.write_eof()
    return resp


async def _send(resp: web.StreamResponse, data: bytes, budget: list) -> None:
    if budget[0] is not None:
        data, budget[0] = data[:budget[0]], max(0, budget[0] - len(data))
    if data:
        await resp.write(data)


async def exec_handler(request: web.Request) -> web.StreamResponse:
    from portside.agent.execws import serve_exec
    return await serve_exec(request, find_run(request.app["agent"], request))


async def attach_handler(request: web.Request) -> web.StreamResponse:
    from portside.agent.attachws import serve_attach
    return await serve_attach(request, find_run(request.app["agent"], request))


async def portforward_handler(request: web.Request) -> web.StreamResponse:
    from portside.agent.portforward import serve_portforward
    return await serve_portforward(request)


async def stats_summary(request: web.Request) -> web.Response:
    """The latest usage sample in the kubelet Summary API's shape (what ``metrics.k8s.io`` is served from)."""
    from portside.agent.metrics import summary
    agent = request.app["agent"]
    return web.json_response(summary(agent.name, agent.sampler.latest))


def app_for(agent) -> web.Application:
    app = web.Application()
    app["agent"] = agent
    app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", container_logs)
    app.router.add_get("/exec/{namespace}/{pod}/{container}", exec_handler)
    app.router.add_post("/exec/{namespace}/{pod}/{container}", exec_handler)
    app.router.add_get("/stats/summary", stats_summary)
    app.router.add_get("/attach/{namespace}/{pod}/{container}", attach_handler)
    app.router.add_post("/attach/{namespace}/{pod}/{container}", attach_handler)
    app.router.add_get("/portForward/{namespace}/{pod}", portforward_handler)
    app.router.add_post("/portForward/{namespace}/{pod}", portforward_handler)
    return app


@contextlib.asynccontextmanager
async def serve(agent, host: str = "127.0.0.1", port: int = 0):
    """Listen (on a free port by default) and yield the port."""
    runner = web.AppRunner(app_for(agent), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()
