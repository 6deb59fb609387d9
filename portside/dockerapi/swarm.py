"""Swarm mode's endpoints, answered as dockerd answers them on a node that is in no swarm (``/info`` says
``LocalNodeState: inactive``): clients probe them and branch on the status. docker-py's ``leave_swarm(force=True)``
counts 503 as "already out" (its test suites call it in every network test's tear-down); ``docker node ls`` prints
the message. Joining or making a swarm is refused with a clear error: portside's cluster is the Kubernetes API
(``portside up``), not swarm mode.
"""

from __future__ import annotations

from aiohttp import web

from portside.dockerapi.errors import ApiError
from portside.dockerapi.routing import Routes

routes = Routes()

NOT_A_MANAGER = ("This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect "
                 "this node to swarm and try again.")  # dockerd's words
NO_SWARM_MODE = ("swarm mode is not available: portside's cluster is the Kubernetes API (portside up, kubectl), "
                 "not docker swarm")


@routes.post("/swarm/init")
@routes.post("/swarm/join")
async def refuse_swarm(request: web.Request) -> web.Response:
    raise ApiError(501, NO_SWARM_MODE)


@routes.post("/swarm/leave")
async def leave(request: web.Request) -> web.Response:
    raise ApiError(503, "This node is not part of a swarm")


async def not_a_manager(request: web.Request) -> web.Response:
    raise ApiError(503, NOT_A_MANAGER)


for _path in ("/swarm", "/swarm/unlockkey", "/nodes", "/nodes/{id}", "/services", "/services/{id}",
              "/services/{id}/logs", "/tasks", "/tasks/{id}", "/tasks/{id}/logs", "/secrets", "/secrets/{id}",
              "/configs", "/configs/{id}"):
    routes.get(_path)(not_a_manager)
for _path in ("/swarm/update", "/swarm/unlock", "/nodes/{id}/update", "/services/create", "/services/{id}/update",
              "/secrets/create", "/secrets/{id}/update", "/configs/create", "/configs/{id}/update"):
    routes.post(_path)(not_a_manager)
for _path in ("/nodes/{id}", "/services/{id}", "/secrets/{id}", "/configs/{id}"):
    routes.delete(_path)(not_a_manager)
