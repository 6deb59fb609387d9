"""The StatefulSet controller: pods ``NAME-0..N-1`` with claims of their own, made, removed and updated in order.

Each sync claims the set's pods (only those named ``NAME-i``) and ControllerRevisions (adopting matching orphans,
releasing what no longer matches), finds or makes the update revision (the one of the current template) and the
current one (named by ``status.currentRevision``), and then, once the watch has shown every earlier pod create
and delete (expectations), takes one step of ``stateful.plan``: a pod's claims are made before the pod, claims get
the owners the retention policy asks for before any pod is deleted, and the status follows. The decisions are in
``stateful.py`` and ``history.py``; here are the cache reads and the API writes.

A claim event requeues the set it belongs to (by its name, ``TEMPLATE-SET-i``), so a pod waiting for an earlier
claim to be deleted is made as soon as it is gone.
"""

from __future__ import annotations

import asyncio

from portside import api
from portside.api.models import (
    ControllerRevision,
    OwnerReference,
    PersistentVolumeClaim,
    Pod,
    PodTemplateSpec,
    StatefulSet,
)
from portside.client import NORMAL, WARNING, AlreadyExists, ApiError, Client, Conflict, EventRecorder, NotFound
from portside.controllers import history, scaling, stateful
from portside.controllers.base import Controller
from portside.controllers.expectations import Expectations
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import (
    Written,
    available_in,
    controller_of,
    is_terminating,
    now_s,
    owner_json_patch,
    owner_ref,
    phase,
)
from portside.controllers.shared import InformerFactory
from portside.controllers.timers import add_after

PODS = api.lookup("", "v1", "pods")
CLAIMS = api.lookup("", "v1", "persistentvolumeclaims")
STATEFULSETS = api.lookup("apps", "v1", "statefulsets")
REVISIONS = api.lookup("apps", "v1", "controllerrevisions")


class StatefulSetController(Controller):
    name = "statefulset-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.expectations = Expectations()
        self.events = EventRecorder(client, self.name)
        self.written, self.written_revisions = Written(), Written()  # apart: their keys may coincide
        self.sets = self.informer(informers.get(STATEFULSETS))
        self.sets_in = ByNamespace(self.sets)
        self.pods = self.informer(informers.get(PODS))
        self.pods_in = ByNamespace(self.pods)
        self.revisions = self.informer(informers.get(REVISIONS))
        self.revisions_in = ByNamespace(self.revisions)
        self.claims = self.informer(informers.get(CLAIMS))
        self.sets.on_change(lambda kind, obj, prev: self.queue.add(cache_key(obj)))
        self.pods.on_change(self._pod_changed)
        self.revisions.on_change(self._revision_changed)
        self.claims.on_change(self._claim_changed)

    # -- event handlers: keys only -----------------------------------------------------------------------------

    def _pod_changed(self, kind: str, pod: Pod, prev: Pod | None) -> None:
        ns, ref = pod.metadata.namespace or "", controller_of(pod)
        if ref is not None and ref.kind == "StatefulSet":
            key = f"{ns}/{ref.name}"
            if kind == "ADDED":
                self.expectations.observed_add(key)
            elif kind == "DELETED" or is_terminating(pod):
                self.expectations.observed_delete(key, pod.metadata.uid or "")
            self.queue.add(key)
        elif ref is None:
            self._enqueue_matching(ns, pod.metadata.labels)
        old = controller_of(prev) if prev else None
        if old is not None and old != ref and old.kind == "StatefulSet":
            self.queue.add(f"{ns}/{old.name}")

    def _revision_changed(self, kind: str, rev: ControllerRevision, prev: ControllerRevision | None) -> None:
        ns, ref = rev.metadata.namespace or "", controller_of(rev)
        if ref is not None and ref.kind == "StatefulSet":
            self.queue.add(f"{ns}/{ref.name}")
        elif ref is None:
            self._enqueue_matching(ns, rev.metadata.labels)

    def _claim_changed(self, kind: str, claim: PersistentVolumeClaim, prev: PersistentVolumeClaim | None) -> None:
        for sts in self.sets_in(claim.metadata.namespace or ""):
            if stateful.claim_ordinal(sts, claim.metadata.name or "") is not None:
                self.queue.add(cache_key(sts))

    def _enqueue_matching(self, namespace: str, labels: dict[str, str] | None) -> None:
        for sts in self.sets_in(namespace):
            if scaling.selector_of(sts).matches(labels):
                self.queue.add(cache_key(sts))

    # -- sync ----------------------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        sts = self.written.fresh(key, self.sets.get(namespace, name))
        if sts is None:
            self.expectations.forget(key)
            return
        pods = await self._claim_pods(sts)
        if is_terminating(sts):
            return
        current, update, old = await self._history(sts)
        observed = self.expectations.satisfied(key)
        if observed:
            await self._step(key, sts, pods, current, update)
            await self._cleanup(sts, old, current, update, pods)
        await self._write_status(sts, current, update, observed)

    async def _step(self, key: str, sts: StatefulSet, pods: list[Pod], current: ControllerRevision,
                    update: ControllerRevision) -> None:
        plan = stateful.plan(sts, pods, update.metadata.name, now_s())
        await self._claim_owners(sts, pods)  # before any delete: a condemned pod's claims must name it first
        for pod in plan.relabel:
            await self._relabel(sts, pod)
        self.expectations.expect(key, adds=len(plan.create), deletes={p.metadata.uid for p in plan.delete})
        for pod in plan.failed:
            reason = "RecreatingFailedPod" if phase(pod) == "Failed" else "RecreatingTerminatedPod"
            word = "failed" if phase(pod) == "Failed" else "terminated"
            await self.events.record(sts, WARNING, reason, f"StatefulSet {sts.metadata.namespace}/{sts.metadata.name} "
                                     f"is recreating {word} Pod {pod.metadata.name}")
        await asyncio.gather(*(self._delete(key, sts, p) for p in plan.delete))
        failure = await self._create(key, sts, plan.create, current, update)
        if failure:
            raise RuntimeError(failure)  # retried with back-off; the Event says why

    # -- pods and claims -----------------------------------------------------------------------------------------

    async def _create(self, key: str, sts: StatefulSet, ordinals: list[int], current: ControllerRevision,
                      update: ControllerRevision) -> str:
        """Pods in slow-start batches (Parallel makes many at once), each after its claims."""
        done = 0
        for batch in scaling.slow_start(len(ordinals)):
            chunk, done = ordinals[done:done + batch], done + batch
            errors = [e for e in await asyncio.gather(*(self._create_one(key, sts, o, current, update)
                                                          for o in chunk)) if e]
            if errors:
                for _ in range(len(ordinals) - done):
                    self.expectations.observed_add(key)  # never coming
                return errors[0]
        return ""

    async def _create_one(self, key: str, sts: StatefulSet, ordinal: int, current: ControllerRevision,
                          update: ControllerRevision) -> str:
        name = stateful.pod_name(sts, ordinal)
        claims = stateful.new_claims(sts, ordinal, _set_ref(sts))
        existing = {c.metadata.name: self.claims.get(sts.metadata.namespace or "", c.metadata.name) for c in claims}
        if any(stateful.claim_blocks(c, name) for c in existing.values()):
            self.expectations.observed_add(key)
            return ""  # a claim on its way out: its deletion's event requeues the set
        error = await self._make_claims(sts, [c for c in claims if existing[c.metadata.name] is None], name)
        if error:
            self.expectations.observed_add(key)
            return error
        use_current = stateful.uses_current_revision(sts, ordinal)
        revision = current if use_current else update
        template = _template_of(revision) if use_current else sts.spec.template
        body = stateful.new_pod(sts, template, ordinal, revision.metadata.name, owner_ref(sts, STATEFULSETS))
        try:
            await self.client.create(PODS, body, sts.metadata.namespace)
        except ApiError as exc:
            self.expectations.observed_add(key)
            message = f"create Pod {name} in StatefulSet {sts.metadata.name} failed error: {exc}"
            await self.events.record(sts, WARNING, "FailedCreate", message)
            return message
        await self.events.record(sts, NORMAL, "SuccessfulCreate",
                                 f"create Pod {name} in StatefulSet {sts.metadata.name} successful")
        return ""

    async def _make_claims(self, sts: StatefulSet, claims: list[PersistentVolumeClaim], pod: str) -> str:
        """The pod's missing claims; the first failure ("" when all were made)."""
        for claim in claims:
            error = await self._create_claim(sts, claim, pod)
            if error:
                return error
        return ""

    async def _create_claim(self, sts: StatefulSet, claim: PersistentVolumeClaim, pod: str) -> str:
        name = claim.metadata.name
        try:
            await self.client.create(CLAIMS, claim, sts.metadata.namespace)
        except AlreadyExists:
            return ""  # made by an earlier sync whose write the cache has not shown yet
        except ApiError as exc:
            message = f"create Claim {name} for Pod {pod} in StatefulSet {sts.metadata.name} failed error: {exc}"
            await self.events.record(sts, WARNING, "FailedCreate", message)
            return message
        await self.events.record(sts, NORMAL, "SuccessfulCreate",
                                 f"create Claim {name} Pod {pod} in StatefulSet {sts.metadata.name} success")
        return ""

    async def _delete(self, key: str, sts: StatefulSet, pod: Pod) -> None:
        m = pod.metadata
        try:
            await self.client.delete(PODS, m.name, m.namespace, uid=m.uid)
        except NotFound:
            self.expectations.observed_delete(key, m.uid)
            return
        except ApiError as exc:
            self.expectations.observed_delete(key, m.uid)
            await self.events.record(sts, WARNING, "FailedDelete", f"delete Pod {m.name} in StatefulSet "
                                                                   f"{sts.metadata.name} failed error: {exc}")
            raise
        await self.events.record(sts, NORMAL, "SuccessfulDelete",
                                 f"delete Pod {m.name} in StatefulSet {sts.metadata.name} successful")

    async def _relabel(self, sts: StatefulSet, pod: Pod) -> None:
        labels = stateful.identity_labels(sts, stateful.ordinal_of(sts, pod))
        try:
            await self.client.patch(PODS, pod.metadata.name, {"metadata": {"labels": labels}}, pod.metadata.namespace)
        except NotFound:
            pass

    async def _claim_owners(self, sts: StatefulSet, pods: list[Pod]) -> None:
        """Each live pod's claims carry the owners the retention policy asks for (``stateful.claim_owners``)."""
        set_ref, ns = _set_ref(sts), sts.metadata.namespace or ""
        for pod in (p for p in pods if not is_terminating(p)):
            ordinal = stateful.ordinal_of(sts, pod)
            pod_ref = OwnerReference(api_version="v1", kind="Pod", name=pod.metadata.name, uid=pod.metadata.uid)
            for template in stateful.claim_templates(sts):
                claim = self.claims.get(ns, stateful.claim_name(template.metadata.name, sts, ordinal))
                refs = stateful.claim_owners(sts, claim, pod, set_ref, pod_ref) if claim is not None else None
                if refs is not None:
                    await self._set_owners(CLAIMS, claim, refs)

    # -- ownership -----------------------------------------------------------------------------------------------

    async def _claim_pods(self, sts: StatefulSet) -> list[Pod]:
        claim = stateful.claim_pods(sts, self.pods_in(sts.metadata.namespace or ""))
        return await self._settle(sts, PODS, claim)

    async def _settle(self, sts: StatefulSet, info: api.ResourceInfo, claim: scaling.Claim) -> list:
        """What the set owns, after adopting the claim's orphans and releasing what it no longer matches."""
        owned = list(claim.owned)
        for obj in claim.adopt:
            refs = (obj.metadata.owner_references or []) + [owner_ref(sts, STATEFULSETS)]
            owned += [o for o in [await self._set_owners(info, obj, refs)] if o is not None]
        for obj in claim.release:
            await self._set_owners(info, obj, [r for r in obj.metadata.owner_references or []
                                               if r.uid != sts.metadata.uid])
        return owned

    async def _set_owners(self, info: api.ResourceInfo, obj, refs):
        try:
            return await self.client.patch(info, obj.metadata.name, owner_json_patch(obj, refs),
                                           obj.metadata.namespace, type="json")
        except (NotFound, Conflict):
            return None  # changed under us: its next event brings it back

    def _current_pods(self, sts: StatefulSet) -> list[Pod]:
        """The owned pods as the cache has them now (after this sync's writes were seen, or not yet)."""
        return [p for p in self.pods_in(sts.metadata.namespace or "") if controller_of(p) is not None
                and controller_of(p).uid == sts.metadata.uid]

    # -- revisions -----------------------------------------------------------------------------------------------

    async def _history(self, sts: StatefulSet) -> tuple[ControllerRevision, ControllerRevision,
                                                         list[ControllerRevision]]:
        """(current, update, the revisions other than the update one): the update revision is the template's
        (made, or renumbered above the others after an undo); the current one is ``status.currentRevision``'s,
        or the update revision when there is none yet."""
        revisions = await self._settle(sts, REVISIONS, scaling.claim(sts, self.revisions_in(sts.metadata.namespace
                                                                                            or "")))
        revisions = [self.written_revisions.fresh(cache_key(r), r) for r in revisions]
        update, duplicates, old = history.split(sts.spec.template, revisions)
        for dup in duplicates:
            await self._delete_revision(dup)
        top = max((history.number(r) for r in old), default=0)
        if update is None:
            update = await self._new_revision(sts, history.next_number(old))
        elif history.number(update) <= top:
            update = await self.client.patch(REVISIONS, update.metadata.name, {"revision": top + 1},
                                             update.metadata.namespace)
        self.written_revisions.keep(cache_key(update), update)
        named = (sts.status.current_revision if sts.status else None) or ""
        current = next((r for r in old if r.metadata.name == named), update)
        return current, update, old

    async def _new_revision(self, sts: StatefulSet, number: int) -> ControllerRevision:
        collisions = (sts.status.collision_count if sts.status else None) or 0
        body = history.new_revision(sts.metadata.name, sts.metadata.namespace, sts.spec.template,
                                    owner_ref(sts, STATEFULSETS), number, collisions)
        try:
            return await self.client.create(REVISIONS, body)
        except AlreadyExists:
            pass
        existing = await self.client.get(REVISIONS, body.metadata.name, sts.metadata.namespace)
        ref = controller_of(existing)
        if ref is not None and ref.uid == sts.metadata.uid and history.matches(sts.spec.template, existing):
            return existing  # ours, made by a sync whose write the cache had not shown yet
        written = await self.client.patch(STATEFULSETS, sts.metadata.name,
                                          {"status": {"collisionCount": collisions + 1}},
                                          sts.metadata.namespace, subresource="status")
        self.written.keep(cache_key(written), written)
        raise RuntimeError(f"controller revision hash collision with {body.metadata.name}")

    async def _cleanup(self, sts: StatefulSet, old: list[ControllerRevision], current: ControllerRevision,
                       update: ControllerRevision, pods: list[Pod]) -> None:
        """Old revisions beyond ``revisionHistoryLimit``; the current one and those live pods run are kept."""
        live = {stateful.revision_of(p) for p in pods} | {current.metadata.name, update.metadata.name}
        hashes = {history.hash_of(r) for r in old if r.metadata.name in live}
        for rev in history.to_delete([r for r in old if r.metadata.name not in live], hashes,
                                     sts.spec.revision_history_limit):
            await self._delete_revision(rev)

    async def _delete_revision(self, rev: ControllerRevision) -> None:
        try:
            await self.client.delete(REVISIONS, rev.metadata.name, rev.metadata.namespace, uid=rev.metadata.uid)
        except NotFound:
            pass

    # -- status --------------------------------------------------------------------------------------------------

    async def _write_status(self, sts: StatefulSet, current: ControllerRevision, update: ControllerRevision,
                            observed: bool) -> None:
        now, pods = now_s(), self._current_pods(sts)
        collisions = (sts.status.collision_count if sts.status else None) or 0
        status = stateful.status(sts, pods, current.metadata.name, update.metadata.name, collisions, now, observed)
        if status != sts.status:
            try:
                written = await self.client.patch(STATEFULSETS, sts.metadata.name, {"status": status},
                                                  sts.metadata.namespace, subresource="status")
            except NotFound:
                return
            self.written.keep(cache_key(written), written)
        min_ready = sts.spec.min_ready_seconds or 0
        waits = [w for p in pods if (w := available_in(p, min_ready, now))]
        if waits:
            add_after(self.queue, cache_key(sts), min(waits) + 0.05)


def _set_ref(sts: StatefulSet) -> OwnerReference:
    """The set as a claim's (non-controlling) owner, as Kubernetes writes it for the retention policy."""
    return OwnerReference(api_version="apps/v1", kind="StatefulSet", name=sts.metadata.name, uid=sts.metadata.uid)


def _template_of(revision: ControllerRevision) -> PodTemplateSpec:
    return PodTemplateSpec.from_dict(history.template_of(revision) or {})


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await StatefulSetController(client).run(ready)
