"""Persistent storage: core/v1 PersistentVolume and PersistentVolumeClaim, storage.k8s.io/v1 StorageClass.

A claim asks for storage (size, access modes, class); a volume is a piece of storage (a directory on one node
here: ``hostPath`` or ``local``); the PV controller binds the two one to one (``spec.claimRef`` on the volume,
``spec.volumeName`` on the claim). A class names who provisions volumes for its claims, and when.
"""

from __future__ import annotations

from ..schema import QuantityValue, Time, model, prop
from ..typed import Model
from .meta import LabelSelector, ObjectMeta, ObjectReference
from .placement import NodeSelector
from .volumes import HostPathVolumeSource

__all__ = [
    "LocalVolumeSource", "VolumeNodeAffinity", "PersistentVolumeSpec", "PersistentVolumeStatus", "PersistentVolume",
    "VolumeResourceRequirements", "PersistentVolumeClaimSpec", "PersistentVolumeClaimCondition",
    "PersistentVolumeClaimStatus", "PersistentVolumeClaim", "TopologySelectorLabelRequirement",
    "TopologySelectorTerm", "StorageClass",
]

core = model("io.k8s.api.core.v1")
storage = model("io.k8s.api.storage.v1")


@core
class LocalVolumeSource(Model):
    """A directory (or mounted disk) on one node; the volume's ``nodeAffinity`` must name that node."""

    path: str | None = prop(required=True)
    fs_type: str | None = prop()


@core
class VolumeNodeAffinity(Model):
    """The nodes a volume can be used from: pods using it are scheduled only there."""

    required: NodeSelector | None = prop()


@core
class PersistentVolumeSpec(Model):
    capacity: dict[str, QuantityValue] | None = prop()
    access_modes: list[str] | None = prop(list_type="atomic")
    claim_ref: ObjectReference | None = prop()
    persistent_volume_reclaim_policy: str | None = prop()
    storage_class_name: str | None = prop()
    mount_options: list[str] | None = prop(list_type="atomic")
    volume_mode: str | None = prop()
    node_affinity: VolumeNodeAffinity | None = prop()
    volume_attributes_class_name: str | None = prop()
    host_path: HostPathVolumeSource | None = prop()
    local: LocalVolumeSource | None = prop()


@core
class PersistentVolumeStatus(Model):
    phase: str | None = prop()
    message: str | None = prop()
    reason: str | None = prop()
    last_phase_transition_time: Time | None = prop()


@core
class PersistentVolume(Model):
    """A piece of storage in the cluster, made by an administrator or a provisioner."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: PersistentVolumeSpec | None = prop()
    status: PersistentVolumeStatus | None = prop()


@core
class VolumeResourceRequirements(Model):
    limits: dict[str, QuantityValue] | None = prop()
    requests: dict[str, QuantityValue] | None = prop()


@core
class PersistentVolumeClaimSpec(Model):
    access_modes: list[str] | None = prop(list_type="atomic")
    selector: LabelSelector | None = prop()
    resources: VolumeResourceRequirements | None = prop()
    volume_name: str | None = prop()
    storage_class_name: str | None = prop()
    volume_mode: str | None = prop()
    volume_attributes_class_name: str | None = prop()


@core
class PersistentVolumeClaimCondition(Model):
    type: str | None = prop(required=True)
    status: str | None = prop(required=True)
    last_probe_time: Time | None = prop()
    last_transition_time: Time | None = prop()
    reason: str | None = prop()
    message: str | None = prop()


@core
class PersistentVolumeClaimStatus(Model):
    phase: str | None = prop()
    access_modes: list[str] | None = prop(list_type="atomic")
    capacity: dict[str, QuantityValue] | None = prop()
    conditions: list[PersistentVolumeClaimCondition] | None = prop(merge_key="type", strategy="merge",
                                                                   list_type="map", map_keys=("type",))


@core
class PersistentVolumeClaim(Model):
    """A request for storage by a user (or a controller, for the pods it makes), bound to one volume."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: PersistentVolumeClaimSpec | None = prop()
    status: PersistentVolumeClaimStatus | None = prop()


@core
class TopologySelectorLabelRequirement(Model):
    key: str | None = prop(required=True)
    values: list[str] | None = prop(required=True, list_type="atomic")


@core
class TopologySelectorTerm(Model):
    match_label_expressions: list[TopologySelectorLabelRequirement] | None = prop(list_type="atomic")


@storage
class StorageClass(Model):
    """Who provisions volumes for the claims naming this class, with what reclaim policy, and when: at once
    (``Immediate``) or once a pod using the claim is scheduled (``WaitForFirstConsumer``)."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    provisioner: str | None = prop(required=True)
    parameters: dict[str, str] | None = prop()
    reclaim_policy: str | None = prop()
    mount_options: list[str] | None = prop(list_type="atomic")
    allow_volume_expansion: bool | None = prop()
    volume_binding_mode: str | None = prop()
    allowed_topologies: list[TopologySelectorTerm] | None = prop(list_type="atomic")
