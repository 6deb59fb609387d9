"""The agent's HTTPS server, the kubelet's paths the API server forwards ``kubectl logs``, ``exec`` and ``top``
to.

It listens on the node's InternalIP with a serving certificate from the cluster CA and serves the API server
only (``tls``): ``GET /containerLogs/{ns}/{pod}/{container}`` (follow, previous, tailLines, timestamps,
sinceSeconds, limitBytes) and ``GET /exec/{ns}/{pod}/{container}`` upgraded to a WebSocket speaking the
``channel.k8s.io`` protocols (exec.py); ``GET /stats/summary``, the latest usage sample, and
``GET /stats/history?start=EPOCH&step=SECONDS``, every pod's usage from the node's time series (metrics.py),
which the capacity planner reads through ``nodes/NAME/proxy``; ``GET /attach/{ns}/{pod}/{container}`` upgraded
like exec (attachws.py); ``GET /portForward/{ns}/{pod}`` upgraded to a WebSocket carrying SPDY or the
port-forward channels (portforward.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time

from aiohttp import web

from portside.agent.inotify import FileWatch
from portside.agent.model import Run, latest, previous
from portside.agent.tls import require_apiserver
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
    watch = FileWatch(path.parent) if follow else None  # the directory: a rotation renames the log
    unwatch = agent.engine.watch_exit(run.cid, watch.event.set) if watch else (lambda: None)
    reader = logfile.Follower(path)
    try:
        entries = await agent.engine.call(reader.start, tail)
        budget = [limit]
        await _send(resp, render(entries, stamps, since), budget)
        while follow and budget[0] != 0:
            await watch.changed(FOLLOW_RECHECK_S)
            fresh = await agent.engine.inspect(run.cid)
            entries = await agent.engine.call(reader.more)
            await _send(resp, render(entries, stamps, since), budget)
            follow = fresh is not None and fresh.running
    finally:
        reader.close()
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


MAX_HISTORY_BUCKETS = 100_000  # per pod: 35 days at 30 s


async def stats_history(request: web.Request) -> web.Response:
    """Every pod's usage since ``start`` (default: all that is kept, or the last ``MAX_HISTORY_BUCKETS`` steps)
    in buckets of ``step`` seconds (default the rollup step)::

        {"node", "periodSeconds", "step", "start", "end",
         "pods": [{"namespace", "name", "owner": {"kind", "name"}, "t": [...], "cpu": [...], "memory": [...]}]}

    with ``cpu`` each bucket's mean cores and ``memory`` its peak working-set bytes. A node that keeps no time
    series answers 404."""
    from portside.agent.metrics import history
    agent = request.app["agent"]
    tsdb = agent.sampler.tsdb
    if tsdb is None:
        raise web.HTTPNotFound(text=f"node {agent.name} keeps no usage history\n")
    end = time.time()
    step = _int(request, "step") or tsdb.step
    if not 0 < step <= 86_400:
        raise web.HTTPBadRequest(text=f"step must be 1 to 86400 seconds, not {step}\n")
    start = float(_int(request, "start") or end - min(tsdb.rollup_retention, step * MAX_HISTORY_BUCKETS))
    if (end - start) / step > MAX_HISTORY_BUCKETS:
        raise web.HTTPBadRequest(text=f"{(end - start) / step:.0f} buckets of {step} s asked for; at most "
                                      f"{MAX_HISTORY_BUCKETS} (a larger step, or a later start)\n")
    pods = await asyncio.to_thread(history, tsdb, start, end, step)
    return web.json_response({"node": agent.name, "periodSeconds": agent.sampler.period, "step": step,
                              "start": start, "end": end, "pods": pods})


def app_for(agent) -> web.Application:
    app = web.Application(middlewares=[require_apiserver])
    app["agent"] = agent
    app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", container_logs)
    app.router.add_get("/exec/{namespace}/{pod}/{container}", exec_handler)
    app.router.add_post("/exec/{namespace}/{pod}/{container}", exec_handler)
    app.router.add_get("/stats/summary", stats_summary)
    app.router.add_get("/stats/history", stats_history)
    app.router.add_get("/attach/{namespace}/{pod}/{container}", attach_handler)
    app.router.add_post("/attach/{namespace}/{pod}/{container}", attach_handler)
    app.router.add_get("/portForward/{namespace}/{pod}", portforward_handler)
    app.router.add_post("/portForward/{namespace}/{pod}", portforward_handler)
    return app


@contextlib.asynccontextmanager
async def serve(agent, host: str, tls: ssl.SSLContext, port: int = 0):
    """Listen on ``host`` (on a free port by default) and yield the port."""
    runner = web.AppRunner(app_for(agent), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise OSError(exc.errno, f"the agent's endpoint cannot listen on {host} (the node's InternalIP; is it an "
                                 f"address of this host? --node-ip sets it): {exc.strerror}") from None
    try:
        yield site._server.sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()
