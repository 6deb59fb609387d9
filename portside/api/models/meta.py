"""Object metadata and the small shared types every kind embeds (meta/v1 and a few core/v1 references)."""

from __future__ import annotations

from ..schema import RawObject, Time, model, prop
from ..typed import Model

__all__ = [
    "ObjectMeta",
    "OwnerReference",
    "ManagedFieldsEntry",
    "LabelSelector",
    "LabelSelectorRequirement",
    "ObjectReference",
    "LocalObjectReference",
    "PartialObjectMetadata",
    "Preconditions",
    "DeleteOptions",
]

meta = model("io.k8s.apimachinery.pkg.apis.meta.v1")
core = model("io.k8s.api.core.v1")


@meta
class OwnerReference(Model):
    """Points at the object that owns this one; garbage collection follows these."""

    api_version: str | None = prop(required=True)
    kind: str | None = prop(required=True)
    name: str | None = prop(required=True)
    uid: str | None = prop(required=True)
    controller: bool | None = prop()
    block_owner_deletion: bool | None = prop()


@meta
class ManagedFieldsEntry(Model):
    manager: str | None = prop()
    operation: str | None = prop()
    api_version: str | None = prop()
    time: Time | None = prop()
    fields_type: str | None = prop()
    fields_v1: RawObject | None = prop(json="fieldsV1")
    subresource: str | None = prop()


@meta
class ObjectMeta(Model):
    """Identity, labels and bookkeeping; the server owns uid, resourceVersion, generation and timestamps."""

    name: str | None = prop()
    generate_name: str | None = prop()
    namespace: str | None = prop()
    self_link: str | None = prop()
    uid: str | None = prop()
    resource_version: str | None = prop()
    generation: int | None = prop()
    creation_timestamp: Time | None = prop()
    deletion_timestamp: Time | None = prop()
    deletion_grace_period_seconds: int | None = prop()
    labels: dict[str, str] | None = prop()
    annotations: dict[str, str] | None = prop()
    owner_references: list[OwnerReference] | None = prop(merge_key="uid", strategy="merge", list_type="map",
                                                         map_keys=("uid",))
    finalizers: list[str] | None = prop(strategy="merge", list_type="set")
    managed_fields: list[ManagedFieldsEntry] | None = prop(list_type="atomic")


@meta
class LabelSelectorRequirement(Model):
    key: str | None = prop(required=True)
    operator: str | None = prop(required=True)
    values: list[str] | None = prop(list_type="atomic")


@meta
class LabelSelector(Model):
    """matchLabels and matchExpressions, ANDed; an empty selector matches everything."""

    match_labels: dict[str, str] | None = prop()
    match_expressions: list[LabelSelectorRequirement] | None = prop(list_type="atomic")


@core
class ObjectReference(Model):
    api_version: str | None = prop()
    kind: str | None = prop()
    namespace: str | None = prop()
    name: str | None = prop()
    uid: str | None = prop()
    resource_version: str | None = prop()
    field_path: str | None = prop()


@core
class LocalObjectReference(Model):
    name: str | None = prop()


@meta
class PartialObjectMetadata(Model):
    """Any object seen through its metadata alone: decoding it skips spec and status. What a caller that reads
    only metadata of every kind decodes (the garbage collector), as client-go's metadata informers do."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()


@meta
class Preconditions(Model):
    """What must still hold of the object for a deletion to proceed."""

    uid: str | None = prop()
    resource_version: str | None = prop()


@meta
class DeleteOptions(Model):
    """The body of a DELETE (and of an Eviction's ``deleteOptions``): grace, preconditions, propagation."""

    api_version: str | None = prop()
    kind: str | None = prop()
    grace_period_seconds: int | None = prop()
    preconditions: Preconditions | None = prop()
    orphan_dependents: bool | None = prop()
    propagation_policy: str | None = prop()
    dry_run: list[str] | None = prop(list_type="atomic")
