"""The PV controller: binds claims to volumes one to one, keeps both phases, and releases a volume whose claim is
gone (Kubernetes' ``persistentvolume-binder-controller``).

Who writes what (so that a controller making claims, such as StatefulSet's, knows what is left to it):

- the claim's author: its spec (size, access modes, class, selector, or ``volumeName`` to pre-bind it);
- admission: the default class when the claim names none, the protection finalizers;
- the scheduler: ``volume.kubernetes.io/selected-node`` on a claim that waits for its first consumer, or a
  volume's ``claimRef`` when it picked an existing volume on the chosen node;
- this controller: the volume's ``claimRef`` (when it chose the volume) and phase, the claim's ``volumeName``,
  its bind annotations and its status (phase, capacity, access modes), and the provisioner annotation that asks
  a provisioner for a volume;
- a provisioner (``localpath``): the new volume, pre-bound to the claim by ``claimRef`` with the claim's uid;
- the node's agent: a Released local-path volume's directory and then the volume object (reclaim policy Delete).

Binding runs in Kubernetes' order, each step one write, so a sync that stops half way is finished by the next:
the volume's claimRef, the volume's phase, the claim's volumeName and annotations, the claim's phase. Phases:
a claim is Pending until bound, Bound, or Lost when its volume disappears; a volume is Pending (just made),
Available (free), Bound, Released (its claim was deleted) or Failed (its reclaim could not be done).

Keys are ``claim:NAMESPACE/NAME`` and ``volume:NAME``; one worker, as Kubernetes runs one per queue, so two
claims never race for one volume inside this controller (the compare-and-swap of each write still guards
against everyone else).
"""

from __future__ import annotations

import asyncio
import dataclasses

from portside import api
from portside.api import volumes as vol
from portside.api.models import (
    ObjectReference,
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeClaimStatus,
    PersistentVolumeStatus,
    StorageClass,
)
from portside.client import NORMAL, WARNING, Client, EventRecorder
from portside.controllers.base import Controller
from portside.controllers.pods import timestamp
from portside.controllers.shared import InformerFactory

CLAIMS = api.lookup("", "v1", "persistentvolumeclaims")
VOLUMES = api.lookup("", "v1", "persistentvolumes")
CLASSES = api.lookup("storage.k8s.io", "v1", "storageclasses")
NODES = api.lookup("", "v1", "nodes")
NO_PROVISIONER = "kubernetes.io/no-provisioner"
NO_DELETER = "error getting deleter volume plugin for volume {name!r}: no deletable volume plugin matched"


def clone(obj):
    """A copy to change and write: informer objects are shared and never changed in place."""
    return type(obj).from_dict(obj.to_dict())


def annotate(obj, **values: str) -> None:
    obj.metadata.annotations = {**(obj.metadata.annotations or {}), **values}


def phase(obj) -> str:
    return (obj.status.phase if obj.status else None) or ""


def is_bound_claim(claim: PersistentVolumeClaim) -> bool:
    return vol.BIND_COMPLETED_ANNOTATION in (claim.metadata.annotations or {})


def claim_key(namespace: str, name: str) -> str:
    return f"claim:{namespace}/{name}"


class PersistentVolumeController(Controller):
    name = "persistentvolume-binder-controller"
    workers = 1

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.events = EventRecorder(client, "persistentvolume-controller")
        self.claims = self.informer(informers.get(CLAIMS))
        self.volumes = self.informer(informers.get(VOLUMES))
        self.classes = self.informer(informers.get(CLASSES))
        self.nodes = self.informer(informers.get(NODES))
        self.claims.on_change(self._claim_changed)
        self.volumes.on_change(self._volume_changed)
        self.classes.on_change(lambda kind, sc, prev: self._pending_claims(sc.metadata.name))
        self.said: dict[str, str] = {}  # claim uid -> the last message told about it, so a resync repeats none

    # -- what to look at again ------------------------------------------------------------------------------

    def _claim_changed(self, kind: str, claim: PersistentVolumeClaim, prev) -> None:
        self.queue.add(claim_key(claim.metadata.namespace, claim.metadata.name))
        if kind == "DELETED":
            self.said.pop(claim.metadata.uid or "", None)
            for pv in self.volumes.cache.values():
                ref = pv.spec.claim_ref
                if ref is not None and (ref.uid == claim.metadata.uid or pv.metadata.name == claim.spec.volume_name):
                    self.queue.add(f"volume:{pv.metadata.name}")

    def _volume_changed(self, kind: str, pv: PersistentVolume, prev) -> None:
        self.queue.add(f"volume:{pv.metadata.name}")
        ref = pv.spec.claim_ref
        if ref is not None:
            self.queue.add(claim_key(ref.namespace, ref.name))
        if kind != "DELETED" and ref is None:
            self._pending_claims(None)  # a free volume: a waiting claim may fit it now

    def _pending_claims(self, class_name: str | None) -> None:
        for claim in self.claims.cache.values():
            if not claim.spec.volume_name and (class_name is None or vol.claim_class(claim) == class_name):
                self.queue.add(claim_key(claim.metadata.namespace, claim.metadata.name))

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "claim":
            namespace, name = rest.split("/", 1)
            claim = self.claims.get(namespace, name)
            if claim is not None:
                await self.sync_claim(claim)
        else:
            pv = self.volumes.get("", rest)
            if pv is not None:
                await self.sync_volume(pv)

    # -- claims ---------------------------------------------------------------------------------------------

    async def sync_claim(self, claim: PersistentVolumeClaim) -> None:
        if not claim.spec.volume_name:
            await self._unbound(claim)
        elif not is_bound_claim(claim):
            await self._pre_bound(claim)
        else:
            await self._bound(claim)

    def _class(self, claim: PersistentVolumeClaim) -> StorageClass | None:
        name = vol.claim_class(claim)
        return self.classes.get("", name) if name else None

    def _waits_for_consumer(self, sc: StorageClass | None) -> bool:
        return sc is not None and sc.volume_binding_mode == vol.WAIT_FOR_FIRST_CONSUMER

    async def _unbound(self, claim: PersistentVolumeClaim) -> None:
        """Bind to the best free volume, or ask for one to be provisioned, or say what it waits for."""
        if claim.metadata.deletion_timestamp:
            return
        sc = self._class(claim)
        waits = self._waits_for_consumer(sc)
        selected = (claim.metadata.annotations or {}).get(vol.SELECTED_NODE_ANNOTATION)
        if waits and not selected:
            pre_bound = next((pv for pv in self.volumes.cache.values()
                              if vol.is_pre_bound_to(pv, claim) and vol.satisfies(pv, claim)), None)
            if pre_bound is not None:
                return await self.bind(pre_bound, claim)
            return await self._tell(claim, NORMAL, "WaitForFirstConsumer",
                                    "waiting for first consumer to be created before binding")
        node = self.nodes.get("", selected) if selected else None
        found = vol.find_volume(claim, list(self.volumes.cache.values()), node, need_node=waits)
        if found is not None:
            return await self.bind(found, claim)
        await self._provision(claim, sc)

    async def _provision(self, claim: PersistentVolumeClaim, sc: StorageClass | None) -> None:
        name = vol.claim_class(claim)
        if not name:
            return await self._tell(claim, NORMAL, "FailedBinding",
                                    "no persistent volumes available for this claim and no storage class is set")
        if sc is None:
            return await self._tell(claim, WARNING, "ProvisioningFailed",
                                    f'storageclass.storage.k8s.io "{name}" not found')
        if sc.provisioner == NO_PROVISIONER:
            return await self._tell(claim, NORMAL, "FailedBinding",
                                    f"no persistent volumes available for this claim and storage class {name!r} "
                                    f"provisions none ({NO_PROVISIONER})")
        annotations = claim.metadata.annotations or {}
        if annotations.get(vol.PROVISIONER_ANNOTATION) != sc.provisioner:
            asked = clone(claim)
            annotate(asked, **{vol.PROVISIONER_ANNOTATION: sc.provisioner,
                               vol.BETA_PROVISIONER_ANNOTATION: sc.provisioner})
            await self.client.update(CLAIMS, asked)
        await self._tell(claim, NORMAL, "ExternalProvisioning",
                         f"Waiting for a volume to be created either by the external provisioner '{sc.provisioner}' "
                         f"or manually by the system administrator. If volume creation is delayed, please verify "
                         f"that the provisioner is running and correctly registered.")

    async def _pre_bound(self, claim: PersistentVolumeClaim) -> None:
        """``spec.volumeName`` set by the claim's author: bind to exactly that volume, or say why not."""
        pv = self.volumes.get("", claim.spec.volume_name)
        if pv is None:
            return  # Pending until the named volume exists
        ref = pv.spec.claim_ref
        if ref is not None and not vol.is_pre_bound_to(pv, claim):
            return await self._tell(claim, WARNING, "FailedBinding",
                                    f"volume {pv.metadata.name!r} already bound to a different claim.")
        why = vol.mismatch(pv, claim)
        if why:
            return await self._tell(claim, WARNING, "VolumeMismatch",
                                    f"Cannot bind to requested volume {pv.metadata.name!r}: {why}")
        await self.bind(pv, claim)

    async def _bound(self, claim: PersistentVolumeClaim) -> None:
        pv = self.volumes.get("", claim.spec.volume_name)
        if pv is None:
            return await self._lose(claim, "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data "
                                                        "on the volume is lost!")
        ref = pv.spec.claim_ref
        if ref is None or ref.uid == claim.metadata.uid:
            return await self.bind(pv, claim)  # finishes a binding half done; writes nothing when it is whole
        await self._lose(claim, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound "
                                                 "incorrectly")

    async def _lose(self, claim: PersistentVolumeClaim, reason: str, message: str) -> None:
        if phase(claim) != "Lost":
            lost = clone(claim)
            lost.status = dataclasses.replace(lost.status or PersistentVolumeClaimStatus(), phase="Lost")
            await self.client.update_status(CLAIMS, lost)
        await self._tell(claim, WARNING, reason, message)

    async def _tell(self, claim: PersistentVolumeClaim, type_: str, reason: str, message: str) -> None:
        """An Event on the claim, once per distinct message (a claim is synced again on every volume change)."""
        uid = claim.metadata.uid or ""
        if self.said.get(uid) != message:
            self.said[uid] = message
            await self.events.record(claim, type_, reason, message)

    # -- binding --------------------------------------------------------------------------------------------

    async def bind(self, pv: PersistentVolume, claim: PersistentVolumeClaim) -> None:
        """Each step writes only when it is not done already, so this is also how a binding is checked."""
        pv = await self._claim_volume(pv, claim)
        pv = await self._set_volume_phase(pv, "Bound")
        claim = await self._name_volume(claim, pv)
        await self._set_claim_bound(claim, pv)
        self.said.pop(claim.metadata.uid or "", None)

    async def _claim_volume(self, pv: PersistentVolume, claim: PersistentVolumeClaim) -> PersistentVolume:
        ref, m = pv.spec.claim_ref, claim.metadata
        if ref is not None and ref.uid == m.uid and ref.name == m.name and ref.namespace == m.namespace:
            return pv
        bound = clone(pv)
        bound.spec.claim_ref = ObjectReference(kind="PersistentVolumeClaim", namespace=m.namespace, name=m.name,
                                               uid=m.uid, api_version="v1", resource_version=m.resource_version)
        if ref is None:  # chosen here, not by the claim's author or a provisioner
            annotate(bound, **{vol.BOUND_BY_CONTROLLER_ANNOTATION: "yes"})
        return await self.client.update(VOLUMES, bound)

    async def _set_volume_phase(self, pv: PersistentVolume, to: str, message: str = "") -> PersistentVolume:
        if phase(pv) == to and (pv.status.message or "") == message:
            return pv
        changed = clone(pv)
        changed.status = PersistentVolumeStatus(phase=to, message=message or None,
                                                last_phase_transition_time=timestamp())
        return await self.client.update_status(VOLUMES, changed)

    async def _name_volume(self, claim: PersistentVolumeClaim, pv: PersistentVolume) -> PersistentVolumeClaim:
        annotations = claim.metadata.annotations or {}
        if claim.spec.volume_name == pv.metadata.name and vol.BIND_COMPLETED_ANNOTATION in annotations:
            return claim
        named = clone(claim)
        if not named.spec.volume_name:
            annotate(named, **{vol.BOUND_BY_CONTROLLER_ANNOTATION: "yes"})
        named.spec.volume_name = pv.metadata.name
        annotate(named, **{vol.BIND_COMPLETED_ANNOTATION: "yes"})
        return await self.client.update(CLAIMS, named)

    async def _set_claim_bound(self, claim: PersistentVolumeClaim, pv: PersistentVolume) -> None:
        want = PersistentVolumeClaimStatus(phase="Bound", access_modes=pv.spec.access_modes,
                                           capacity=pv.spec.capacity,
                                           conditions=claim.status.conditions if claim.status else None)
        if claim.status != want:
            bound = clone(claim)
            bound.status = want
            await self.client.update_status(CLAIMS, bound)

    # -- volumes --------------------------------------------------------------------------------------------

    async def sync_volume(self, pv: PersistentVolume) -> None:
        ref = pv.spec.claim_ref
        if ref is None:
            await self._set_volume_phase(pv, "Available")
            return
        claim = self.claims.get(ref.namespace or "", ref.name or "")
        if claim is not None and ref.uid and claim.metadata.uid != ref.uid:
            claim = None  # a new claim of the same name: not the one this volume was bound to
        if claim is None and not ref.uid:
            await self._set_volume_phase(pv, "Available")  # pre-bound to a claim that does not exist yet
        elif claim is None:
            await self._release(pv)
        elif claim.spec.volume_name == pv.metadata.name:
            await self._set_volume_phase(pv, "Bound")
        elif claim.spec.volume_name and vol.BOUND_BY_CONTROLLER_ANNOTATION in (pv.metadata.annotations or {}):
            await self._unbind(pv)  # this controller chose the volume, but the claim went to another one
        elif phase(pv) in ("", "Pending"):
            await self._set_volume_phase(pv, "Available")

    async def _unbind(self, pv: PersistentVolume) -> None:
        free = clone(pv)
        free.spec.claim_ref = None
        free.metadata.annotations = {k: v for k, v in (free.metadata.annotations or {}).items()
                                     if k != vol.BOUND_BY_CONTROLLER_ANNOTATION} or None
        free = await self.client.update(VOLUMES, free)
        await self._set_volume_phase(free, "Available")

    async def _release(self, pv: PersistentVolume) -> None:
        """The claim is gone: Released, then the reclaim policy. Retain keeps the volume (and its data) for an
        administrator; Delete of a local-path volume is its node's agent's to do; other volumes have no deleter
        (as hostPath and local volumes have none in Kubernetes) and fail."""
        if phase(pv) == "Failed":
            return
        if phase(pv) != "Released":
            pv = await self._set_volume_phase(pv, "Released")
        if pv.spec.persistent_volume_reclaim_policy != "Delete":
            return
        provisioner = (pv.metadata.annotations or {}).get(vol.PROVISIONED_BY_ANNOTATION)
        if provisioner == vol.LOCAL_PATH_PROVISIONER:
            return
        message = NO_DELETER.format(name=pv.metadata.name)
        await self._set_volume_phase(pv, "Failed", message)
        await self.events.record(pv, WARNING, "VolumeFailedDelete", message)


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await PersistentVolumeController(client).run(ready)


__all__ = ["PersistentVolumeController", "clone", "run"]
