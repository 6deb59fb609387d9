"""``GET /containers/{id}/stats``: docker's stats JSON from the engine's usage samples (``engine.stats``), one a
second when streamed, or one with the previous second's CPU beside it (``precpu_stats``), which is what
``docker stats --no-stream`` computes its CPU % from; ``one-shot`` skips that second.

The field order is dockerd's (a client that prints the JSON shows it in that order). A container that does not
run reports docker's empty sample: zero times and counters, its name and id.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.dockerapi.params import qbool
from portside.dockerapi.routing import Routes
from portside.engine.model import ZERO_TIME
from portside.runtime.cgroups import host_memory, unified
from portside.runtime.errors import ContainerNotFound

routes = Routes()

INTERVAL_S = 1.0  # dockerd's collection interval
BLKIO_KEYS = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
              "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
              "sectors_recursive")


@routes.get("/containers/{id}/stats")
async def stats(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    record = await b.call(b.engine.record, request.match_info["id"])
    stream, one_shot = qbool(request, "stream", True), qbool(request, "one-shot")
    name, cid = f"/{record.name}", record.id
    first = await b.call(b.engine.stats, cid)
    if not stream:
        if first.stats is None or one_shot:
            return _json(render(first, None, name, cid))
        await asyncio.sleep(INTERVAL_S)
        return _json(render(await b.call(b.engine.stats, cid), first, name, cid))
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    previous = None
    try:
        while True:
            sample = first if previous is None else await b.call(b.engine.stats, cid)
            await response.write(json.dumps(render(sample, previous, name, cid)).encode() + b"\n")
            previous = sample
            await asyncio.sleep(INTERVAL_S)
    except (ConnectionResetError, ContainerNotFound):  # the client left, or the container was removed
        return response


def _json(body: dict) -> web.Response:
    return web.Response(body=json.dumps(body).encode() + b"\n", headers={"Content-Type": "application/json"})


def render(sample, previous, name: str, cid: str) -> dict:
    """One stats object; ``previous`` (a sample a second older, or None) fills ``preread`` and ``precpu_stats``."""
    s = sample.stats
    running = s is not None
    before = previous if previous is not None and previous.stats is not None else None
    body = {"read": sample.read if running else ZERO_TIME, "preread": before.read if before else ZERO_TIME,
            "pids_stats": _pids(s) if running else {},
            "blkio_stats": _blkio(s) if running else dict.fromkeys(BLKIO_KEYS),
            "num_procs": 0, "storage_stats": {},
            "cpu_stats": _cpu(sample) if running else _no_cpu(), "precpu_stats": _cpu(before) if before else _no_cpu(),
            "memory_stats": _memory(s, sample) if running else {}, "name": name, "id": cid}
    if running and sample.networks:
        body["networks"] = {name: counters.to_json() for name, counters in sample.networks.items()}
    return body


def _no_cpu() -> dict:
    return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def _cpu(sample) -> dict:
    s = sample.stats
    usage = {"total_usage": s.cpu_usage_ns}
    if s.cpu_percpu_ns:
        usage["percpu_usage"] = list(s.cpu_percpu_ns)
    usage.update(usage_in_kernelmode=s.cpu_system_ns, usage_in_usermode=s.cpu_user_ns)
    return {"cpu_usage": usage, "system_cpu_usage": sample.system_cpu_ns, "online_cpus": sample.online_cpus,
            "throttling_data": {"periods": s.throttling.periods, "throttled_periods": s.throttling.throttled_periods,
                                "throttled_time": s.throttling.throttled_ns}}


def _memory(s, sample) -> dict:
    """Go's omitempty: zero counters are left out. The limit is the host's memory when none is set (or a
    larger one), as dockerd reports it."""
    host = host_memory()
    out = {"usage": s.memory_usage, "max_usage": s.memory_max_usage, "stats": s.memory_stat,
           "failcnt": s.memory_failcnt, "limit": min(s.memory_limit or host, host)}
    return {key: value for key, value in out.items() if value}


def _pids(s) -> dict:
    return {key: value for key, value in (("current", s.pids), ("limit", s.pids_limit)) if value}


def _blkio(s) -> dict:
    """dockerd's: on cgroup v1 every list is there (empty when the kernel counts none of it); v2 has only the
    bytes per device, the rest null."""
    def entries(found) -> list[dict]:
        return [{"major": e.major, "minor": e.minor, "op": e.op, "value": e.value} for e in found]

    if unified():
        return {**dict.fromkeys(BLKIO_KEYS), "io_service_bytes_recursive": entries(s.io_bytes) or None}
    out = {key: [] for key in BLKIO_KEYS}
    out.update(io_service_bytes_recursive=entries(s.io_bytes), io_serviced_recursive=entries(s.io_ops))
    return out
