"""The workload controllers against a real ``portside up``, and a stand-in for the node agent's API writes.

``Harness`` runs an asyncio loop in a thread with the workload controllers on it (unless ``portside up`` already
runs them; they get the typed client) and a ``Kubelet`` per namespace: it plays the node agent's part through the API only, as the agent
does: a pod that is not held by a scheduling gate gets ``phase: Running``, a pod IP and the Ready condition
(optionally after a delay, or never), or ends Succeeded/Failed. It also keeps the history the tests assert on:
which pods started when, and the fewest Ready pods seen at any moment of the watch.

Why a double here and not the real agent: these tests are about the controllers' decisions (how many pods a
rollout keeps Ready, when a Job counts a failure, which pods a ReplicaSet deletes first), so they direct each
pod's outcome - Ready after a set delay or never, Failed or Succeeded on cue - for up to dozens of pods per test.
The real agent would run a container per pod (root, runc, a bridge; a second or more each on this machine) and
the outcomes would come from scripts and probe periods no test can time exactly. The whole path with the real
agent and real containers (Job dependencies, a failing dependency, a rolling update that keeps replicas -
maxUnavailable Ready, the seed Deployment) is tested in tests/agent/test_workloads.py and tests/agent/test_seed.py.
The double writes only what the agent writes (pods/status) through the public API, and its pods carry a node
selector no node matches, so no real scheduler or agent ever touches them. The tests' predicates read
wire dicts (``client.raw``), as kubectl's JSON shows them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kubernetes
from support.wait import Watch, eventually_async

from portside.client import Client, NotFound
from portside.controllers import run_controllers

NO_NODE = {"portside.io/test": "no-such-node"}  # keeps real schedulers and agents away from these pods
_ips = itertools.count(1)


def stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def template(labels: dict[str, str], image: str = "busybox:1", ports: list[dict] | None = None,
             restart: str = "Always") -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": image}
    if ports:
        container["ports"] = ports
    return {"metadata": {"labels": labels},
            "spec": {"nodeSelector": NO_NODE, "terminationGracePeriodSeconds": 0, "restartPolicy": restart,
                     "containers": [container]}}


def running_status(ready: bool, ip: str) -> dict[str, Any]:
    return {"phase": "Running", "podIP": ip, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": stamp()}]}


@dataclass
class Kubelet:
    """How pods of one namespace behave: Ready after ``ready_after`` s (None: never); ``outcome`` may end a pod."""

    client: Client
    namespace: str
    ready_after: float | None = 0.0
    outcome: Callable[[dict], str | None] = lambda pod: None
    finish_after: float = 0.0
    never_ready: Callable[[dict], bool] = lambda pod: False
    started: list[tuple[float, dict]] = field(default_factory=list)
    ready: dict[str, bool] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # uids of the pods started
    min_ready: int | None = None
    track_from: float = float("inf")

    async def run(self) -> None:
        async for event in self.client.watch("pods", self.namespace):
            pod, name = event.object, event.name
            self._sample(event.type, pod)
            gated = (pod.get("spec") or {}).get("schedulingGates")
            fresh = (pod.get("status") or {}).get("phase", "Pending") == "Pending" and not pod["metadata"].get(
                "deletionTimestamp") and not gated and "podIP" not in (pod.get("status") or {})
            uid = pod["metadata"].get("uid", name)  # by uid: a StatefulSet makes a pod of the same name again
            if event.type != "DELETED" and fresh and uid not in self.seen:
                self.seen.add(uid)
                self.started.append((time.monotonic(), pod))
                asyncio.get_running_loop().create_task(self._start(pod))

    def _sample(self, kind: str, pod: dict) -> None:
        name = pod["metadata"]["name"]
        conds = (pod.get("status") or {}).get("conditions") or []
        is_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
        alive = kind != "DELETED" and not pod["metadata"].get("deletionTimestamp")
        self.ready[name] = alive and is_ready
        if time.monotonic() >= self.track_from:
            count = sum(self.ready.values())
            self.min_ready = count if self.min_ready is None else min(self.min_ready, count)

    async def _start(self, pod: dict) -> None:
        name, ready_now = pod["metadata"]["name"], self.ready_after == 0 and not self.never_ready(pod)
        n = next(_ips)
        ip = f"10.77.{n // 250}.{n % 250 + 1}"
        if not await self._status(name, running_status(ready_now, ip)):
            return
        phase = self.outcome(pod)
        if phase:
            await asyncio.sleep(self.finish_after)
            await self._status(name, {"phase": phase, "conditions": [
                {"type": "Ready", "status": "False", "lastTransitionTime": stamp()}]})
        elif self.ready_after and not self.never_ready(pod):
            await asyncio.sleep(self.ready_after)  # the agent's readiness probe taking its time
            await self._status(name, running_status(True, ip))

    async def _status(self, name: str, status: dict) -> bool:
        try:
            await self.client.patch("pods", name, {"status": status}, self.namespace, subresource="status")
        except NotFound:
            return False
        return True

    def start_tracking(self) -> None:
        self.min_ready, self.track_from = None, time.monotonic()


class Harness:
    """An event loop in a thread: workload controllers plus kubelet doubles, stopped and joined on ``close``."""

    def __init__(self, kubeconfig: str, with_controllers: bool) -> None:
        self.kubeconfig = kubeconfig
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client: Client = self.call(self._client())
        self.tasks: list[asyncio.Task] = []
        if with_controllers:
            ready = self.call(self._event())
            self.spawn(run_controllers(self.client, ready))
            self.call(asyncio.wait_for(ready.wait(), 20))

    async def _client(self) -> Client:
        return Client.from_kubeconfig(self.kubeconfig)

    @staticmethod
    async def _event() -> asyncio.Event:
        return asyncio.Event()

    def call(self, coro, timeout: float = 30) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def wait(self, resource: str, namespace: str, predicate: Callable[[dict[str, dict]], Any],
             timeout: float = 15, what: str = "") -> Any:
        """``eventually`` on a watch of ``resource``: ``predicate({name: object})``'s first truthy value."""
        return self.call(eventually_async(predicate, timeout, what=what, watch=Watch(self.client, resource, namespace)),
                         timeout=timeout + 5)

    def get(self, resource: str, namespace: str, name: str) -> dict:
        return self.call(self.client.raw.get(resource, name, namespace))

    def kubelet(self, namespace: str, **behaviour: Any) -> Kubelet:
        k = Kubelet(self.client.raw, namespace, **behaviour)
        self.spawn(k.run())
        return k

    def spawn(self, coro) -> None:
        self.tasks.append(self.call(self._task(coro)))

    @staticmethod
    async def _task(coro) -> asyncio.Task:
        return asyncio.get_running_loop().create_task(coro)

    async def _stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.close()

    def close(self) -> None:
        try:
            self.call(self._stop(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)


def core(api) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(api)


def apps(api) -> kubernetes.client.AppsV1Api:
    return kubernetes.client.AppsV1Api(api)


def batch(api) -> kubernetes.client.BatchV1Api:
    return kubernetes.client.BatchV1Api(api)
