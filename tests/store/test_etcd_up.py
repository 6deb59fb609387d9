"""``portside up --store etcd://...``: the API server keeps its objects in etcd and serves kubectl."""

import asyncio
import json

from support.cluster import Cluster, only

from portside import store


def stored(url: str, suffix: str):
    async def find():
        s = await store.open_store(url)
        try:
            return [kv for kv in (await s.list("")).items if kv.key.endswith(suffix)]
        finally:
            await s.close()

    return asyncio.run(find())


def test_up_on_etcd_serves_kubectl_and_keeps_objects_in_etcd(tmp_path, etcd_cluster, etcd_url):
    c = Cluster(tmp_path / "data", extra=("--store", etcd_url, *only())).start()
    try:
        c.kubectl("create", "configmap", "on-etcd", "--from-literal=k=v")
        c.kubectl("label", "configmap", "on-etcd", "changed=yes")
        got = json.loads(c.kubectl("get", "configmap", "on-etcd", "-o", "json").stdout)
    finally:
        assert c.stop() == 0
    assert got["data"] == {"k": "v"} and got["metadata"]["labels"] == {"changed": "yes"}
    [kv] = stored(etcd_url, "/on-etcd")  # the resourceVersion is etcd's revision of the write
    assert json.loads(kv.value)["metadata"]["resourceVersion"] == got["metadata"]["resourceVersion"] == \
        str(kv.mod_revision)

    # Another server on the same etcd (its own data directory) serves what the first wrote.
    again = Cluster(tmp_path / "again", extra=("--store", etcd_url, *only())).start()
    try:
        later = json.loads(again.kubectl("get", "configmap", "on-etcd", "-o", "json").stdout)
    finally:
        assert again.stop() == 0
    assert later["metadata"]["uid"] == got["metadata"]["uid"]
