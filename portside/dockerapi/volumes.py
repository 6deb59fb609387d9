"""``/volumes``: create, list, inspect, remove and prune, over the engine's ``Volumes`` (the CLI's too)."""

from __future__ import annotations

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.dockerapi.errors import not_found
from portside.dockerapi.params import field, filters, json_body, qbool, reply, string_map
from portside.dockerapi.routing import Routes, api_version
from portside.engine.volumes import LIST_FILTERS, PRUNE_FILTERS, render
from portside.runtime.errors import VolumeNotFound

routes = Routes()


@routes.post("/volumes/create")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    name = field(body, "Name", str, "")
    driver = field(body, "Driver", str, "")
    options = string_map(body, "DriverOpts")
    labels = string_map(body, "Labels")
    volumes = backend(request).engine.volumes
    record = await backend(request).call(volumes.create, name, labels, options, driver=driver)
    return reply(render(record, volumes.mountpoint(record.name)), 201)


@routes.get("/volumes")
async def list_volumes(request: web.Request) -> web.Response:
    wanted = filters(request, LIST_FILTERS)
    volumes = backend(request).engine.volumes
    records = await backend(request).call(volumes.select, wanted)
    return reply({"Volumes": [render(v, volumes.mountpoint(v.name)) for v in records], "Warnings": None})


@routes.get("/volumes/{name}")
async def inspect(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    volumes = backend(request).engine.volumes
    try:
        return reply(await backend(request).call(volumes.inspect, name))
    except VolumeNotFound:
        raise not_found(f"get {name}: no such volume") from None


@routes.delete("/volumes/{name}")
async def remove(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    force = qbool(request, "force")
    volumes = backend(request).engine.volumes
    try:
        await backend(request).call(volumes.remove, name, force)
    except VolumeNotFound:
        if force:
            return web.Response(status=204)
        raise not_found(f"get {name}: no such volume") from None
    return web.Response(status=204)


@routes.post("/volumes/prune")
async def prune(request: web.Request) -> web.Response:
    """From API 1.42 on, docker prunes only anonymous volumes unless the ``all`` filter says otherwise."""
    wanted = filters(request, PRUNE_FILTERS)
    volumes = backend(request).engine.volumes
    removed, freed = await backend(request).call(volumes.prune, wanted, api_version(request) >= (1, 42))
    return reply({"VolumesDeleted": removed, "SpaceReclaimed": freed})
