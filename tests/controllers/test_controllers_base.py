"""The reconcile-loop base: queue semantics, and a small controller driven by real watches."""

import asyncio
import contextlib

from support.net import free_port
from support.wait import eventually_async

from portside.api.models import ConfigMap, ObjectMeta
from portside.apiserver import APIServer, ServerConfig
from portside.client import Client, ClientConfig
from portside.controllers import Controller, Informer, WorkQueue, cache_key


def test_queue_deduplicates_and_reworks_keys_changed_during_work():
    async def body():
        q = WorkQueue()
        for key in ("a", "b", "a"):
            q.add(key)
        assert len(q) == 2
        first = await q.get()
        q.add(first)  # changed while being worked: not handed to a second worker now...
        second = await q.get()
        assert (first, second) == ("a", "b") and len(q) == 0
        q.done(first)  # ...but worked again once the first worker is done
        assert await q.get() == "a"
    asyncio.run(body())


def test_retry_backs_off_exponentially_and_forget_resets():
    async def body():
        q = WorkQueue()
        delays = [q.retry("k") for _ in range(4)]
        q.forget("k")
        again = q.retry("x"), q.retry("x")
        q.close()
        return delays, again
    delays, again = asyncio.run(body())
    assert delays == [0.05, 0.1, 0.2, 0.4] and again == (0.05, 0.1)


class Mirror(Controller):
    """Copies each ConfigMap's data into a ``<name>-mirror`` ConfigMap; fails once on purpose to test retry."""

    name = "mirror"

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.maps = self.informer(Informer(client, client_resource("configmaps"), "default"))
        self.maps.on_change(lambda kind, obj, prev: None if obj.metadata.name.endswith("-mirror")
                            else self.queue.add(cache_key(obj)))
        self.failed_once = False

    async def sync(self, key: str) -> None:
        if not self.failed_once:
            self.failed_once = True
            raise RuntimeError("transient")
        obj = self.maps.get(*key.split("/"))
        if obj is None:
            return
        mirror = ConfigMap(metadata=ObjectMeta(name=obj.metadata.name + "-mirror"), data=obj.data or {})
        existing = self.maps.get("default", mirror.metadata.name)
        if existing is None:
            await self.client.create("configmaps", mirror, "default")
        elif existing.data != mirror.data:
            await self.client.patch("configmaps", mirror.metadata.name, {"data": mirror.data}, "default")


def client_resource(name):
    from portside.client import resource
    return resource(name)


def test_controller_converges_from_watch_events_with_retry(tmp_path):
    port = free_port()

    async def body():
        s = APIServer(ServerConfig(str(tmp_path), port=port, insecure_http=True))
        await s.start()
        client = Client(ClientConfig(f"http://127.0.0.1:{port}"))
        ctl = Mirror(client)
        ready = asyncio.Event()
        task = asyncio.create_task(ctl.run(ready))
        try:
            await asyncio.wait_for(ready.wait(), 10)
            await client.create("configmaps", {"metadata": {"name": "src"}, "data": {"v": "1"}}, "default")
            await client.patch("configmaps", "src", {"data": {"v": "2"}}, "default")
            await eventually_async(lambda: getattr(ctl.maps.get("default", "src-mirror"), "data", None) == {"v": "2"},
                                   what="the mirror to follow the change")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.close()
            await s.stop()
        return ctl.failed_once

    assert asyncio.run(body()) is True
