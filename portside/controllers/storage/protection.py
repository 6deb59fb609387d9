"""Storage object in-use protection: a claim a pod uses, and a volume bound to a claim, are not removed while in
use (Kubernetes' ``pvc-protection`` and ``pv-protection`` controllers).

Admission gives every new claim the ``kubernetes.io/pvc-protection`` finalizer and every new volume
``kubernetes.io/pv-protection``; deleting them only sets their deletionTimestamp. This controller removes the
finalizer, which lets the API server remove the object, once

- for a claim: no pod that is bound to a node names it (an unscheduled pod does not count: the scheduler and
  the agent refuse a claim that is being deleted, so it will never run with it); a finished pod counts until
  it is deleted, as in Kubernetes, since its containers may still be inspected on the node;
- for a volume: it is not Bound (its claim is gone, or it never had one).
"""

from __future__ import annotations

from collections import defaultdict

from portside import api
from portside.api import volumes as vol
from portside.api.models import PersistentVolume, PersistentVolumeClaim, Pod
from portside.client import Client, NotFound
from portside.controllers.base import Controller
from portside.controllers.shared import InformerFactory
from portside.controllers.storage.binder import CLAIMS, VOLUMES, clone, phase

PODS = api.lookup("", "v1", "pods")


def without(obj, finalizer: str):
    changed = clone(obj)
    changed.metadata.finalizers = [f for f in obj.metadata.finalizers or [] if f != finalizer] or None
    return changed


class ProtectionController(Controller):
    name = "storage-protection-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.claims = self.informer(informers.get(CLAIMS))
        self.volumes = self.informer(informers.get(VOLUMES))
        self.pods = self.informer(informers.get(PODS))
        self.users: defaultdict[str, set[str]] = defaultdict(set)  # "ns/claim" -> uids of bound pods naming it
        self.claims.on_change(lambda kind, c, prev: self.queue.add(f"claim:{c.metadata.namespace}/{c.metadata.name}"))
        self.volumes.on_change(lambda kind, pv, prev: self.queue.add(f"volume:{pv.metadata.name}"))
        self.pods.on_change(self._pod_changed)

    def _pod_changed(self, kind: str, pod: Pod, prev: Pod | None) -> None:
        """Keep the index of who uses each claim; a pod that stops using one may free it."""
        uid, ns = pod.metadata.uid or "", pod.metadata.namespace or ""
        before = set(vol.claim_names(prev)) if prev is not None and prev.spec.node_name else set()
        after = set(vol.claim_names(pod)) if kind != "DELETED" and pod.spec.node_name else set()
        for name in after:
            self.users[f"{ns}/{name}"].add(uid)
        for name in before - after:
            key = f"{ns}/{name}"
            self.users[key].discard(uid)
            if not self.users[key]:
                del self.users[key]
            self.queue.add(f"claim:{key}")

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "claim":
            namespace, name = rest.split("/", 1)
            claim = self.claims.get(namespace, name)
            if claim is not None and claim.metadata.deletion_timestamp and not self.users.get(rest):
                await self._release(CLAIMS, claim, vol.PVC_PROTECTION)
        else:
            pv = self.volumes.get("", rest)
            if pv is not None and pv.metadata.deletion_timestamp and phase(pv) != "Bound":
                await self._release(VOLUMES, pv, vol.PV_PROTECTION)

    async def _release(self, info: api.ResourceInfo, obj: PersistentVolumeClaim | PersistentVolume,
                       finalizer: str) -> None:
        if finalizer not in (obj.metadata.finalizers or []):
            return
        try:
            await self.client.update(info, without(obj, finalizer))
        except NotFound:
            return
