"""The client given several servers: a server that refuses connections is skipped, and a watch open on a server
that dies resumes on the next from its last resourceVersion, missing nothing."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp
import pytest
from support.net import free_port

from portside.client import Client, load_kubeconfig

from .conftest import server


def configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}


def test_a_refusing_server_is_skipped_and_with_none_left_the_error_is_raised(tmp_path, etcd_url):
    with server(tmp_path, "a", etcd_url, "--disable", "scheduler,workload-controllers,garbage-collector") as a:
        dead = f"https://127.0.0.1:{free_port()}"
        config = load_kubeconfig(a.kubeconfig)

        async def run():
            async with Client(dataclasses.replace(config, server=f"{dead},{a.url}")) as c:
                assert (await c.get("namespaces", "default")).metadata.name == "default"
                assert c.servers.current == a.url
            async with Client(dataclasses.replace(config, server=f"{dead},{dead}")) as c:
                with pytest.raises(aiohttp.ClientConnectorError):
                    await c.get("namespaces", "default")
        asyncio.run(run())


def test_a_watch_resumes_on_the_next_server_when_its_server_dies(tmp_path, etcd_url):
    with server(tmp_path, "a", etcd_url) as a, server(tmp_path, "b", etcd_url) as b:
        config = dataclasses.replace(load_kubeconfig(a.kubeconfig), server=f"{a.url},{b.url}")

        async def run():
            async with Client(config) as c, Client(load_kubeconfig(b.kubeconfig)) as writer:
                await writer.raw.create("configmaps", configmap("one"), "default")
                seen: list[str] = []
                async with asyncio.timeout(20):
                    async for event in c.watch("configmaps", "default"):
                        seen.append(event.name)
                        if event.name == "one":
                            a.kill()  # the server this watch is open on
                            await writer.raw.create("configmaps", configmap("two"), "default")
                        if event.name == "two":
                            break
                assert seen.count("one") == 1 and c.servers.current == b.url
        asyncio.run(run())
