"""The built-in local-path provisioner and the cluster's default StorageClass, ``local-path`` (k3s' local
storage: ``portside up --disable local-storage`` leaves both out).

The class binds ``WaitForFirstConsumer``: a claim of it waits until the scheduler places the first pod using
it, which puts the chosen node on the claim (``volume.kubernetes.io/selected-node``). The PV controller then
asks for a volume (``volume.kubernetes.io/storage-provisioner: portside.io/local-path``), and this controller
makes it: a hostPath volume ``DIR/pvc-UID_NAMESPACE_NAME`` on that node, where DIR is the storage directory the
node's agent announces on its Node (``portside.io/storage-dir``), with node affinity to that node and the
claim's size, access modes and class, pre-bound to the claim by uid. It only creates the API object: the
directory is the agent's to make (on first mount, ``DirectoryOrCreate``) and to remove (when the volume is
Released and its policy is Delete), since a node's file system is reached only by that node's agent.

Like k3s' provisioner, only ReadWriteOnce and ReadWriteOncePod are offered: one node's directory cannot be
shared with pods on other nodes.
"""

from __future__ import annotations

import asyncio

from portside.api import volumes as vol
from portside.api.models import (
    HostPathVolumeSource,
    Node,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    ObjectMeta,
    ObjectReference,
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeSpec,
    StorageClass,
    VolumeNodeAffinity,
)
from portside.client import NORMAL, WARNING, AlreadyExists, Client, EventRecorder
from portside.controllers.base import Controller
from portside.controllers.shared import InformerFactory
from portside.controllers.storage.binder import CLAIMS, CLASSES, NODES, VOLUMES, claim_key

HOSTNAME_LABEL = "kubernetes.io/hostname"
SUPPORTED_MODES = ("ReadWriteOnce", "ReadWriteOncePod")


def default_class() -> StorageClass:
    return StorageClass(
        api_version="storage.k8s.io/v1", kind="StorageClass",
        metadata=ObjectMeta(name=vol.LOCAL_PATH_CLASS, annotations={vol.DEFAULT_CLASS_ANNOTATION: "true"}),
        provisioner=vol.LOCAL_PATH_PROVISIONER, reclaim_policy="Delete",
        volume_binding_mode=vol.WAIT_FOR_FIRST_CONSUMER)


def volume_name(claim: PersistentVolumeClaim) -> str:
    return f"pvc-{claim.metadata.uid}"


def volume_for(claim: PersistentVolumeClaim, sc: StorageClass, node: Node, storage_dir: str) -> PersistentVolume:
    """The volume for ``claim`` on ``node`` (pure: what the tests and the controller share)."""
    m = claim.metadata
    hostname = (node.metadata.labels or {}).get(HOSTNAME_LABEL) or node.metadata.name
    path = f"{storage_dir.rstrip('/')}/{volume_name(claim)}_{m.namespace}_{m.name}"
    term = NodeSelectorTerm(match_expressions=[NodeSelectorRequirement(key=HOSTNAME_LABEL, operator="In",
                                                                       values=[hostname])])
    return PersistentVolume(
        api_version="v1", kind="PersistentVolume",
        metadata=ObjectMeta(name=volume_name(claim),
                            annotations={vol.PROVISIONED_BY_ANNOTATION: vol.LOCAL_PATH_PROVISIONER}),
        spec=PersistentVolumeSpec(
            capacity={"storage": claim.spec.resources.requests["storage"]},
            access_modes=list(claim.spec.access_modes or []),
            persistent_volume_reclaim_policy=sc.reclaim_policy or "Delete",
            storage_class_name=sc.metadata.name, volume_mode="Filesystem",
            claim_ref=ObjectReference(kind="PersistentVolumeClaim", api_version="v1", namespace=m.namespace,
                                      name=m.name, uid=m.uid, resource_version=m.resource_version),
            host_path=HostPathVolumeSource(path=path, type="DirectoryOrCreate"),
            node_affinity=VolumeNodeAffinity(required=NodeSelector(node_selector_terms=[term]))))


def refusal(claim: PersistentVolumeClaim, sc: StorageClass, node: Node | None, node_name: str) -> str:
    """Why no volume can be made for the claim now ("" when one can)."""
    if sc.volume_binding_mode != vol.WAIT_FOR_FIRST_CONSUMER:
        return (f"storage class {sc.metadata.name!r} binds Immediate, but local-path volumes live on one node: "
                f"use volumeBindingMode WaitForFirstConsumer so that the node is chosen first")
    unsupported = sorted(set(claim.spec.access_modes or []) - set(SUPPORTED_MODES))
    if unsupported:
        return f"local-path volumes support only access modes {', '.join(SUPPORTED_MODES)}, not {', '.join(unsupported)}"
    if node is None:
        return f'node "{node_name}" not found'
    if not (node.metadata.annotations or {}).get(vol.STORAGE_DIR_ANNOTATION):
        return (f'node "{node_name}" announces no storage directory ({vol.STORAGE_DIR_ANNOTATION}): is its agent '
                f'running?')
    return ""


class LocalPathProvisioner(Controller):
    name = "local-path-provisioner"

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.events = EventRecorder(client, vol.LOCAL_PATH_PROVISIONER)
        self.claims = self.informer(informers.get(CLAIMS))
        self.classes = self.informer(informers.get(CLASSES))
        self.nodes = self.informer(informers.get(NODES))
        self.volumes = self.informer(informers.get(VOLUMES))
        self.claims.on_change(lambda kind, c, prev: self.queue.add(claim_key(c.metadata.namespace, c.metadata.name)))
        self.nodes.on_change(lambda kind, node, prev: self._waiting_on(node.metadata.name))
        self.said: dict[str, str] = {}

    def _waiting_on(self, node: str) -> None:
        """A node that appears or announces its directory may unblock claims waiting for it."""
        for claim in self.claims.cache.values():
            if (claim.metadata.annotations or {}).get(vol.SELECTED_NODE_ANNOTATION) == node:
                self.queue.add(claim_key(claim.metadata.namespace, claim.metadata.name))

    async def run(self, ready: asyncio.Event | None = None) -> None:
        try:
            await self.client.create(CLASSES, default_class())
        except AlreadyExists:
            pass  # made by an earlier start, or by the administrator: theirs to change
        await super().run(ready)

    def _asked(self, claim: PersistentVolumeClaim) -> bool:
        annotations = claim.metadata.annotations or {}
        return (annotations.get(vol.PROVISIONER_ANNOTATION) == vol.LOCAL_PATH_PROVISIONER
                and not claim.spec.volume_name and not claim.metadata.deletion_timestamp)

    async def sync(self, key: str) -> None:
        namespace, name = key.removeprefix("claim:").split("/", 1)
        claim = self.claims.get(namespace, name)
        if claim is None:
            return
        sc = self.classes.get("", vol.claim_class(claim))
        if not self._asked(claim) or sc is None or sc.provisioner != vol.LOCAL_PATH_PROVISIONER:
            return
        if self.volumes.get("", volume_name(claim)) is not None:
            return  # made already; the PV controller binds it
        node_name = (claim.metadata.annotations or {}).get(vol.SELECTED_NODE_ANNOTATION, "")
        if not node_name and sc.volume_binding_mode == vol.WAIT_FOR_FIRST_CONSUMER:
            return  # the scheduler has not placed a pod using it yet
        node = self.nodes.get("", node_name) if node_name else None
        why = refusal(claim, sc, node, node_name)
        if why:
            return await self._tell(claim, WARNING, "ProvisioningFailed", f"failed to provision volume with "
                                                                          f"StorageClass {sc.metadata.name!r}: {why}")
        await self._tell(claim, NORMAL, "Provisioning",
                         f'External provisioner is provisioning volume for claim "{namespace}/{name}"')
        storage_dir = node.metadata.annotations[vol.STORAGE_DIR_ANNOTATION]
        try:
            await self.client.create(VOLUMES, volume_for(claim, sc, node, storage_dir))
        except AlreadyExists:
            return
        await self._tell(claim, NORMAL, "ProvisioningSucceeded", f"Successfully provisioned volume {volume_name(claim)}")

    async def _tell(self, claim: PersistentVolumeClaim, type_: str, reason: str, message: str) -> None:
        uid = claim.metadata.uid or ""
        if self.said.get(uid) != message:
            self.said[uid] = message
            await self.events.record(claim, type_, reason, message)


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await LocalPathProvisioner(client).run(ready)


__all__ = ["LocalPathProvisioner", "default_class", "volume_for", "refusal", "run"]
