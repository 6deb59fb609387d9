"""``metrics.k8s.io/v1beta1``: PodMetrics and NodeMetrics, served as metrics-server serves them, so that stock
``kubectl top pods`` and ``kubectl top nodes`` work.

Theory of operation. Every node's agent samples its containers once a period and serves the latest sample at
``/stats/summary`` (the kubelet's Summary API shape) on the address its Node publishes, over TLS both ways
(``agents``). This module pulls those summaries from every node, joined ones included, as metrics-server
scrapes kubelets: the API server already reaches agents that way for logs and exec, so no agent writes usage
into the store (which would turn every period of every node into a write and a watch event). A
node's summary is kept for ``CACHE_S`` so that a burst of requests costs one scrape; a node that does not answer
within ``SCRAPE_TIMEOUT_S`` is left out, as metrics-server leaves out a node it cannot scrape.

Objects carry their pod's or node's name, namespace and labels; ``labelSelector`` filters on those labels. Units
follow metrics-server: CPU in nanocores (``"1234567n"``), memory in kibibytes (``"2048Ki"``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from portside import api
from portside.apiserver import errors
from portside.apiserver.agents import AgentClient, endpoint
from portside.apiserver.auth import USER
from portside.apiserver.objects import list_prefix
from portside.apiserver.registry import Registry

log = logging.getLogger("portside.apiserver.metrics")
GROUP, VERSION = "metrics.k8s.io", "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
CACHE_S = 2.0
SCRAPE_TIMEOUT_S = 5.0
VERBS = ["get", "list"]
NODES, PODS = api.lookup("", "v1", "nodes"), api.lookup("", "v1", "pods")


@dataclass(frozen=True)
class Kind:
    plural: str
    kind: str
    namespaced: bool


KINDS = (Kind("nodes", "NodeMetrics", False), Kind("pods", "PodMetrics", True))


# -- discovery (what /apis, /apis/metrics.k8s.io and /apis/metrics.k8s.io/v1beta1 say) -------------------------

def resource_list() -> dict[str, Any]:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION, "resources": [
        {"name": k.plural, "singularName": "", "namespaced": k.namespaced, "kind": k.kind, "verbs": VERBS}
        for k in KINDS]}


def aggregated_group() -> dict[str, Any]:
    """This group's entry in the aggregated ``APIGroupDiscoveryList`` of ``/apis``."""
    return {"metadata": {"name": GROUP}, "versions": [{"version": VERSION, "freshness": "Current", "resources": [
        {"resource": k.plural, "singularResource": "", "verbs": VERBS,
         "scope": "Namespaced" if k.namespaced else "Cluster",
         "responseKind": {"group": GROUP, "version": VERSION, "kind": k.kind}} for k in KINDS]}]}


# -- the objects, from summaries (pure) ----------------------------------------------------------------------

def cpu(nanocores: int) -> str:
    return f"{max(0, int(nanocores))}n"


def memory(working_set: int) -> str:
    return f"{max(0, int(working_set)) // 1024}Ki"


def _usage(stats: dict[str, Any]) -> dict[str, str]:
    return {"cpu": cpu((stats.get("cpu") or {}).get("usageNanoCores", 0)),
            "memory": memory((stats.get("memory") or {}).get("workingSetBytes", 0))}


def _window(summary: dict[str, Any]) -> str:
    return f"{float(summary.get('windowSeconds', 0)):g}s"


def _meta(obj: dict[str, Any], stamp: str) -> dict[str, Any]:
    source = obj.get("metadata") or {}
    out = {"name": source.get("name", ""), "creationTimestamp": stamp}
    if source.get("namespace"):
        out["namespace"] = source["namespace"]
    if source.get("labels"):
        out["labels"] = source["labels"]
    return out


def node_metrics(node: dict[str, Any], summary: dict[str, Any], stamp: str) -> dict[str, Any] | None:
    """A NodeMetrics from the node's object and its summary; None while the agent has no sample yet."""
    stats = summary.get("node") or {}
    if "cpu" not in stats:
        return None
    return {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(node, stamp),
            "timestamp": stats["cpu"].get("time", stamp), "window": _window(summary), "usage": _usage(stats)}


def pod_metrics(pod: dict[str, Any], summary: dict[str, Any], stamp: str) -> dict[str, Any] | None:
    """A PodMetrics from the pod's object and its node's summary; None when the summary has no sample of it
    (the uid must match: a pod deleted and made anew under its name is a different pod)."""
    meta = pod.get("metadata") or {}
    found = next((p for p in summary.get("pods") or []
                  if (p.get("podRef") or {}).get("uid") == meta.get("uid")), None)
    if found is None or not found.get("containers"):
        return None
    return {"kind": "PodMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(pod, stamp),
            "timestamp": (found.get("cpu") or {}).get("time", stamp), "window": _window(summary),
            "containers": [{"name": c["name"], "usage": _usage(c)} for c in found["containers"]]}


# -- scraping the agents ---------------------------------------------------------------------------------------

class Scraper:
    """Summaries of the nodes' agents, each kept ``CACHE_S``; concurrent asks for one node share one request."""

    def __init__(self, agents: AgentClient) -> None:
        self.agents = agents
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._pending: dict[str, asyncio.Future] = {}

    async def summaries(self, nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Node name -> summary, for the nodes that answered."""
        names = [(n.get("metadata") or {}).get("name", "") for n in nodes]
        got = await asyncio.gather(*(self.summary(name, node) for name, node in zip(names, nodes)))
        return {name: s for name, s in zip(names, got) if s is not None}

    async def summary(self, name: str, node: dict[str, Any]) -> dict[str, Any] | None:
        cached = self._cache.get(name)
        if cached and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        pending = self._pending.get(name)
        if pending is None:
            pending = self._pending[name] = asyncio.ensure_future(self._fetch(name, node))
            pending.add_done_callback(lambda _: self._pending.pop(name, None))
        return await asyncio.shield(pending)

    async def _fetch(self, name: str, node: dict[str, Any]) -> dict[str, Any] | None:
        to = endpoint(node)
        if to is None:
            return None
        try:
            timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT_S)
            async with aiohttp.ClientSession(timeout=timeout) as session, \
                    self.agents.get(session, to, "/stats/summary") as resp:
                resp.raise_for_status()
                body = await resp.json()
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            log.info("metrics: node %s (%s) did not answer: %s", name, to.url, exc)
            self._cache.pop(name, None)
            return None
        self._cache[name] = (time.monotonic(), body)
        return body


# -- the handlers ---------------------------------------------------------------------------------------------

class MetricsAPI:
    def __init__(self, registry: Registry, agents: AgentClient) -> None:
        self.registry = registry
        self.scraper = Scraper(agents)

    def routes(self, app: web.Application) -> None:
        """Registered before the ``/apis/{tail}`` catch-all, which would look the group up among stored kinds."""
        app.router.add_route("*", f"/apis/{GROUP}/{VERSION}/{{tail:.*}}", self.serve)

    async def serve(self, request: web.Request) -> web.Response:
        parts = [p for p in request.match_info["tail"].split("/") if p]
        namespace = ""
        if len(parts) >= 3 and parts[0] == "namespaces" and parts[2] == "pods":
            namespace, parts = parts[1], parts[2:]
        if not parts or parts[0] not in ("nodes", "pods") or len(parts) > 2 or (parts[0] == "nodes" and namespace):
            raise errors.route_not_found(request.path)
        kind = next(k for k in KINDS if k.plural == parts[0])
        if request.method not in ("GET", "HEAD"):
            raise errors.ApiError(405, "MethodNotAllowed",
                                  f"{request.method} is not supported on {kind.plural}.{GROUP}: only get and list")
        user = request.get(USER)
        if user is not None and user.node:
            raise errors.forbidden(f'User "{user.name}" cannot read {kind.plural}.{GROUP}: nodes read no metrics')
        selector = _selector(request.query.get("labelSelector"))
        items = await self._items(kind, namespace, parts[1] if len(parts) == 2 else "", selector)
        if len(parts) == 2:
            if not items:
                raise errors.ApiError(404, "NotFound", f'{kind.plural}.{GROUP} "{parts[1]}" not found',
                                      {"name": parts[1], "group": GROUP, "kind": kind.plural})
            return _json(items[0])
        return _json({"kind": f"{kind.kind}List", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items})

    async def _items(self, kind: Kind, namespace: str, name: str, selector: api.Selector) -> list[dict]:
        nodes = await self.objects(NODES, "")
        stamp = _now()
        if kind.plural == "nodes":
            wanted = [n for n in nodes if _picked(n, name, selector)]
            summaries = await self.scraper.summaries(wanted)
            made = (node_metrics(n, summaries.get(n["metadata"]["name"], {}), stamp) for n in wanted)
            return [m for m in made if m is not None]
        pods = [p for p in await self.objects(PODS, namespace) if _picked(p, name, selector)]
        hosts = {(p.get("spec") or {}).get("nodeName") for p in pods}
        summaries = await self.scraper.summaries([n for n in nodes if n["metadata"]["name"] in hosts])
        made = (pod_metrics(p, summaries.get((p.get("spec") or {}).get("nodeName"), {}), stamp) for p in pods)
        return [m for m in made if m is not None]

    async def objects(self, info: api.ResourceInfo, namespace: str) -> list[dict[str, Any]]:
        listed = await self.registry.store.list(list_prefix(info, namespace))
        return [json.loads(kv.value) for kv in listed.items]


def _picked(obj: dict[str, Any], name: str, selector: api.Selector) -> bool:
    meta = obj.get("metadata") or {}
    return (not name or meta.get("name") == name) and selector.matches(meta.get("labels") or {})


def _selector(text: str | None) -> api.Selector:
    try:
        return api.label_selector(text)
    except api.SelectorError as exc:
        raise errors.bad_request(f"labelSelector: {exc}") from None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _json(obj: dict[str, Any]) -> web.Response:
    return web.Response(body=json.dumps(obj, separators=(",", ":")).encode(), content_type="application/json")
