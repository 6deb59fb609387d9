"""The Deployment controller: one ReplicaSet per pod template (``<name>-<pod-template-hash>``), rolled by the
RollingUpdate or Recreate strategy, with the revision annotations ``kubectl rollout history|undo`` reads.

Each sync takes one step and returns; the ReplicaSet events the step causes bring the next one. The arithmetic
lives in ``rollout.py``, ``proportion.py`` and ``progress.py``; here are only the reads from the caches and the
writes.
"""

from __future__ import annotations

import asyncio
import copy

from portside import api
from portside.client import NORMAL, AlreadyExists, Client, Conflict, EventRecorder, NotFound
from portside.controllers import progress, proportion, rollout, scaling
from portside.controllers.base import Controller
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import (
    Obj,
    Written,
    controller_of,
    is_terminating,
    meta,
    now_s,
    owner_json_patch,
    owner_ref,
    seconds,
)
from portside.controllers.rollout import replicas
from portside.controllers.shared import InformerFactory
from portside.controllers.timers import add_after

DEPLOYMENTS = api.lookup("apps", "v1", "deployments")
REPLICASETS = api.lookup("apps", "v1", "replicasets")


class DeploymentController(Controller):
    name = "deployment-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.events = EventRecorder(client, self.name)
        self.written, self.written_deployments = Written(), Written()
        self.deployments = self.informer(informers.get(DEPLOYMENTS))
        self.deployments_in = ByNamespace(self.deployments)
        self.sets = self.informer(informers.get(REPLICASETS))
        self.sets_in = ByNamespace(self.sets)
        self.deployments.on_change(lambda kind, obj, prev: self.queue.add(cache_key(obj)))
        self.sets.on_change(self._rs_changed)

    def _rs_changed(self, kind: str, rs: Obj, prev: Obj | None) -> None:
        ns, ref = meta(rs).get("namespace", ""), controller_of(rs)
        if ref is not None and ref.get("kind") == "Deployment":
            self.queue.add(f"{ns}/{ref['name']}")
        elif ref is None:
            for d in self.deployments_in(ns):
                if scaling.selector_of(d).matches(meta(rs).get("labels")):
                    self.queue.add(cache_key(d))

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        d = self.written_deployments.fresh(key, self.deployments.get(namespace, name))
        if d is None:
            return
        sets = [self.written.fresh(cache_key(rs), rs) for rs in self.sets_in(namespace)]
        claim = scaling.claim(d, sets)
        sets = claim.owned + await self._patch_owners(d, claim.adopt, adopt=True)
        await self._patch_owners(d, claim.release, adopt=False)
        new = next((rs for rs in sorted(sets, key=_age) if rollout.same_template(rs, d)), None)
        old = [rs for rs in sets if rs is not new]
        created = None
        if not is_terminating(d):
            new, created = await self._step(d, new, old)
        await self._write_status(d, new, old + ([new] if new else []), created)

    async def _step(self, d: Obj, new: Obj | None, old: list[Obj]) -> tuple[Obj | None, Obj | None]:
        active = [rs for rs in old + ([new] if new else []) if replicas(rs)]
        if d["spec"].get("paused") or proportion.is_scaling_event(d, active):
            await self._scale_all(d, new, old)
            return new, None
        if (d["spec"].get("strategy") or {}).get("type") == "Recreate":
            return await self._recreate(d, new, old)
        return await self._rolling(d, new, old)

    async def _rolling(self, d: Obj, new: Obj | None, old: list[Obj]) -> tuple[Obj | None, Obj | None]:
        if new is None:
            new = await self._create_rs(d, old, rollout.new_rs_size(d, None, old))
            return new, new
        await self._sync_revision(d, new, old)
        size = rollout.new_rs_size(d, new, old + [new])
        if size != replicas(new):
            await self._scale(d, new, size)
            if size > replicas(new):
                return new, None
        sizes = rollout.old_rs_sizes(d, new, old)
        for rs in old:
            if meta(rs)["name"] in sizes:
                await self._scale(d, rs, sizes[meta(rs)["name"]])
        await self._cleanup(d, old)
        return new, None

    async def _recreate(self, d: Obj, new: Obj | None, old: list[Obj]) -> tuple[Obj | None, Obj | None]:
        active = [rs for rs in old if replicas(rs)]
        for rs in active:
            await self._scale(d, rs, 0)
        if active or not rollout.old_pods_gone(old):
            return new, None
        if new is None:
            new = await self._create_rs(d, old, d["spec"].get("replicas", 1))
            return new, new
        await self._sync_revision(d, new, old)
        await self._scale(d, new, d["spec"].get("replicas", 1))
        await self._cleanup(d, old)
        return new, None

    async def _scale_all(self, d: Obj, new: Obj | None, old: list[Obj]) -> None:
        """Paused, or resized mid-rollout: every active ReplicaSet follows ``replicas`` in proportion."""
        sets = {meta(rs)["name"]: rs for rs in old + ([new] if new else [])}
        for name, size in proportion.proportional_sizes(d, new, old).items():
            await self._scale(d, sets[name], size)
        if d["spec"].get("paused"):
            await self._cleanup(d, old)

    def _rs_body(self, d: Obj, old: list[Obj], size: int) -> Obj:
        collisions = (d.get("status") or {}).get("collisionCount") or 0
        hashed = rollout.template_hash(d["spec"]["template"], collisions)
        template = copy.deepcopy(d["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[rollout.HASH_LABEL] = hashed
        selector = copy.deepcopy(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[rollout.HASH_LABEL] = hashed
        revision = max((rollout.revision(rs) for rs in old), default=0) + 1
        annotations = {**rollout.copied_annotations(d), **_size_annotations(d), rollout.REVISION: str(revision)}
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": f"{meta(d)['name']}-{hashed}", "namespace": meta(d)["namespace"],
                             "labels": template["metadata"]["labels"], "annotations": annotations,
                             "ownerReferences": [owner_ref(d, DEPLOYMENTS)]},
                "spec": {"replicas": size, "minReadySeconds": d["spec"].get("minReadySeconds") or 0,
                         "selector": selector, "template": template}}

    async def _create_rs(self, d: Obj, old: list[Obj], size: int) -> Obj:
        body = self._rs_body(d, old, size)
        try:
            rs = await self.client.create(REPLICASETS, body)
        except AlreadyExists:
            return await self._collided(d, body)
        self._cache(rs)
        await self.events.record(d, NORMAL, "ScalingReplicaSet", f"Scaled up replica set {meta(rs)['name']} "
                                 f"from 0 to {size}")
        await self._set_revision(d, meta(rs)["annotations"][rollout.REVISION])
        return rs

    async def _collided(self, d: Obj, body: Obj) -> Obj:
        """A ReplicaSet of that name exists: ours for this template (a lagging cache) or a hash collision."""
        existing = await self.client.get(REPLICASETS, body["metadata"]["name"], meta(d)["namespace"])
        ref = controller_of(existing)
        if ref is not None and ref.get("uid") == meta(d)["uid"] and rollout.same_template(existing, d):
            return existing
        count = ((d.get("status") or {}).get("collisionCount") or 0) + 1
        await self.client.patch(DEPLOYMENTS, meta(d)["name"], {"status": {"collisionCount": count}},
                                meta(d)["namespace"], subresource="status")
        raise RuntimeError(f"pod template hash collision with replica set {body['metadata']['name']}")

    async def _sync_revision(self, d: Obj, new: Obj, old: list[Obj]) -> None:
        """The current template's ReplicaSet carries the highest revision (it moves up again on ``undo``) and the
        Deployment's own annotations (``kubernetes.io/change-cause`` is what ``rollout history`` prints)."""
        patch = rollout.new_rs_annotations(d, new, old)
        if patch:
            new = await self.client.patch(REPLICASETS, meta(new)["name"], {"metadata": {"annotations": patch}},
                                          meta(new)["namespace"])
            self._cache(new)
        await self._set_revision(d, str(rollout.revision(new)))

    async def _set_revision(self, d: Obj, revision: str) -> None:
        if (meta(d).get("annotations") or {}).get(rollout.REVISION) != revision:
            written = await self.client.patch(DEPLOYMENTS, meta(d)["name"], {"metadata": {"annotations": {
                rollout.REVISION: revision}}}, meta(d)["namespace"])
            self.written_deployments.keep(cache_key(written), written)

    async def _scale(self, d: Obj, rs: Obj, size: int) -> None:
        before, min_ready, notes = replicas(rs), d["spec"].get("minReadySeconds") or 0, _size_annotations(d)
        current = meta(rs).get("annotations") or {}
        if before == size and (rs.get("spec") or {}).get("minReadySeconds", 0) == min_ready and all(
                current.get(k) == v for k, v in notes.items()):
            return
        patch = {"metadata": {"annotations": notes},
                 "spec": {"replicas": size, "minReadySeconds": min_ready}}
        self._cache(await self.client.patch(REPLICASETS, meta(rs)["name"], patch, meta(rs)["namespace"]))
        if before != size:
            verb = "up" if size > before else "down"
            await self.events.record(d, NORMAL, "ScalingReplicaSet",
                                     f"Scaled {verb} replica set {meta(rs)['name']} from {before} to {size}")

    async def _cleanup(self, d: Obj, old: list[Obj]) -> None:
        for rs in rollout.history_to_delete(d, old):
            try:
                await self.client.delete(REPLICASETS, meta(rs)["name"], meta(rs)["namespace"], uid=meta(rs)["uid"])
            except NotFound:
                pass

    async def _patch_owners(self, d: Obj, sets: list[Obj], adopt: bool) -> list[Obj]:
        done = []
        for rs in sets:
            refs = [r for r in meta(rs).get("ownerReferences") or [] if r.get("uid") != meta(d)["uid"]]
            refs += [owner_ref(d, DEPLOYMENTS)] if adopt else []
            try:
                done.append(await self.client.patch(REPLICASETS, meta(rs)["name"], owner_json_patch(rs, refs),
                                                    meta(rs)["namespace"], type="json"))
            except (NotFound, Conflict):
                continue  # changed under us: its next event brings it back
        return done

    async def _write_status(self, d: Obj, new: Obj | None, all_sets: list[Obj], created: Obj | None) -> None:
        now = now_s()
        status = progress.status(d, new, all_sets, now, created)
        if status != d.get("status"):
            try:
                d = await self.client.patch(DEPLOYMENTS, meta(d)["name"], {"status": status}, meta(d)["namespace"],
                                            subresource="status")
            except NotFound:
                return
            self.written_deployments.keep(cache_key(d), d)
        self._watch_deadline(d, status, now)

    def _watch_deadline(self, d: Obj, status: Obj, now: float) -> None:
        """Progress has no event of its own when it stalls: wake up when the deadline would pass."""
        deadline = d["spec"].get("progressDeadlineSeconds")
        cond = next((c for c in status["conditions"] if c["type"] == "Progressing"), None)
        if deadline is None or cond is None or cond.get("reason") in (progress.TIMED_OUT, progress.NEW_RS_AVAILABLE):
            return
        if d["spec"].get("paused"):
            return
        since = seconds(cond.get("lastUpdateTime")) or now
        add_after(self.queue, cache_key(d), max(0.0, since + deadline - now) + 1.0)

    def _cache(self, rs: Obj) -> None:
        self.written.keep(cache_key(rs), rs)


def _size_annotations(d: Obj) -> dict[str, str]:
    want = d["spec"].get("replicas", 1)
    return {rollout.DESIRED: str(want), rollout.MAX_REPLICAS: str(want + rollout.bounds(d)[0])}


def _age(rs: Obj) -> tuple[str, str]:
    return meta(rs).get("creationTimestamp") or "", meta(rs).get("name", "")


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await DeploymentController(client).run(ready)
