"""The DaemonSet controller: one pod of the template on every node that should run it, rolled out by revision.

Each sync claims the DaemonSet's pods and ControllerRevisions (adopting matching orphans, releasing what no longer
matches), finds or makes the revision of the current template (its hash labels the pods), then takes one step:
the manage step (a pod for each eligible node without one; away with pods on ineligible or vanished nodes, failed
pods and extras), or, once the watch has shown every earlier write (expectations), one RollingUpdate step. The
arithmetic is in ``daemons.py`` and ``history.py``; here are the cache reads and the API writes.

Node changes that can change eligibility (labels, taints, a node added or removed) requeue every DaemonSet, which
is how a joining node gets its pod.
"""

from __future__ import annotations

import asyncio
import time

from portside import api
from portside.api.models import ControllerRevision, DaemonSet, Node, Pod
from portside.client import NORMAL, WARNING, AlreadyExists, ApiError, Client, Conflict, EventRecorder, NotFound
from portside.controllers import daemons, history, scaling
from portside.controllers.base import Controller
from portside.controllers.expectations import Expectations
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.owned import OwnedRouting
from portside.controllers.pods import (
    Written,
    available_in,
    controller_of,
    is_terminating,
    now_s,
    owner_json_patch,
    owner_ref,
)
from portside.controllers.shared import InformerFactory
from portside.controllers.timers import add_after

PODS = api.lookup("", "v1", "pods")
NODES = api.lookup("", "v1", "nodes")
DAEMONSETS = api.lookup("apps", "v1", "daemonsets")
REVISIONS = api.lookup("apps", "v1", "controllerrevisions")
BACKOFF_S, MAX_BACKOFF_S = 1.0, 900.0  # before a failed pod on the same node is replaced again


class DaemonSetController(OwnedRouting, Controller):
    OWNER_KIND = "DaemonSet"
    name = "daemonset-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.expectations = Expectations()
        self.events = EventRecorder(client, self.name)
        self.written, self.written_revisions = Written(), Written()  # apart: their keys may coincide
        self.backoff: dict[str, tuple[float, float]] = {}  # ds key/node -> (delay, since) on the monotonic clock
        self.sets = self.informer(informers.get(DAEMONSETS))
        self.sets_in = ByNamespace(self.sets)
        self.pods = self.informer(informers.get(PODS))
        self.pods_in = ByNamespace(self.pods)
        self.nodes = self.informer(informers.get(NODES))
        self.revisions = self.informer(informers.get(REVISIONS))
        self.revisions_in = ByNamespace(self.revisions)
        self.sets.on_change(lambda kind, obj, prev: self.queue.add(cache_key(obj)))
        self.pods.on_change(self._pod_changed)
        self.nodes.on_change(self._node_changed)
        self.revisions.on_change(self._revision_changed)

    # -- event handlers: keys only -----------------------------------------------------------------------------

    def _node_changed(self, kind: str, node: Node, prev: Node | None) -> None:
        """Heartbeats and status writes change nothing a DaemonSet decides on; labels, taints and the node's
        coming and going do."""
        if kind == "MODIFIED" and prev is not None and _placement(node) == _placement(prev):
            return
        for ds in list(self.sets.cache.values()):
            self.queue.add(cache_key(ds))

    # -- sync ----------------------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        ds = self.written.fresh(key, self.sets.get(namespace, name))
        if ds is None:
            self.expectations.forget(key)
            self._forget_backoff(key)
            return
        pods = await self._claim(ds, PODS, self.pods_in(namespace))
        if is_terminating(ds):
            return
        revision, old = await self._history(ds)
        hash_ = history.hash_of(revision)
        nodes = list(self.nodes.cache.values())
        observed = self.expectations.satisfied(key)
        if observed:
            await self._step(key, ds, nodes, pods, hash_)
            await self._cleanup(ds, old, pods)
        await self._write_status(ds, nodes, self._current_pods(ds), hash_, observed)

    async def _step(self, key: str, ds: DaemonSet, nodes: list[Node], pods: list[Pod], hash_: str) -> None:
        by_node, now = daemons.by_node(pods), now_s()
        plan = daemons.manage(ds, nodes, by_node, hash_, now, self._backing_off(key))
        for node in plan.held:
            add_after(self.queue, key, self._backoff_left(key, node))
        if not plan.create and not plan.delete and _rolling(ds):
            plan = daemons.rolling_update(ds, nodes, by_node, hash_, now)
        if plan.create or plan.delete:
            await self._apply(key, ds, plan, hash_)

    async def _apply(self, key: str, ds: DaemonSet, plan: daemons.Plan, hash_: str) -> None:
        self.expectations.expect(key, adds=len(plan.create), deletes={p.metadata.uid for p in plan.delete})
        for pod in plan.failed:
            node = daemons.target_node(pod)
            self._back_off(key, node)
            await self.events.record(ds, WARNING, "FailedDaemonPod", f"Found failed daemon pod "
                                     f"{pod.metadata.namespace}/{pod.metadata.name} on node {node}, will try to kill it")
        await asyncio.gather(*(self._delete(key, ds, p) for p in plan.delete))
        failure = await self._create(key, ds, plan.create, hash_)
        if failure:
            raise RuntimeError(failure)  # retried with back-off; the Event says why

    async def _create(self, key: str, ds: DaemonSet, nodes: list[str], hash_: str) -> str:
        ref, done = owner_ref(ds, DAEMONSETS), 0
        for batch in scaling.slow_start(len(nodes)):
            chunk, done = nodes[done:done + batch], done + batch
            errors = [e for e in await asyncio.gather(*(self._create_one(ds, daemons.pod_for(ds, n, hash_, ref))
                                                          for n in chunk)) if e]
            if errors:
                for _ in range(len(errors) + len(nodes) - done):
                    self.expectations.observed_add(key)  # never coming
                return errors[0]
        return ""

    async def _create_one(self, ds: DaemonSet, body: Pod) -> str:
        try:
            pod = await self.client.create(PODS, body, ds.metadata.namespace)
        except ApiError as exc:
            await self.events.record(ds, WARNING, "FailedCreate", f"Error creating: {exc}")
            return str(exc)
        await self.events.record(ds, NORMAL, "SuccessfulCreate", f"Created pod: {pod.metadata.name}")
        return ""

    async def _delete(self, key: str, ds: DaemonSet, pod: Pod) -> None:
        m = pod.metadata
        try:
            await self.client.delete(PODS, m.name, m.namespace, uid=m.uid)
        except NotFound:
            self.expectations.observed_delete(key, m.uid)
            return
        except ApiError as exc:
            self.expectations.observed_delete(key, m.uid)
            await self.events.record(ds, WARNING, "FailedDelete", f"Error deleting: {exc}")
            raise
        await self.events.record(ds, NORMAL, "SuccessfulDelete", f"Deleted pod: {m.name}")

    # -- ownership -----------------------------------------------------------------------------------------------

    async def _claim(self, ds: DaemonSet, info: api.ResourceInfo, objs: list) -> list:
        """What the DaemonSet owns, after adopting matching orphans and releasing what no longer matches."""
        claim = scaling.claim(ds, objs)
        owned = list(claim.owned)
        for obj in claim.adopt:
            refs = (obj.metadata.owner_references or []) + [owner_ref(ds, DAEMONSETS)]
            owned += [o for o in [await self._set_owners(info, obj, refs)] if o is not None]
        for obj in claim.release:
            await self._set_owners(info, obj, [r for r in obj.metadata.owner_references or []
                                               if r.uid != ds.metadata.uid])
        return owned

    async def _set_owners(self, info: api.ResourceInfo, obj, refs):
        try:
            return await self.client.patch(info, obj.metadata.name, owner_json_patch(obj, refs),
                                           obj.metadata.namespace, type="json")
        except (NotFound, Conflict):
            return None  # changed under us: its next event brings it back

    def _current_pods(self, ds: DaemonSet) -> dict[str, list[Pod]]:
        """The owned pods as the cache has them now (after this sync's writes were seen, or not yet)."""
        owned = [p for p in self.pods_in(ds.metadata.namespace or "") if controller_of(p) is not None
                 and controller_of(p).uid == ds.metadata.uid]
        return daemons.by_node(owned)

    # -- revisions -----------------------------------------------------------------------------------------------

    async def _history(self, ds: DaemonSet) -> tuple[ControllerRevision, list[ControllerRevision]]:
        """The current revision (made, or renumbered above the others after an undo) and the old ones."""
        revisions = await self._claim(ds, REVISIONS, self.revisions_in(ds.metadata.namespace or ""))
        revisions = [self.written_revisions.fresh(cache_key(r), r) for r in revisions]
        current, duplicates, old = history.split(ds.spec.template, revisions)
        for dup in duplicates:
            await self._delete_revision(dup)
        top = max((history.number(r) for r in old), default=0)
        if current is None:
            current = await self._new_revision(ds, history.next_number(old))
        elif history.number(current) <= top:
            current = await self.client.patch(REVISIONS, current.metadata.name, {"revision": top + 1},
                                              current.metadata.namespace)
        self.written_revisions.keep(cache_key(current), current)
        return current, old

    async def _new_revision(self, ds: DaemonSet, number: int) -> ControllerRevision:
        collisions = (ds.status.collision_count if ds.status else None) or 0
        body = history.new_revision(ds.metadata.name, ds.metadata.namespace, ds.spec.template,
                                    owner_ref(ds, DAEMONSETS), number, collisions)
        try:
            return await self.client.create(REVISIONS, body)
        except AlreadyExists:
            pass
        existing = await self.client.get(REVISIONS, body.metadata.name, ds.metadata.namespace)
        ref = controller_of(existing)
        if ref is not None and ref.uid == ds.metadata.uid and history.matches(ds.spec.template, existing):
            return existing  # ours, made by a sync whose write the cache had not shown yet
        written = await self.client.patch(DAEMONSETS, ds.metadata.name, {"status": {"collisionCount": collisions + 1}},
                                          ds.metadata.namespace, subresource="status")
        self.written.keep(cache_key(written), written)
        raise RuntimeError(f"controller revision hash collision with {body.metadata.name}")

    async def _cleanup(self, ds: DaemonSet, old: list[ControllerRevision], pods: list[Pod]) -> None:
        live = {(p.metadata.labels or {}).get(daemons.HASH_LABEL, "") for p in pods}
        for rev in history.to_delete(old, live, ds.spec.revision_history_limit):
            await self._delete_revision(rev)

    async def _delete_revision(self, rev: ControllerRevision) -> None:
        try:
            await self.client.delete(REVISIONS, rev.metadata.name, rev.metadata.namespace, uid=rev.metadata.uid)
        except NotFound:
            pass

    # -- status and back-off -------------------------------------------------------------------------------------

    async def _write_status(self, ds: DaemonSet, nodes: list[Node], pods: dict[str, list[Pod]], hash_: str,
                            observed: bool) -> None:
        now = now_s()
        status = daemons.status(ds, nodes, pods, hash_, now, observed)
        if status != ds.status:
            try:
                written = await self.client.patch(DAEMONSETS, ds.metadata.name, {"status": status},
                                                  ds.metadata.namespace, subresource="status")
            except NotFound:
                return
            self.written.keep(cache_key(written), written)
        min_ready = ds.spec.min_ready_seconds or 0
        waits = [w for group in pods.values() for p in group if (w := available_in(p, min_ready, now))]
        if waits:
            add_after(self.queue, cache_key(ds), min(waits) + 0.05)

    def _back_off(self, key: str, node: str) -> None:
        delay, _ = self.backoff.get(f"{key}/{node}", (BACKOFF_S / 2, 0.0))
        self.backoff[f"{key}/{node}"] = (min(MAX_BACKOFF_S, delay * 2), time.monotonic())

    def _backoff_left(self, key: str, node: str) -> float:
        delay, since = self.backoff.get(f"{key}/{node}", (0.0, 0.0))
        return max(0.0, since + delay - time.monotonic())

    def _backing_off(self, key: str) -> frozenset[str]:
        prefix = f"{key}/"
        return frozenset(k[len(prefix):] for k in self.backoff if k.startswith(prefix)
                         and self._backoff_left(key, k[len(prefix):]) > 0)

    def _forget_backoff(self, key: str) -> None:
        for k in [k for k in self.backoff if k.startswith(f"{key}/")]:
            del self.backoff[k]


def _placement(node: Node) -> tuple:
    """What of a node decides where daemon pods go."""
    spec = node.spec
    taints = tuple((t.key, t.value, t.effect) for t in (spec.taints if spec else None) or [])
    return tuple(sorted((node.metadata.labels or {}).items())), taints, bool(spec and spec.unschedulable)


def _rolling(ds: DaemonSet) -> bool:
    strategy = ds.spec.update_strategy
    return strategy is None or strategy.type in (None, "RollingUpdate")


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await DaemonSetController(client).run(ready)
