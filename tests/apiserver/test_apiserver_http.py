"""HTTP semantics on an in-process server: watch (initial state, bookmarks, 410, Table rows) and request errors."""

import asyncio
import contextlib
import json

import aiohttp
from support.net import free_port

from portside.apiserver import APIServer, ServerConfig


@contextlib.asynccontextmanager
async def running(tmp_path):
    port = free_port()
    server = APIServer(ServerConfig(str(tmp_path), port=port, insecure_http=True, bookmark_every_s=0.2))
    await server.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            yield server, http
    finally:
        await server.stop()


async def lines(http, path, params, count, headers=None):
    out = []
    async with http.get(path, params=params, headers=headers or {}) as resp:
        async for line in resp.content:
            out.append(json.loads(line))
            if len(out) == count:
                return out
    return out


def cm(name):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}


def test_initial_state_then_changes_then_bookmark(tmp_path):
    async def body():
        async with running(tmp_path) as (_, http):
            await (await http.post("/api/v1/namespaces/default/configmaps", json=cm("a"))).read()
            params = {"watch": "1", "allowWatchBookmarks": "true"}
            async with asyncio.timeout(10), http.get("/api/v1/namespaces/default/configmaps", params=params) as resp:
                events = [json.loads(await resp.content.readline())]  # the initial state: the watch is open
                await (await http.post("/api/v1/namespaces/default/configmaps", json=cm("b"))).read()
                while len(events) < 3:
                    events.append(json.loads(await resp.content.readline()))
            return events

    events = asyncio.run(body())
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
        ("ADDED", "a"), ("ADDED", "b"), ("BOOKMARK", None)]
    assert int(events[2]["object"]["metadata"]["resourceVersion"]) >= int(
        events[1]["object"]["metadata"]["resourceVersion"])


def test_compacted_revision_gets_410_error_event(tmp_path):
    async def body():
        async with running(tmp_path) as (server, http):
            made = await (await http.post("/api/v1/namespaces/default/configmaps", json=cm("a"))).json()
            await (await http.post("/api/v1/namespaces/default/configmaps", json=cm("b"))).read()
            await server.store.compact(await server.store.current_revision())
            params = {"watch": "1", "resourceVersion": made["metadata"]["resourceVersion"]}
            return await lines(http, "/api/v1/namespaces/default/configmaps", params, 1)

    (event,) = asyncio.run(body())
    assert event["type"] == "ERROR" and event["object"]["code"] == 410
    assert event["object"]["message"].startswith("too old resource version")


def test_table_watch_rows_carry_the_printer_columns(tmp_path):
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}

    async def body():
        async with running(tmp_path) as (_, http):
            await (await http.post("/api/v1/namespaces/default/configmaps", json=cm("a"))).read()
            return await lines(http, "/api/v1/namespaces/default/configmaps", {"watch": "1"}, 1, accept)

    (event,) = asyncio.run(body())
    table = event["object"]
    assert table["kind"] == "Table" and table["rows"][0]["cells"][0] == "a"
    assert [c["name"] for c in table["columnDefinitions"]][:2] == ["Name", "Data"]


def test_oversized_body_is_a_413_status(tmp_path):
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"k": "x" * 4_000_000}}

    async def body():
        async with running(tmp_path) as (_, http):
            async with http.post("/api/v1/namespaces/default/configmaps", json=big) as resp:
                return resp.status, await resp.json()

    status, answer = asyncio.run(body())
    assert status == 413 and answer["reason"] == "RequestEntityTooLarge" and answer["kind"] == "Status"


def test_update_naming_another_namespace_is_a_400(tmp_path):
    async def body():
        async with running(tmp_path) as (_, http):
            made = await (await http.post("/api/v1/namespaces/default/configmaps", json=cm("a"))).json()
            made["metadata"]["namespace"] = "kube-system"
            async with http.put("/api/v1/namespaces/default/configmaps/a", json=made) as resp:
                return resp.status, (await resp.json())["message"]

    status, message = asyncio.run(body())
    assert status == 400 and "does not match the namespace" in message


def test_list_at_an_exact_past_revision(tmp_path):
    async def body():
        async with running(tmp_path) as (_, http):
            await (await http.post("/api/v1/namespaces/default/configmaps", json=cm("a"))).read()
            then = (await (await http.get("/api/v1/namespaces/default/configmaps")).json())["metadata"]
            await (await http.post("/api/v1/namespaces/default/configmaps", json=cm("b"))).read()
            params = {"resourceVersion": then["resourceVersion"], "resourceVersionMatch": "Exact"}
            past = await (await http.get("/api/v1/namespaces/default/configmaps", params=params)).json()
            bad = await http.get("/api/v1/namespaces/default/configmaps", params={"resourceVersionMatch": "Exact"})
            return [i["metadata"]["name"] for i in past["items"]], past["metadata"], bad.status

    names, meta, bad = asyncio.run(body())
    assert names == ["a"] and bad == 400


async def raw(http, method, path, **kwargs):
    async with http.request(method, path, **kwargs) as resp:
        return resp.status, await resp.read()


def test_error_bodies_are_the_bytes_kubernetes_sends(tmp_path):
    """Compact JSON in Status's field order, empty optional fields left out, one trailing newline."""
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}
    deployment = "/apis/apps/v1/namespaces/default/deployments/gone"

    async def body():
        async with running(tmp_path) as (_, http):
            return [await raw(http, "GET", "/api/v1/namespaces/default/pods/gone"),
                    await raw(http, "GET", deployment),
                    await raw(http, "POST", "/api/v1/namespaces/default/configmaps", json=bad)]

    (missing_pod, missing_deployment, invalid) = asyncio.run(body())
    assert missing_pod == (404, b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                                b'"message":"pods \\"gone\\" not found","reason":"NotFound",'
                                b'"details":{"name":"gone","kind":"pods"},"code":404}\n')
    assert missing_deployment == (404, b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                                       b'"message":"deployments.apps \\"gone\\" not found","reason":"NotFound",'
                                       b'"details":{"name":"gone","group":"apps","kind":"deployments"},"code":404}\n')
    code, text = invalid
    assert code == 422 and text.endswith(b'"code":422}\n') and b"\n" not in text[:-1]
    status = json.loads(text)
    assert list(status) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
    assert list(status["details"]) == ["name", "kind", "causes"]
    assert [list(c) for c in status["details"]["causes"]] == [["reason", "message", "field"]]
