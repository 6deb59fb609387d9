"""``/swarm``: portside has no swarm mode. Its endpoints answer as a dockerd that is not part of a swarm does, so
that clients which leave a swarm to be sure (docker-py's tests do, in every network test's tear-down) go on, and
those that would start one learn why they cannot."""

from __future__ import annotations

from aiohttp import web

from portside.dockerapi.errors import ApiError
from portside.dockerapi.routing import Routes

routes = Routes()

NOT_A_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this '
                 "node to swarm and try again.")
NO_SWARM_MODE = "portside has no swarm mode: services, stacks, secrets and configs are not supported"


@routes.get("/swarm")
async def inspect(request: web.Request) -> web.Response:
    raise ApiError(503, NOT_A_MANAGER)


@routes.post("/swarm/leave")
async def leave(request: web.Request) -> web.Response:
    raise ApiError(503, "This node is not part of a swarm")


@routes.post("/swarm/init")
@routes.post("/swarm/join")
@routes.post("/swarm/update")
@routes.post("/swarm/unlock")
async def refuse(request: web.Request) -> web.Response:
    raise ApiError(501, NO_SWARM_MODE)
