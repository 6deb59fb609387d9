"""``metrics.k8s.io/v1beta1`` on an in-process API server: discovery in both forms, the objects' shape from an
agent's summary (units as metrics-server's), nodes that cannot be scraped left out, and refusals (other verbs,
bad selectors, unknown paths). Live usage from real agents is tests/agent/test_top.py."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
from support.net import free_port

from portside.apiserver import APIServer, ServerConfig, metricsapi
from portside.apiserver.discovery import AGGREGATED

BASE = "/apis/metrics.k8s.io/v1beta1"


@contextlib.asynccontextmanager
async def running(tmp_path):
    port = free_port()
    server = APIServer(ServerConfig(str(tmp_path), port=port, insecure_http=True))
    await server.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            yield http
    finally:
        await server.stop()


def run(coro):
    return asyncio.run(coro)


def test_discovery_lists_the_group_in_both_forms(tmp_path):
    async def body():
        async with running(tmp_path) as http:
            async with http.get("/apis", headers={"Accept": AGGREGATED}) as resp:
                groups = {g["metadata"]["name"]: g for g in (await resp.json())["items"]}
            [version] = groups["metrics.k8s.io"]["versions"]
            kinds = {r["resource"]: (r["scope"], r["responseKind"]["kind"]) for r in version["resources"]}
            assert kinds == {"nodes": ("Cluster", "NodeMetrics"), "pods": ("Namespaced", "PodMetrics")}
            async with http.get("/apis") as resp:
                assert "metrics.k8s.io" in [g["name"] for g in (await resp.json())["groups"]]
            async with http.get("/apis/metrics.k8s.io") as resp:
                assert (await resp.json())["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1"
            async with http.get(BASE) as resp:
                assert {r["name"]: r["verbs"] for r in (await resp.json())["resources"]} == {
                    "nodes": ["get", "list"], "pods": ["get", "list"]}
    run(body())


def test_lists_are_empty_without_agents_and_unscrapable_nodes_are_left_out(tmp_path):
    closed = free_port()  # nothing listens there: the node is left out, not an error
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
    status = {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                         "daemonEndpoints": {"kubeletEndpoint": {"Port": closed}}}}

    async def body():
        async with running(tmp_path) as http:
            async with http.post("/api/v1/nodes", json=node) as resp:
                assert resp.status == 201
            async with http.patch("/api/v1/nodes/n1/status", data=json.dumps(status),
                                  headers={"Content-Type": "application/merge-patch+json"}) as resp:
                assert resp.status == 200
            for path, kind in ((f"{BASE}/nodes", "NodeMetricsList"), (f"{BASE}/pods", "PodMetricsList"),
                               (f"{BASE}/namespaces/default/pods", "PodMetricsList")):
                async with http.get(path) as resp:
                    got = await resp.json()
                    assert (resp.status, got["kind"], got["items"]) == (200, kind, []), path
            async with http.get(f"{BASE}/nodes/n1") as resp:
                assert resp.status == 404
                assert (await resp.json())["message"] == 'nodes.metrics.k8s.io "n1" not found'
    run(body())


def test_refusals_name_what_is_wrong(tmp_path):
    async def body():
        async with running(tmp_path) as http:
            async with http.post(f"{BASE}/namespaces/default/pods", json={}) as resp:
                assert resp.status == 405 and "only get and list" in (await resp.json())["message"]
            async with http.get(f"{BASE}/pods", params={"labelSelector": "a in (b"}) as resp:
                assert resp.status == 400 and "labelSelector" in (await resp.json())["message"]
            for bad in (f"{BASE}/namespaces/default/nodes", f"{BASE}/deployments", f"{BASE}/pods/a/b"):
                async with http.get(bad) as resp:
                    assert resp.status == 404, bad
    run(body())


POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u1", "labels": {"app": "web"}},
       "spec": {"nodeName": "n1"}}
SUMMARY = {"node": {"nodeName": "n1", "cpu": {"time": "2026-01-01T00:00:00Z", "usageNanoCores": 1_500_000_000},
                    "memory": {"workingSetBytes": 2 << 30}},
           "pods": [{"podRef": {"name": "web", "namespace": "default", "uid": "u1"},
                     "containers": [{"name": "app", "cpu": {"time": "2026-01-01T00:00:00Z",
                                                             "usageNanoCores": 201_234_567},
                                     "memory": {"workingSetBytes": 5 * 1024 * 1024 + 100}}],
                     "cpu": {"time": "2026-01-01T00:00:00Z"}}],
           "windowSeconds": 10.02}


def test_pod_metrics_have_metrics_servers_shape_and_units():
    got = metricsapi.pod_metrics(POD, SUMMARY, "2026-01-01T00:00:05Z")
    assert got == {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                   "metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:05Z", "namespace": "default",
                                "labels": {"app": "web"}},
                   "timestamp": "2026-01-01T00:00:00Z", "window": "10.02s",
                   "containers": [{"name": "app", "usage": {"cpu": "201234567n", "memory": "5120Ki"}}]}


def test_a_pod_remade_under_its_name_has_no_metrics_of_the_old_one():
    remade = {**POD, "metadata": {**POD["metadata"], "uid": "u2"}}
    assert metricsapi.pod_metrics(remade, SUMMARY, "t") is None


def test_node_metrics_and_a_node_without_a_sample_yet():
    got = metricsapi.node_metrics({"metadata": {"name": "n1"}}, SUMMARY, "t")
    assert got["usage"] == {"cpu": "1500000000n", "memory": "2097152Ki"} and got["window"] == "10.02s"
    assert metricsapi.node_metrics({"metadata": {"name": "n1"}}, {"node": {"nodeName": "n1"}, "pods": []}, "t") is None
