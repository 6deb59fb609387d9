"""The container lifecycle: create, start, stop, kill, restart, wait, remove, list, inspect, rename, update,
pause, unpause and prune, each over the one engine function that implements it (the CLI calls the same).

Status codes and messages are dockerd's where clients branch on them: 304 for a start of a running container or a
stop of a stopped one, 404 "No such container: X" and "No such image: X", 409 for a name in use or a verb the
container's state refuses, 400 naming the field of a malformed or unsupported request.
"""

from __future__ import annotations

import asyncio
import json
import threading

from aiohttp import web

from portside.dockerapi import createbody
from portside.dockerapi.backend import backend
from portside.dockerapi.errors import JSON, ApiError, bad_parameter, conflict, image_ref_with_tag, not_found
from portside.dockerapi.params import filters, json_body, qbool, qint, qstr, reply
from portside.dockerapi.routing import Routes
from portside.runtime.errors import (
    CommandNotExecutable,
    CommandNotFound,
    ContainerNotFound,
    InvalidArgument,
    InvalidTransition,
    NameInUse,
    NotFound,
    OCIRuntimeError,
)

routes = Routes()

NO_CONTENT, NOT_MODIFIED = 204, 304


def _engine(request: web.Request):
    return backend(request).engine


async def _call(request: web.Request, fn, *args, **kwargs):
    return await backend(request).call(fn, *args, **kwargs)


async def _find(request: web.Request) -> str:
    """The full id of the container the path names; 404 in docker's words."""
    ref = request.match_info["id"]
    try:
        return await _call(request, _engine(request).find, ref)
    except ContainerNotFound:
        raise not_found(f"No such container: {ref}") from None


def name_in_use(exc: NameInUse) -> ApiError:
    return conflict(f'Conflict. The container name "/{exc.name}" is already in use by container "{exc.owner}". '
                    "You have to remove (or rename) that container to be able to reuse that name.")


def _empty(status: int) -> web.Response:
    return web.Response(status=status)


# -- create ---------------------------------------------------------------------------------------------------

@routes.post("/containers/create")
async def create(request: web.Request) -> web.Response:
    engine = _engine(request)
    body = await json_body(request, required=True)
    name = qstr(request, "name").lstrip("/")
    parsed = createbody.parse(body, name, bool(engine.settings().get("allow_privileged")), qstr(request, "platform"))
    cid = await _call(request, _create, engine, parsed)
    return reply({"Id": cid, "Warnings": parsed.warnings}, 201)


def _create(engine, parsed: createbody.Created) -> str:
    """Create, then join the other networks the body names (docker's API takes several since 1.44); a failure
    on the way removes what was made."""
    from portside.image.errors import ImageNotFound

    for name in parsed.anonymous:  # made first, so that they are marked anonymous (rm -v, volume prune)
        engine.volumes.create(name, anonymous=True)
    try:
        cid = engine.create(parsed.config)
    except ImageNotFound:
        _drop(engine, parsed.anonymous)
        raise not_found(f"No such image: {image_ref_with_tag(parsed.config.image)}") from None
    except NameInUse as exc:
        _drop(engine, parsed.anonymous)
        raise name_in_use(exc) from None
    except BaseException:
        _drop(engine, parsed.anonymous)
        raise
    try:
        for network, aliases, address in parsed.connect:
            engine.connect(network, cid, tuple(aliases), address)
    except BaseException:
        engine.remove(cid, force=True, volumes=True)
        raise
    return cid


def _drop(engine, volumes: list[str]) -> None:
    for name in volumes:
        engine.volumes.remove(name, force=True)


# -- start, stop, kill, restart, pause, unpause ------------------------------------------------------------------

@routes.post("/containers/{id}/start")
async def start(request: web.Request) -> web.Response:
    cid = await _find(request)
    engine = _engine(request)
    state = await _call(request, engine.state, cid)
    if state.status == "paused":
        raise conflict("cannot start a paused container, try unpause instead")
    if state.live:
        return _empty(NOT_MODIFIED)
    try:
        await _call(request, engine.start, cid)
    except InvalidTransition as exc:
        if exc.state in ("running", "restarting"):
            return _empty(NOT_MODIFIED)  # another client started it meanwhile
        raise
    except (CommandNotFound, CommandNotExecutable) as exc:
        raise bad_parameter(str(exc)) from None  # dockerd: the image's command is the caller's to fix
    return _empty(NO_CONTENT)


@routes.post("/containers/{id}/stop")
async def stop(request: web.Request) -> web.Response:
    cid = await _find(request)
    timeout = _timeout(request)
    engine = _engine(request)
    if not (await _call(request, engine.state, cid)).live:
        return _empty(NOT_MODIFIED)
    await _call(request, engine.stop, cid, timeout)
    return _empty(NO_CONTENT)


@routes.post("/containers/{id}/restart")
async def restart(request: web.Request) -> web.Response:
    cid = await _find(request)
    timeout = _timeout(request)
    try:
        await _call(request, _engine(request).restart, cid, timeout)
    except (CommandNotFound, CommandNotExecutable) as exc:
        raise bad_parameter(str(exc)) from None
    return _empty(NO_CONTENT)


def _timeout(request: web.Request) -> int | None:
    """``t`` (seconds before SIGKILL; -1: wait for ever); none: the container's StopTimeout, else 10."""
    t = qint(request, "t")
    if t is not None and t < -1:
        raise bad_parameter(f"invalid value for t: {t} (expected seconds, or -1 to wait without limit)")
    return t


@routes.post("/containers/{id}/kill")
async def kill(request: web.Request) -> web.Response:
    from portside.engine.config import parse_signal

    cid = await _find(request)
    text = qstr(request, "signal") or "KILL"
    try:
        sig = parse_signal(text, "signal")
    except InvalidArgument:
        raise bad_parameter(f"Invalid signal: {text}") from None
    try:
        await _call(request, _engine(request).kill, cid, sig)
    except InvalidTransition:
        raise conflict(f"Cannot kill container: {request.match_info['id']}: Container {cid} is not running") from None
    return _empty(NO_CONTENT)  # a SIGKILL: once the container is down (the engine's kill waits, as dockerd's)


@routes.post("/containers/{id}/pause")
async def pause(request: web.Request) -> web.Response:
    cid = await _find(request)
    try:
        await _call(request, _engine(request).pause, cid)
    except InvalidTransition as exc:
        raise conflict(f"Container {cid} is already paused" if exc.state == "paused"
                       else f"Container {cid} is not running") from None
    return _empty(NO_CONTENT)


@routes.post("/containers/{id}/unpause")
async def unpause(request: web.Request) -> web.Response:
    cid = await _find(request)
    try:
        await _call(request, _engine(request).unpause, cid)
    except InvalidTransition:
        raise conflict(f"Container {cid} is not paused") from None
    return _empty(NO_CONTENT)


# -- wait -----------------------------------------------------------------------------------------------------

@routes.post("/containers/{id}/wait")
async def wait(request: web.Request) -> web.StreamResponse:
    """The wait is registered first (a container that is not there is a 404), then the headers go out, as
    dockerd's do, and the body when the condition holds. The wait runs in a thread of its own: a client may wait
    for hours, and must not hold one of the engine calls' threads."""
    from portside.engine.waiting import WAIT_CONDITIONS, WaitAbandoned

    condition = qstr(request, "condition") or "not-running"
    if condition not in WAIT_CONDITIONS:
        raise bad_parameter(f"invalid value for condition: {condition!r} (expected not-running, next-exit or "
                            "removed)")
    cid = await _find(request)
    waiting = await _call(request, _engine(request).waiting, cid, condition)
    try:
        response = web.StreamResponse(status=200, headers=JSON)
        await response.prepare(request)
    except BaseException:
        waiting.close()
        raise
    transport = request.transport

    def answer() -> int:  # the wait's thread closes it: it may outlive this coroutine (a client that hung up)
        def gone() -> bool:  # a stale answer only delays the end by one check
            return transport is None or transport.is_closing()
        try:
            return waiting.result(gone)
        finally:
            waiting.close()
    try:
        result = {"StatusCode": await _in_own_thread(answer), "Error": None}
    except WaitAbandoned:
        return response
    except (NotFound, InvalidTransition) as exc:
        result = {"StatusCode": -1, "Error": {"Message": str(exc)}}
    try:
        await response.write(json.dumps(result).encode() + b"\n")
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client stopped waiting (docker run -d does, once the container runs)
    return response


async def _in_own_thread(fn, *args):
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def settle(value, error) -> None:
        if not done.done():
            done.set_exception(error) if error is not None else done.set_result(value)

    def run() -> None:
        try:
            value, error = fn(*args), None
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
            value, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, value, error)
        except RuntimeError:
            pass  # the loop closed: the service is shutting down and the client is gone
    threading.Thread(target=run, name="dockerapi-wait", daemon=True).start()
    return await done


# -- remove, rename, update, prune -----------------------------------------------------------------------------

@routes.delete("/containers/{id}")
async def remove(request: web.Request) -> web.Response:
    cid = await _find(request)
    force, volumes = qbool(request, "force"), qbool(request, "v")
    if qbool(request, "link"):
        raise bad_parameter("link: legacy container links are not supported")
    try:
        await _call(request, _engine(request).remove, cid, force, volumes)
    except InvalidTransition as exc:
        if exc.state == "paused":
            raise conflict(f"You cannot remove a paused container {cid}. Unpause and then stop the container before "
                           "attempting removal or force remove") from None
        if exc.state in ("running", "restarting"):
            raise conflict(f"You cannot remove a running container {cid}. Stop the container before attempting "
                           "removal or force remove") from None
        raise
    return _empty(NO_CONTENT)


@routes.post("/containers/{id}/rename")
async def rename(request: web.Request) -> web.Response:
    cid = await _find(request)
    name = qstr(request, "name")
    if not name:
        raise bad_parameter("name: the new name is required")
    try:
        await _call(request, _engine(request).rename, cid, name)
    except NameInUse as exc:
        raise conflict("Error when allocating new name: " + name_in_use(exc).message) from None
    return _empty(NO_CONTENT)


UPDATABLE = ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpuQuota", "CpuPeriod", "PidsLimit", "RestartPolicy")


@routes.post("/containers/{id}/update")
async def update(request: web.Request) -> web.Response:
    cid = await _find(request)
    change, warnings = resources(await json_body(request, required=True))
    try:
        await _call(request, _engine(request).update, cid, change)
    except OCIRuntimeError as exc:  # the kernel refused a limit (memory below what the container uses, say)
        raise conflict(f"Cannot update container {cid}: {exc}") from None
    return reply({"Warnings": warnings})


def resources(body: dict):
    """docker's UpdateConfig as the engine's ``Resources``: zero values change nothing, fields the engine cannot
    update are refused by name."""
    from portside.engine.config import Resources

    for key, value in body.items():
        if key not in UPDATABLE and not createbody._zero(value) and not (key == "MemorySwappiness" and value == -1):
            raise bad_parameter(f"{key}: updating it is not supported (expected {', '.join(UPDATABLE)})")

    def number(key: str, minimum: int) -> int | None:
        return createbody._int(body, key, "update", minimum)

    warnings: list[str] = []
    memory = createbody._memory(body, warnings)
    cpus = createbody._nano_cpus(body)
    pids = number("PidsLimit", -1)
    policy = createbody._object(body.get("RestartPolicy"), "RestartPolicy")
    restart = createbody.restart_policy({"RestartPolicy": policy}) if policy.get("Name") else None
    return Resources(memory=memory, cpus=cpus, cpu_shares=number("CpuShares", 0) or None,
                     cpu_quota=number("CpuQuota", -1) or None, cpu_period=number("CpuPeriod", 0) or None,
                     pids_limit=pids, restart=restart), warnings


@routes.post("/containers/prune")
async def prune(request: web.Request) -> web.Response:
    from portside.engine.pruning import PRUNE_FILTERS, prune_filter

    keep = prune_filter(filters(request, PRUNE_FILTERS))
    removed, reclaimed = await _call(request, _engine(request).prune, keep)
    return reply({"ContainersDeleted": removed or None, "SpaceReclaimed": reclaimed})


# -- list and inspect -----------------------------------------------------------------------------------------

@routes.get("/containers/json")
async def list_containers(request: web.Request) -> web.Response:
    from portside.engine.listing import FILTERS

    wanted = filters(request, FILTERS)
    limit = qint(request, "limit", -1)
    show_all = qbool(request, "all") or (limit is not None and limit > 0) or "status" in wanted
    size = qbool(request, "size")
    return reply(await _call(request, _list, _engine(request), wanted, show_all, limit, size))


def _list(engine, wanted: dict, show_all: bool, limit: int, size: bool) -> list[dict]:
    from portside.engine.listing import matcher, summary

    infos = engine.list(all=True)
    keep = matcher(wanted, infos, lambda ref: _image_id(engine, ref))
    out = []
    for info in infos:
        if not (show_all or info["State"]["Running"]) or not keep(info):
            continue
        entry = summary(info)
        if size:
            entry.update(_sizes(engine, info["Id"], omit_zero=True))
        out.append(entry)
        if limit and 0 < limit <= len(out):
            break
    return out


def _image_id(engine, ref: str) -> str | None:
    from portside.runtime.errors import PortsideError

    try:
        return engine.images.resolve(ref).id
    except PortsideError:
        return None


def _sizes(engine, cid: str, omit_zero: bool) -> dict:
    """SizeRw and SizeRootFs; the list leaves a zero out (dockerd's omitempty), inspect shows both."""
    try:
        rw, rootfs = engine.size(cid)
    except (ContainerNotFound, FileNotFoundError):
        return {}
    sizes = {"SizeRw": rw, "SizeRootFs": rootfs}
    return {k: v for k, v in sizes.items() if v or not omit_zero}


@routes.get("/containers/{id}/json")
async def inspect(request: web.Request) -> web.Response:
    cid = await _find(request)
    engine = _engine(request)
    try:
        info = await _call(request, engine.inspect, cid)
    except (ContainerNotFound, FileNotFoundError):
        raise not_found(f"No such container: {request.match_info['id']}") from None
    if qbool(request, "size"):
        info.update(await _call(request, _sizes, engine, cid, False))
    return reply(info)
