"""The ReplicaSet controller: keeps ``spec.replicas`` pods of the template running, owns them by ownerReference.

Pod events map to the ReplicaSet that controls the pod, or, for an orphan, to every ReplicaSet of its namespace
whose selector matches it (one of them adopts it). Creates run in slow-start batches under expectations, so a
pod the API already made but the watch has not shown yet is never made twice.
"""

from __future__ import annotations

import asyncio

from portside import api
from portside.api import models
from portside.api.models import Pod, ReplicaSet
from portside.client import NORMAL, WARNING, ApiError, Client, Conflict, EventRecorder, NotFound
from portside.controllers import scaling
from portside.controllers.base import Controller
from portside.controllers.expectations import Expectations
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import (
    available_in,
    controller_of,
    desired,
    from_template,
    is_terminating,
    now_s,
    owner_json_patch,
    owner_ref,
)
from portside.controllers.shared import InformerFactory
from portside.controllers.timers import add_after

PODS = api.lookup("", "v1", "pods")
REPLICASETS = api.lookup("apps", "v1", "replicasets")


class ReplicaSetController(Controller):
    name = "replicaset-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.expectations = Expectations()
        self.events = EventRecorder(client, self.name)
        self.sets = self.informer(informers.get(REPLICASETS))
        self.sets_in = ByNamespace(self.sets)
        self.pods = self.informer(informers.get(PODS))
        self.pods_in = ByNamespace(self.pods)
        self.sets.on_change(lambda kind, obj, prev: self.queue.add(cache_key(obj)))
        self.pods.on_change(self._pod_changed)

    def _pod_changed(self, kind: str, pod: Pod, prev: Pod | None) -> None:
        ns = pod.metadata.namespace or ""
        ref = controller_of(pod)
        if ref is not None and ref.kind == "ReplicaSet":
            key = f"{ns}/{ref.name}"
            if kind == "ADDED":
                self.expectations.observed_add(key)
            elif kind == "DELETED" or is_terminating(pod):
                self.expectations.observed_delete(key, pod.metadata.uid or "")
            self.queue.add(key)
        elif ref is None:
            self._enqueue_matching(pod)
        old_ref = controller_of(prev) if prev else None
        if old_ref is not None and old_ref != ref and old_ref.kind == "ReplicaSet":
            self.queue.add(f"{ns}/{old_ref.name}")

    def _enqueue_matching(self, pod: Pod) -> None:
        labels = pod.metadata.labels
        for rs in self.sets_in(pod.metadata.namespace or ""):
            if scaling.selector_of(rs).matches(labels):
                self.queue.add(cache_key(rs))

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        rs = self.sets.get(namespace, name)
        if rs is None:
            self.expectations.forget(key)
            return
        claim = scaling.claim(rs, self.pods_in(namespace))
        owned = claim.owned + await self._adopt(rs, claim.adopt)
        await self._release(rs, claim.release)
        failure = ""
        if self.expectations.satisfied(key) and not is_terminating(rs):
            failure = await self._converge(key, rs, owned)
        await self._write_status(rs, owned, failure)
        if failure:
            raise RuntimeError(failure)  # retried with back-off; the status and an event say why

    async def _adopt(self, rs: ReplicaSet, pods: list[Pod]) -> list[Pod]:
        adopted = []
        for pod in pods:
            refs = (pod.metadata.owner_references or []) + [owner_ref(rs, REPLICASETS)]
            try:
                adopted.append(await self.client.patch(PODS, pod.metadata.name, owner_json_patch(pod, refs),
                                                       pod.metadata.namespace, type="json"))
            except (NotFound, Conflict):
                continue  # changed under us: the next event brings it back
        return adopted

    async def _release(self, rs: ReplicaSet, pods: list[Pod]) -> None:
        uid = rs.metadata.uid
        for pod in pods:
            refs = [r for r in pod.metadata.owner_references or [] if r.uid != uid]
            try:
                await self.client.patch(PODS, pod.metadata.name, owner_json_patch(pod, refs), pod.metadata.namespace,
                                        type="json")
            except (NotFound, Conflict):
                continue

    async def _converge(self, key: str, rs: ReplicaSet, owned: list[Pod]) -> str:
        """Create or delete toward ``spec.replicas``; returns why a create failed ("" when none did)."""
        plan = scaling.diff(desired(rs), owned)
        if plan.create:
            self.expectations.expect(key, adds=plan.create)
            return await self._create(key, rs, plan.create)
        if plan.delete:
            self.expectations.expect(key, deletes={p.metadata.uid for p in plan.delete})
            await asyncio.gather(*(self._delete(key, rs, p) for p in plan.delete))
        return ""

    async def _create(self, key: str, rs: ReplicaSet, count: int) -> str:
        template = rs.spec.template or models.PodTemplateSpec()
        body = from_template(template, owner_ref(rs, REPLICASETS), f"{rs.metadata.name}-")
        for left, batch in _remaining(scaling.slow_start(count)):
            errors = [e for e in await asyncio.gather(*(self._create_one(rs, body) for _ in range(batch))) if e]
            if errors:
                for _ in range(len(errors) + left):
                    self.expectations.observed_add(key)  # never coming
                return errors[0]
        return ""

    async def _create_one(self, rs: ReplicaSet, body: Pod) -> str:
        try:
            pod = await self.client.create(PODS, body, rs.metadata.namespace)
        except ApiError as exc:
            await self.events.record(rs, WARNING, "FailedCreate", f"Error creating: {exc}")
            return str(exc)
        await self.events.record(rs, NORMAL, "SuccessfulCreate", f"Created pod: {pod.metadata.name}")
        return ""

    async def _delete(self, key: str, rs: ReplicaSet, pod: Pod) -> None:
        m = pod.metadata
        try:
            await self.client.delete(PODS, m.name, m.namespace, uid=m.uid)
        except NotFound:
            self.expectations.observed_delete(key, m.uid)
            return
        except ApiError as exc:
            self.expectations.observed_delete(key, m.uid)
            await self.events.record(rs, WARNING, "FailedDelete", f"Error deleting: {exc}")
            raise
        await self.events.record(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {m.name}")

    async def _write_status(self, rs: ReplicaSet, owned: list[Pod], failure: str) -> None:
        now = now_s()
        status = scaling.status(rs, owned, now, failure)
        if status != rs.status:
            try:
                await self.client.patch(REPLICASETS, rs.metadata.name, scaling.status_patch(status),
                                        rs.metadata.namespace, subresource="status")
            except NotFound:
                return
        waits = [w for p in owned if (w := available_in(p, scaling.min_ready_seconds(rs), now))]
        if waits:
            add_after(self.queue, cache_key(rs), min(waits) + 0.05)


def _remaining(batches: list[int]) -> list[tuple[int, int]]:
    """Each batch with the count of pods in the batches after it."""
    return [(sum(batches[i + 1:]), b) for i, b in enumerate(batches)]


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await ReplicaSetController(client).run(ready)
