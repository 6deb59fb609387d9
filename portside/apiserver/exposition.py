"""``GET /metrics``: the Prometheus text exposition of the API server (``prometheus_client`` renders it).

Theory of operation. Two kinds of series:

- instruments kept in the process's default ``prometheus_client`` registry and counted as things happen: API
  requests by verb, group, resource and code with their latencies (the middleware here), store operations and
  their latencies (``TimedStore`` around the store), and whatever the other components of ``portside up`` that
  share this process register there (scheduling attempts, work-queue depths);
- cluster state read at scrape time: container, pod and node usage from the agents' latest samples (the same
  summaries ``metrics.k8s.io`` serves, through its cache), and the service proxy's per-endpoint connections,
  bytes and errors from the ConfigMap it publishes.

Names follow kube-apiserver's (``apiserver_request_total``, ``apiserver_request_duration_seconds``) and cAdvisor's
(``container_cpu_usage_seconds_total`` is cumulative there; here the sampled rate is a gauge,
``container_cpu_usage_cores``). ``/metrics`` needs a token like every other path; the read-only one suffices.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from portside import api
from portside.apiserver import errors
from portside.apiserver.auth import USER
from portside.apiserver.objects import key
from portside.metrics.loopmetrics import LoopCounter, LoopHistogram

# Counted on every request and store operation: lock-free families (see loopmetrics), on the event loop's thread.
REQUESTS = LoopCounter("apiserver_request_total", "API requests by verb, group, resource and HTTP code.",
                       ["verb", "group", "resource", "code"])
LATENCY = LoopHistogram("apiserver_request_duration_seconds", "API request latency by verb, group and resource "
                        "(a WATCH counts until it ends).", ["verb", "group", "resource"],
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60))
STORE = LoopHistogram("portside_store_operation_duration_seconds", "Store operation latency by operation.",
                      ["operation"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
TIMED_OPS = frozenset({"get", "list", "count", "commit", "create", "update", "delete", "current_revision",
                       "compact"})
PROXY_CONFIGMAP = ("kube-system", "portside-proxy-metrics")
# The classic text format generate_latest writes; newer clients label it 1.0.0, which Prometheus 2 does not know.
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


def classify(method: str, path: str, query: dict[str, str]) -> tuple[str, str, str]:
    """(verb, group, resource) of a request, as kube-apiserver labels it; ("", "", "") outside the resource tree."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return "", "", ""
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]
    if not rest:
        return "", "", ""
    named = len(rest) >= 2
    resource = "/".join((rest[0], rest[2])) if len(rest) >= 3 else rest[0]
    verb = {"POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "HEAD": "GET"}.get(method, method)
    if method in ("GET", "HEAD"):
        verb = "WATCH" if query.get("watch") in ("1", "true") else ("GET" if named else "LIST")
    elif method == "DELETE" and not named:
        verb = "DELETECOLLECTION"
    return verb, group, resource


def middleware():
    """Counts and times every request in the resource tree; placed outside the error middleware so the codes of
    refusals (401, 404, 409...) are counted as sent."""
    @web.middleware
    async def measure(request: web.Request, handler):
        verb, group, resource = classify(request.method, request.path, dict(request.query))
        if not verb:
            return await handler(request)
        start, code = time.monotonic(), 500
        try:
            response = await handler(request)
            code = response.status
            return response
        except web.HTTPException as exc:
            code = exc.status
            raise
        finally:
            counted = (verb, group, resource, code)
            child = children.get(counted)
            if child is None:  # resolved once per series
                child = children[counted] = (REQUESTS.child(verb, group, resource, str(code)),
                                             LATENCY.child(verb, group, resource))
            child[0]()
            child[1](time.monotonic() - start)
    children: dict[tuple, tuple] = {}
    return measure


class TimedStore:
    """The store with each operation's latency observed; everything else passes through unchanged."""

    def __init__(self, store) -> None:
        self._store = store
        for name in TIMED_OPS:  # wrapped once here, not on every call (the API server's hot path)
            if hasattr(store, name):
                setattr(self, name, _timed(getattr(store, name), STORE.child(name)))

    def __getattr__(self, name: str):  # only what __init__ did not wrap
        return getattr(self._store, name)


def _timed(operation, observe):
    async def timed(*args, **kwargs):
        start = time.monotonic()
        try:
            return await operation(*args, **kwargs)
        finally:
            observe(time.monotonic() - start)
    return timed


class _Families:
    """A collector of families built for one scrape (``generate_latest`` takes anything with ``collect``)."""

    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self):
        return iter(self.families)


def usage_families(summaries: dict[str, dict[str, Any]]) -> list:
    """Node, pod and container usage gauges from the agents' summaries."""
    node_cpu = GaugeMetricFamily("node_cpu_usage_cores", "Node CPU in use (cores, sampled rate).", labels=["node"])
    node_mem = GaugeMetricFamily("node_memory_working_set_bytes", "Node memory in use.", labels=["node"])
    pod_cpu = GaugeMetricFamily("pod_cpu_usage_cores", "Pod CPU (cores, sampled rate).",
                                labels=["node", "namespace", "pod"])
    pod_mem = GaugeMetricFamily("pod_memory_working_set_bytes", "Pod memory working set.",
                                labels=["node", "namespace", "pod"])
    c_cpu = GaugeMetricFamily("container_cpu_usage_cores", "Container CPU (cores, sampled rate).",
                              labels=["node", "namespace", "pod", "container"])
    c_mem = GaugeMetricFamily("container_memory_working_set_bytes", "Container memory working set.",
                              labels=["node", "namespace", "pod", "container"])
    for node, summary in sorted(summaries.items()):
        stats = summary.get("node") or {}
        if "cpu" in stats:
            node_cpu.add_metric([node], _cores(stats))
            node_mem.add_metric([node], _bytes(stats))
        for pod in summary.get("pods") or []:
            ref = pod.get("podRef") or {}
            labels = [node, ref.get("namespace", ""), ref.get("name", "")]
            pod_cpu.add_metric(labels, sum(_cores(c) for c in pod.get("containers") or []))
            pod_mem.add_metric(labels, sum(_bytes(c) for c in pod.get("containers") or []))
            for c in pod.get("containers") or []:
                c_cpu.add_metric([*labels, c.get("name", "")], _cores(c))
                c_mem.add_metric([*labels, c.get("name", "")], _bytes(c))
    return [node_cpu, node_mem, pod_cpu, pod_mem, c_cpu, c_mem]


def _cores(stats: dict[str, Any]) -> float:
    return (stats.get("cpu") or {}).get("usageNanoCores", 0) / 1e9


def _bytes(stats: dict[str, Any]) -> float:
    return float((stats.get("memory") or {}).get("workingSetBytes", 0))


def proxy_families(data: dict[str, str]) -> list:
    """Per-endpoint counters of the service proxy, from its published ConfigMap's data."""
    labels = ["namespace", "service", "endpoint", "plane"]
    conns = CounterMetricFamily("portside_proxy_endpoint_connections", "Connections to a Service endpoint.",
                                labels=labels)
    active = GaugeMetricFamily("portside_proxy_endpoint_active_connections", "Open connections now.",
                               labels=labels)
    sent = CounterMetricFamily("portside_proxy_endpoint_bytes", "Bytes through an endpoint by direction.",
                               labels=[*labels, "direction"])
    failed = CounterMetricFamily("portside_proxy_endpoint_errors", "Failed connects to an endpoint.", labels=labels)
    for data_key, text in sorted(data.items()):
        namespace, _, service = data_key.partition(".")
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        for name, m in sorted((doc.get("endpoints") or {}).items()):
            endpoint = name.rsplit("/", 1)[0]
            values = [namespace, service, endpoint, m.get("plane", "")]
            conns.add_metric(values, m.get("connections", 0))
            active.add_metric(values, m.get("active", 0))
            sent.add_metric([*values, "in"], m.get("bytes_in", 0))
            sent.add_metric([*values, "out"], m.get("bytes_out", 0))
            failed.add_metric(values, m.get("errors", 0))
    return [conns, active, sent, failed]


class Exposition:
    def __init__(self, registry, metrics_api) -> None:
        """``registry``: the API's registry (the proxy's ConfigMap is read from its store); ``metrics_api``: the
        metrics.k8s.io handler, whose scraper and node listing give the usage series."""
        self.registry, self.metrics_api = registry, metrics_api

    async def serve(self, request: web.Request) -> web.Response:
        user = request.get(USER)
        if user is not None and user.node:
            raise errors.forbidden(f'User "{user.name}" cannot get path "/metrics"')
        nodes = await self.metrics_api.objects(api.lookup("", "v1", "nodes"), "")
        summaries = await self.metrics_api.scraper.summaries(nodes)
        families = usage_families(summaries) + proxy_families(await self._proxy_data())
        body = generate_latest(REGISTRY) + generate_latest(_Families(families))
        return web.Response(body=body, headers={"Content-Type": TEXT_FORMAT})

    async def _proxy_data(self) -> dict[str, str]:
        namespace, name = PROXY_CONFIGMAP
        kv = await self.registry.store.get(key(api.lookup("", "v1", "configmaps"), namespace, name))
        return (json.loads(kv.value).get("data") or {}) if kv else {}
