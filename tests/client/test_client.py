"""portside.client against a real API server: verbs, typed errors, and a watch that never misses."""

import asyncio
import contextlib

import pytest
from support.net import free_port

from portside.api import models
from portside.apiserver import APIServer, ServerConfig
from portside.client import AlreadyExists, Client, ClientConfig, Conflict, Invalid, NotFound, resource


def cm(name, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_resource_names_resolve_like_kubectl():
    assert resource("deploy").plural == "deployments" and resource("deployments.apps").group == "apps"
    assert resource("Pod").plural == "pods" and resource("pc").group == "scheduling.k8s.io"
    with pytest.raises(ValueError, match="unknown resource 'gizmos'"):
        resource("gizmos")


def test_verbs_and_errors_over_tls_with_the_kubeconfig(cluster):
    async def body():
        async with Client.from_kubeconfig(cluster.kubeconfig) as c:
            await c.create("namespaces", {"metadata": {"name": "client-verbs"}})
            made = await c.create("configmaps", cm("a", k="1"), "client-verbs")
            with pytest.raises(AlreadyExists):
                await c.create("configmaps", cm("a"), "client-verbs")
            assert isinstance(made, models.ConfigMap) and made.metadata.namespace == "client-verbs"
            patched = await c.patch("configmaps", "a", {"data": {"j": "2"}}, "client-verbs")
            assert patched.data == {"k": "1", "j": "2"}
            made.data = {"stale": "x"}
            with pytest.raises(Conflict):
                await c.update("configmaps", made)
            listed = await c.list("configmaps", "client-verbs")
            mine = [m.metadata.name for m in listed.items if m.metadata.name != "kube-root-ca.crt"]  # every ns has it
            assert mine == ["a"] and listed.resource_version
            raw = await c.raw.get("configmaps", "a", "client-verbs")
            assert raw["data"] == patched.data and raw == patched.to_dict()
            with pytest.raises(Invalid) as bad:
                await c.create("configmaps", cm("Not_Valid"), "client-verbs")
            assert bad.value.causes[0]["field"] == "metadata.name"
            await c.delete("configmaps", "a", "client-verbs")
            with pytest.raises(NotFound):
                await c.get("configmaps", "a", "client-verbs")
    asyncio.run(body())


@contextlib.asynccontextmanager
async def server(data_dir, port):
    s = APIServer(ServerConfig(str(data_dir), port=port, insecure_http=True))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


def test_watch_from_a_revision_with_known_objects_reports_deletions_in_a_compacted_gap(tmp_path):
    port = free_port()

    async def body():
        client = Client(ClientConfig(f"http://127.0.0.1:{port}"))
        async with server(tmp_path, port) as s:
            await client.create("configmaps", cm("a"))
            listed = await client.list("configmaps", "default")
            await client.delete("configmaps", "a", "default")
            await client.create("configmaps", cm("b"))
            await s.store.compact(await s.store.current_revision())
            events = client.watch("configmaps", "default", resource_version=listed.resource_version,
                                  known=listed.items)
            got = [await anext(events) for _ in range(2)]
            await events.aclose()
        await client.close()
        return sorted((e.type, e.name) for e in got)

    assert asyncio.run(body()) == [("ADDED", "b"), ("DELETED", "a")]


def test_watch_relists_after_410_and_reports_the_difference(tmp_path):
    port = free_port()

    async def body():
        client = Client(ClientConfig(f"http://127.0.0.1:{port}"))
        events = client.watch("configmaps", "default")
        async with server(tmp_path, port) as s:
            await client.create("configmaps", cm("a"))
            await client.create("configmaps", cm("b"))
            first = [await anext(events) for _ in range(2)]
        async with server(tmp_path, port) as s:
            await client.delete("configmaps", "a", "default")
            await client.patch("configmaps", "b", {"data": {"v": "2"}}, "default")
            await client.create("configmaps", cm("c"))
            await s.store.compact(await s.store.current_revision())
            old = first[-1].object.metadata.resource_version
            raw = client.stream("/api/v1/namespaces/default/configmaps", {"watch": "1", "resourceVersion": old})
            gone = await anext(raw)
            await raw.aclose()
            after = [await anext(events) for _ in range(3)]
        await events.aclose()
        await client.close()
        return first, gone, after

    first, gone, after = asyncio.run(body())
    assert gone["type"] == "ERROR" and gone["object"]["code"] == 410 and gone["object"]["reason"] == "Expired"
    assert [(e.type, e.name) for e in first] == [("ADDED", "a"), ("ADDED", "b")]
    assert sorted((e.type, e.name) for e in after) == [("ADDED", "c"), ("DELETED", "a"), ("MODIFIED", "b")]


def test_a_raw_watch_relisting_after_410_reports_a_deleted_object_as_it_last_delivered_it(tmp_path):
    """A raw watch remembers what it delivered as the server's lines: a DELETED found by the re-list carries
    the wire dict it last delivered, and an object that did not change in the gap is not reported again."""
    port = free_port()

    async def body():
        client = Client(ClientConfig(f"http://127.0.0.1:{port}")).raw
        events = client.watch("configmaps", "default")
        async with server(tmp_path, port):
            await client.create("configmaps", cm("gone", k="1"))
            await client.create("configmaps", cm("kept"))
            delivered = [await anext(events) for _ in range(2)]
            await client.patch("configmaps", "gone", {"data": {"k": "2"}}, "default")
            delivered.append(await anext(events))
        # the watch's connection ended with that server; it resumes from a revision the next one has compacted
        async with server(tmp_path, port) as s:
            await client.delete("configmaps", "gone", "default")
            await client.create("configmaps", cm("new"))
            await s.store.compact(await s.store.current_revision())
            old = delivered[-1].object["metadata"]["resourceVersion"]
            raw = client.stream("/api/v1/namespaces/default/configmaps", {"watch": "1", "resourceVersion": old})
            assert (await anext(raw))["object"]["code"] == 410
            await raw.aclose()
            after = [await anext(events) for _ in range(2)]
        await events.aclose()
        await client.close()
        return delivered, after

    delivered, after = asyncio.run(body())
    assert [(e.type, e.name) for e in delivered] == [("ADDED", "gone"), ("ADDED", "kept"), ("MODIFIED", "gone")]
    assert sorted((e.type, e.name) for e in after) == [("ADDED", "new"), ("DELETED", "gone")]
    deleted = next(e.object for e in after if e.type == "DELETED")
    assert isinstance(deleted, dict) and deleted == delivered[-1].object and deleted["data"] == {"k": "2"}


def test_pages_hand_over_one_snapshot_a_page_at_a_time(tmp_path):
    port = free_port()

    async def body():
        async with server(tmp_path, port), Client(ClientConfig(f"http://127.0.0.1:{port}")) as client:
            await client.create("namespaces", {"metadata": {"name": "paged"}})
            for i in range(5):
                await client.create("configmaps", cm(f"c{i}"), "paged")
            pages = client.pages("configmaps", "paged", limit=2)
            first = await anext(pages)
            await client.create("configmaps", cm("late"), "paged")  # after the snapshot: not in it
            rest = [page async for page in pages]
            return first, rest, await client.list("configmaps", "paged")

    first, rest, listed = asyncio.run(body())
    pages = [first, *rest]
    names = [o.metadata.name for page in pages for o in page.items]
    assert [len(page.items) for page in pages[:-1]] == [2] * (len(pages) - 1) and 1 <= len(pages[-1].items) <= 2
    assert {f"c{i}" for i in range(5)} <= set(names) and "late" not in names and len(names) == len(set(names))
    assert {page.resource_version for page in pages} == {first.resource_version}
    assert [o.metadata.name for o in listed.items] == sorted([*names, "late"])


def test_concurrent_bindings_of_one_pod_exactly_one_wins(tmp_path):
    """Many schedulers' bindings of one pod race: one 201, every other a Conflict, one change for watchers."""
    port = free_port()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}

    async def body():
        async with server(tmp_path, port), Client(ClientConfig(f"http://127.0.0.1:{port}")) as client:
            # a bare API server runs no controllers: the account the pod runs as is made here
            await client.create("serviceaccounts", {"metadata": {"name": "default"}}, "default")
            made = await client.create("pods", pod, "default")
            events = client.watch("pods", "default", resource_version=made.metadata.resource_version)
            outcomes = await asyncio.gather(*(client.bind("default", "p", f"node-{i}") for i in range(16)),
                                            return_exceptions=True)
            winners = [f"node-{i}" for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
            assert len(winners) == 1
            assert sum(isinstance(o, Conflict) for o in outcomes) == 15
            bound = await client.get("pods", "p", "default")
            made.spec.node_name = winners[0]
            assert bound.spec == made.spec
            assert bound.metadata.generation == made.metadata.generation + 1
            assert [c.status for c in bound.status.conditions if c.type == "PodScheduled"] == ["True"]
            event = await anext(events)
            assert event.type == "MODIFIED" and event.object == bound
            await events.aclose()
    asyncio.run(body())
