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
from portside.api.models import Deployment, DeploymentStatus, ObjectMeta, ReplicaSet, ReplicaSetSpec
from portside.client import NORMAL, AlreadyExists, Client, Conflict, EventRecorder, NotFound
from portside.controllers import progress, proportion, rollout, scaling
from portside.controllers.base import Controller
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import (
    Written,
    annotations,
    controller_of,
    desired,
    is_terminating,
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
Step = tuple[ReplicaSet | None, ReplicaSet | None]  # (the new ReplicaSet, the one this step created)


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

    def _rs_changed(self, kind: str, rs: ReplicaSet, prev: ReplicaSet | None) -> None:
        ns, ref = rs.metadata.namespace or "", controller_of(rs)
        if ref is not None and ref.kind == "Deployment":
            self.queue.add(f"{ns}/{ref.name}")
        elif ref is None:
            for d in self.deployments_in(ns):
                if scaling.selector_of(d).matches(rs.metadata.labels):
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
        new = next((rs for rs in sorted(sets, key=rollout.age) if rollout.same_template(rs, d)), None)
        old = [rs for rs in sets if rs is not new]
        created = None
        if not is_terminating(d):
            new, created = await self._step(d, new, old)
        await self._write_status(d, new, old + ([new] if new else []), created)

    async def _step(self, d: Deployment, new: ReplicaSet | None, old: list[ReplicaSet]) -> Step:
        active = [rs for rs in old + ([new] if new else []) if replicas(rs)]
        if d.spec.paused or proportion.is_scaling_event(d, active):
            await self._scale_all(d, new, old)
            return new, None
        if rollout.is_recreate(d):
            return await self._recreate(d, new, old)
        return await self._rolling(d, new, old)

    async def _rolling(self, d: Deployment, new: ReplicaSet | None, old: list[ReplicaSet]) -> Step:
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
            if rs.metadata.name in sizes:
                await self._scale(d, rs, sizes[rs.metadata.name])
        await self._cleanup(d, old)
        return new, None

    async def _recreate(self, d: Deployment, new: ReplicaSet | None, old: list[ReplicaSet]) -> Step:
        active = [rs for rs in old if replicas(rs)]
        for rs in active:
            await self._scale(d, rs, 0)
        if active or not rollout.old_pods_gone(old):
            return new, None
        if new is None:
            new = await self._create_rs(d, old, desired(d))
            return new, new
        await self._sync_revision(d, new, old)
        await self._scale(d, new, desired(d))
        await self._cleanup(d, old)
        return new, None

    async def _scale_all(self, d: Deployment, new: ReplicaSet | None, old: list[ReplicaSet]) -> None:
        """Paused, or resized mid-rollout: every active ReplicaSet follows ``replicas`` in proportion."""
        sets = {rs.metadata.name: rs for rs in old + ([new] if new else [])}
        for name, size in proportion.proportional_sizes(d, new, old).items():
            await self._scale(d, sets[name], size)
        if d.spec.paused:
            await self._cleanup(d, old)

    def _rs_body(self, d: Deployment, old: list[ReplicaSet], size: int) -> ReplicaSet:
        hashed = rollout.template_hash(d.spec.template, _collisions(d))
        template = copy.deepcopy(d.spec.template)
        template.metadata = template.metadata or ObjectMeta()
        template.metadata.labels = {**(template.metadata.labels or {}), rollout.HASH_LABEL: hashed}
        selector = copy.deepcopy(d.spec.selector)
        selector.match_labels = {**(selector.match_labels or {}), rollout.HASH_LABEL: hashed}
        revision = max((rollout.revision(rs) for rs in old), default=0) + 1
        notes = {**rollout.copied_annotations(d), **_size_annotations(d), rollout.REVISION: str(revision)}
        meta = ObjectMeta(name=f"{d.metadata.name}-{hashed}", namespace=d.metadata.namespace,
                          labels=template.metadata.labels, annotations=notes,
                          owner_references=[owner_ref(d, DEPLOYMENTS)])
        return ReplicaSet(api_version="apps/v1", kind="ReplicaSet", metadata=meta, spec=ReplicaSetSpec(
            replicas=size, min_ready_seconds=d.spec.min_ready_seconds or 0, selector=selector, template=template))

    async def _create_rs(self, d: Deployment, old: list[ReplicaSet], size: int) -> ReplicaSet:
        body = self._rs_body(d, old, size)
        try:
            rs = await self.client.create(REPLICASETS, body)
        except AlreadyExists:
            return await self._collided(d, body)
        self._cache(rs)
        await self.events.record(d, NORMAL, "ScalingReplicaSet", f"Scaled up replica set {rs.metadata.name} "
                                 f"from 0 to {size}")
        await self._set_revision(d, annotations(rs)[rollout.REVISION])
        return rs

    async def _collided(self, d: Deployment, body: ReplicaSet) -> ReplicaSet:
        """A ReplicaSet of that name exists: ours for this template (a lagging cache) or a hash collision."""
        existing = await self.client.get(REPLICASETS, body.metadata.name, d.metadata.namespace)
        ref = controller_of(existing)
        if ref is not None and ref.uid == d.metadata.uid and rollout.same_template(existing, d):
            return existing
        await self.client.patch(DEPLOYMENTS, d.metadata.name, {"status": {"collisionCount": _collisions(d) + 1}},
                                d.metadata.namespace, subresource="status")
        raise RuntimeError(f"pod template hash collision with replica set {body.metadata.name}")

    async def _sync_revision(self, d: Deployment, new: ReplicaSet, old: list[ReplicaSet]) -> None:
        """The current template's ReplicaSet carries the highest revision (it moves up again on ``undo``) and the
        Deployment's own annotations (``kubernetes.io/change-cause`` is what ``rollout history`` prints)."""
        patch = rollout.new_rs_annotations(d, new, old)
        if patch:
            new = await self.client.patch(REPLICASETS, new.metadata.name, {"metadata": {"annotations": patch}},
                                          new.metadata.namespace)
            self._cache(new)
        await self._set_revision(d, str(rollout.revision(new)))

    async def _set_revision(self, d: Deployment, revision: str) -> None:
        if annotations(d).get(rollout.REVISION) != revision:
            written = await self.client.patch(DEPLOYMENTS, d.metadata.name, {"metadata": {"annotations": {
                rollout.REVISION: revision}}}, d.metadata.namespace)
            self.written_deployments.keep(cache_key(written), written)

    async def _scale(self, d: Deployment, rs: ReplicaSet, size: int) -> None:
        before, min_ready, notes = replicas(rs), d.spec.min_ready_seconds or 0, _size_annotations(d)
        current = annotations(rs)
        if before == size and (rs.spec.min_ready_seconds or 0) == min_ready and all(
                current.get(k) == v for k, v in notes.items()):
            return
        patch = {"metadata": {"annotations": notes},
                 "spec": {"replicas": size, "minReadySeconds": min_ready}}
        self._cache(await self.client.patch(REPLICASETS, rs.metadata.name, patch, rs.metadata.namespace))
        if before != size:
            verb = "up" if size > before else "down"
            await self.events.record(d, NORMAL, "ScalingReplicaSet",
                                     f"Scaled {verb} replica set {rs.metadata.name} from {before} to {size}")

    async def _cleanup(self, d: Deployment, old: list[ReplicaSet]) -> None:
        for rs in rollout.history_to_delete(d, old):
            try:
                await self.client.delete(REPLICASETS, rs.metadata.name, rs.metadata.namespace, uid=rs.metadata.uid)
            except NotFound:
                pass

    async def _patch_owners(self, d: Deployment, sets: list[ReplicaSet], adopt: bool) -> list[ReplicaSet]:
        done = []
        for rs in sets:
            refs = [r for r in rs.metadata.owner_references or [] if r.uid != d.metadata.uid]
            refs += [owner_ref(d, DEPLOYMENTS)] if adopt else []
            try:
                done.append(await self.client.patch(REPLICASETS, rs.metadata.name, owner_json_patch(rs, refs),
                                                    rs.metadata.namespace, type="json"))
            except (NotFound, Conflict):
                continue  # changed under us: its next event brings it back
        return done

    async def _write_status(self, d: Deployment, new: ReplicaSet | None, all_sets: list[ReplicaSet],
                            created: ReplicaSet | None) -> None:
        now = now_s()
        status = progress.status(d, new, all_sets, now, created)
        if status != d.status:
            try:
                d = await self.client.patch(DEPLOYMENTS, d.metadata.name, {"status": status}, d.metadata.namespace,
                                            subresource="status")
            except NotFound:
                return
            self.written_deployments.keep(cache_key(d), d)
        self._watch_deadline(d, status, now)

    def _watch_deadline(self, d: Deployment, status: DeploymentStatus, now: float) -> None:
        """Progress has no event of its own when it stalls: wake up when the deadline would pass."""
        deadline = d.spec.progress_deadline_seconds
        cond = next((c for c in status.conditions if c.type == "Progressing"), None)
        if deadline is None or cond is None or cond.reason in (progress.TIMED_OUT, progress.NEW_RS_AVAILABLE):
            return
        if d.spec.paused:
            return
        since = seconds(cond.last_update_time) or now
        add_after(self.queue, cache_key(d), max(0.0, since + deadline - now) + 1.0)

    def _cache(self, rs: ReplicaSet) -> None:
        self.written.keep(cache_key(rs), rs)


def _collisions(d: Deployment) -> int:
    return (d.status.collision_count if d.status else None) or 0


def _size_annotations(d: Deployment) -> dict[str, str]:
    want = desired(d)
    return {rollout.DESIRED: str(want), rollout.MAX_REPLICAS: str(want + rollout.bounds(d)[0])}


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await DeploymentController(client).run(ready)
