"""``GET /events``: the engine's event log (``engine/events.py``) as docker's stream of JSON objects.

The past between ``since`` and ``until`` is replayed (read in a thread: it may be megabytes), then, unless
``until`` has passed, the log is followed: its inotify watch is a reader on the event loop, so a follower costs no
thread while nothing happens. A follower ends at ``until``, or when its client goes away.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.dockerapi.errors import JSON
from portside.dockerapi.params import filters, qstr
from portside.dockerapi.routing import Routes
from portside.engine.events import FILTERS, EventLog, parse_time, to_docker

routes = Routes()

CLIENT_CHECK_S = 1.0  # how often an idle follower looks whether its client hung up
_STOPPING: weakref.WeakKeyDictionary[web.Application, asyncio.Event] = weakref.WeakKeyDictionary()


@routes.on_shutdown
async def _stop_followers(app: web.Application) -> None:
    """The server stops: every follower ends its stream (docker's ``events`` clients then exit), instead of
    holding the shutdown until its client hangs up."""
    _stopping(app).set()


def _stopping(app: web.Application) -> asyncio.Event:
    """Set once the app stops (kept beside it: a started app's own state is frozen)."""
    return _STOPPING.setdefault(app, asyncio.Event())


@routes.get("/events")
async def events(request: web.Request) -> web.StreamResponse:
    since = _time(request, "since")
    until = _time(request, "until")
    log = EventLog(backend(request).engine.root, since, until, filters(request, FILTERS))
    log.open()
    try:
        if since is None and until is None:
            log.skip_past()
            backlog = []
        else:
            backlog = await backend(request).call(log.replay)
        response = web.StreamResponse(headers=JSON)
        await response.prepare(request)
        await _send(response, backlog)
        if not log.done():
            await _follow(request, response, log)
        return response
    finally:
        log.close()


def _time(request: web.Request, name: str) -> int | None:
    text = qstr(request, name)
    return parse_time(text, name) if text else None


async def _send(response: web.StreamResponse, events: list[dict]) -> None:
    if events:
        await response.write(b"".join(json.dumps(to_docker(e)).encode() + b"\n" for e in events))


async def _follow(request: web.Request, response: web.StreamResponse, log: EventLog) -> None:
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()
    loop.add_reader(log.fileno(), woken.set)
    stopping = _stopping(request.app)
    stop_waiter = asyncio.ensure_future(stopping.wait())
    stop_waiter.add_done_callback(lambda _: woken.set())
    try:
        while not log.done() and not stopping.is_set():
            timeout = CLIENT_CHECK_S
            if log.until is not None:
                timeout = min(timeout, max(0.0, (log.until - time.time_ns()) / 1e9) + 0.01)
            try:
                await asyncio.wait_for(woken.wait(), timeout)
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    return
                continue
            woken.clear()
            await _send(response, log.more())
    except ConnectionResetError:
        return
    finally:
        stop_waiter.cancel()
        loop.remove_reader(log.fileno())
