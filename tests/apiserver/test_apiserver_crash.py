"""Crash safety: 2,000 creates from concurrent clients, SIGKILL at a random moment, restart, nothing lost."""

import asyncio
import json
import random
import ssl

import aiohttp
from support.cluster import Cluster

TOTAL, CLIENTS = 2000, 16


async def create_until_killed(cluster: Cluster, kill_after: int) -> list[str]:
    acked: list[str] = []
    names = [f"crash-{i}" for i in range(TOTAL)]
    headers = {"Authorization": f"Bearer {cluster.tokens()['admin']}"}
    url = f"{cluster.url}/api/v1/namespaces/default/pods"
    tls = ssl.create_default_context(cafile=cluster.ca)

    async def client() -> None:
        async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(ssl=tls)) as session:
            while names:
                name = names.pop()
                body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
                try:
                    async with session.post(url, json=body) as resp:
                        if resp.status == 201:
                            acked.append(name)
                except (aiohttp.ClientError, ConnectionError):
                    continue
                if len(acked) == kill_after:
                    cluster.kill()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return acked


def test_every_acknowledged_create_survives_sigkill(tmp_path):
    data = tmp_path / "data"
    cluster = Cluster(data).start()
    try:
        kill_after = random.randint(300, TOTAL - 300)
        acked = asyncio.run(create_until_killed(cluster, kill_after))
    finally:
        cluster.kill()
    assert len(acked) >= kill_after
    restarted = Cluster(data).start()
    try:
        listed = json.loads(restarted.kubectl("get", "pods", "-n", "default", "-o", "json", timeout=60).stdout)
    finally:
        restarted.stop()
    names = [p["metadata"]["name"] for p in listed["items"]]
    assert len(names) == len(set(names))
    missing = set(acked) - set(names)
    assert not missing, f"{len(missing)} acknowledged creates lost, e.g. {sorted(missing)[:5]}"
    versions = [int(p["metadata"]["resourceVersion"]) for p in listed["items"]]
    assert len(versions) == len(set(versions))
