"""``/networks``: user-defined bridge networks (create, list, inspect, remove, prune) and a container's
``connect``/``disconnect``, over the engine's ``Networks`` and ``Engine.connect``/``disconnect`` (the CLI's too).

What portside's networks do not have is refused naming the field: drivers other than ``bridge``, IPv6, more than
one IPAM pool, driver options.
"""

from __future__ import annotations

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.dockerapi.errors import ApiError, bad_parameter
from portside.dockerapi.params import field, filters, json_body, reply, string_map
from portside.dockerapi.routing import Routes
from portside.engine.networks import LIST_FILTERS
from portside.runtime.errors import Conflict

routes = Routes()

PRUNE_FILTERS = ("label", "label!", "until")


@routes.post("/networks/create")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, required=True)
    name = field(body, "Name", str, "")
    if not name:
        raise bad_parameter("invalid Name: a network needs a name")
    driver = field(body, "Driver", str, "") or "bridge"
    if driver != "bridge":
        raise bad_parameter(f"invalid Driver {driver!r}: portside's networks use the bridge driver only")
    for key in ("EnableIPv6", "Ingress", "ConfigOnly"):
        if field(body, key, bool, False):
            raise bad_parameter(f"{key} is not supported: portside's networks are IPv4 bridges on this host")
    if field(body, "Options", dict, {}):
        raise bad_parameter(f"invalid Options {body['Options']!r}: the bridge driver takes no options here")
    pool = _ipam(field(body, "IPAM", dict, {}))
    labels = string_map(body, "Labels", {})
    networks = backend(request).engine.networks
    record = await backend(request).call(networks.create, name, pool["Subnet"], pool["Gateway"],
                                         field(body, "Internal", bool, False), labels,
                                         attachable=field(body, "Attachable", bool, False),
                                         ip_range=pool["IPRange"], aux_addresses=pool["AuxiliaryAddresses"])
    return reply({"Id": record.id, "Warning": ""}, 201)


def _ipam(ipam: dict) -> dict:
    """The one pool portside's networks take: IPAM.Config[0]'s Subnet, Gateway, IPRange and AuxiliaryAddresses."""
    if (ipam.get("Driver") or "default") != "default":
        raise bad_parameter(f"invalid IPAM.Driver {ipam['Driver']!r}: only the default IPAM driver is supported")
    if ipam.get("Options"):
        raise bad_parameter("IPAM.Options are not supported")
    config = ipam.get("Config") or []
    if not isinstance(config, list) or not all(isinstance(c, dict) for c in config):
        raise bad_parameter("invalid IPAM.Config: expected a list of objects")
    if len(config) > 1:
        raise bad_parameter("invalid IPAM.Config: a network takes one pool (one Subnet)")
    pool = config[0] if config else {}
    out = {key: pool.get(key) or "" for key in ("Subnet", "Gateway", "IPRange")}
    aux = pool.get("AuxiliaryAddresses") or {}
    if not isinstance(aux, dict) or not all(isinstance(v, str) for v in aux.values()):
        raise bad_parameter("invalid IPAM.Config.AuxiliaryAddresses: expected an object of names to addresses")
    for key in ("Gateway", "IPRange"):
        if out[key] and not out["Subnet"]:
            raise bad_parameter(f"invalid IPAM.Config.{key}: it needs a Subnet")
    return {**out, "AuxiliaryAddresses": aux}


@routes.get("/networks")
async def list_networks(request: web.Request) -> web.Response:
    """docker's list: each network's inspect JSON, without its containers."""
    wanted = filters(request, LIST_FILTERS)
    networks = backend(request).engine.networks

    def listing() -> list[dict]:
        return [{**networks.inspect(r.id if not r.predefined else r.name), "Containers": {}}
                for r in networks.select(wanted)]
    return reply(await backend(request).call(listing))


@routes.get("/networks/{id}")
async def inspect(request: web.Request) -> web.Response:
    networks = backend(request).engine.networks
    return reply(await backend(request).call(networks.inspect, request.match_info["id"]))


@routes.delete("/networks/{id}")
async def remove(request: web.Request) -> web.Response:
    networks = backend(request).engine.networks
    record = await backend(request).call(networks.find, request.match_info["id"])
    if record.predefined:
        raise ApiError(403, f"{record.name} is a pre-defined network and cannot be removed")
    await backend(request).call(networks.remove, record.id)
    return web.Response(status=204)


@routes.post("/networks/{id}/connect")
async def connect(request: web.Request) -> web.Response:
    body = await json_body(request, required=True)
    container = _container(body)
    endpoint = field(body, "EndpointConfig", dict, {})
    aliases = field(endpoint, "Aliases", list, [])
    if not all(isinstance(a, str) for a in aliases):
        raise bad_parameter("invalid EndpointConfig.Aliases: expected a list of strings")
    ipam = field(endpoint, "IPAMConfig", dict, {})
    if ipam.get("IPv6Address") or ipam.get("LinkLocalIPs"):
        raise bad_parameter("EndpointConfig.IPAMConfig: only IPv4Address is supported")
    engine = backend(request).engine
    try:
        await backend(request).call(engine.connect, request.match_info["id"], container, tuple(aliases),
                                    ipam.get("IPv4Address") or "")
    except Conflict as exc:
        raise ApiError(403, str(exc)) from None  # docker's status for an endpoint that exists already
    return web.Response(status=200)


@routes.post("/networks/{id}/disconnect")
async def disconnect(request: web.Request) -> web.Response:
    body = await json_body(request, required=True)
    container = _container(body)
    field(body, "Force", bool, False)
    engine = backend(request).engine
    await backend(request).call(engine.disconnect, request.match_info["id"], container)
    return web.Response(status=200)


def _container(body: dict) -> str:
    container = field(body, "Container", str, "")
    if not container:
        raise bad_parameter("invalid Container: expected the container's id or name")
    return container


@routes.post("/networks/prune")
async def prune(request: web.Request) -> web.Response:
    wanted = filters(request, PRUNE_FILTERS)
    networks = backend(request).engine.networks
    keep = _keep(wanted)
    removed = await backend(request).call(networks.prune, keep)
    return reply({"NetworksDeleted": [r.name for r in removed] or None})


def _keep(wanted: dict[str, list[str]]):
    """The networks the prune filters spare: ``label`` (all must hold), ``label!`` (none may), ``until`` (made
    before that time)."""
    from portside.engine import filters as f
    from portside.engine.events import parse_time

    until = min((parse_time(u, "until") for u in wanted.get("until", [])), default=None)

    def keep(record) -> bool:
        if not f.labels_match(record.labels, wanted.get("label", [])):
            return True
        if not f.labels_exclude(record.labels, wanted.get("label!", [])):
            return True
        return until is not None and parse_time(record.created, "Created") > until
    return keep
