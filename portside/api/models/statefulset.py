"""apps/v1 StatefulSet: pods with stable names, network identities and volumes of their own, started, stopped and
updated in ordinal order."""

from __future__ import annotations

from ..schema import IntOrString, model, prop
from ..typed import Model
from .meta import LabelSelector, ObjectMeta
from .pod import PodTemplateSpec
from .storage import PersistentVolumeClaim
from .workloads import WorkloadCondition

__all__ = [
    "RollingUpdateStatefulSetStrategy", "StatefulSetUpdateStrategy", "StatefulSetPersistentVolumeClaimRetentionPolicy",
    "StatefulSetOrdinals", "StatefulSetSpec", "StatefulSetStatus", "StatefulSet",
]

apps = model("io.k8s.api.apps.v1")


@apps
class RollingUpdateStatefulSetStrategy(Model):
    """Pods with an ordinal below ``partition`` keep their revision; at most ``maxUnavailable`` are replaced at
    once."""

    partition: int | None = prop()
    max_unavailable: IntOrString | None = prop()


@apps
class StatefulSetUpdateStrategy(Model):
    """RollingUpdate replaces pods from the highest ordinal down as the template changes; OnDelete only when a pod
    is deleted by hand."""

    type: str | None = prop()
    rolling_update: RollingUpdateStatefulSetStrategy | None = prop()


@apps
class StatefulSetPersistentVolumeClaimRetentionPolicy(Model):
    """Whether the claims made from ``volumeClaimTemplates`` go (Delete) or stay (Retain) when the set is deleted
    or scaled down."""

    when_deleted: str | None = prop()
    when_scaled: str | None = prop()


@apps
class StatefulSetOrdinals(Model):
    """The first ordinal: pods are named ``NAME-start`` to ``NAME-(start+replicas-1)``."""

    start: int | None = prop()


@apps
class StatefulSetSpec(Model):
    replicas: int | None = prop()
    selector: LabelSelector | None = prop(required=True)
    template: PodTemplateSpec | None = prop(required=True)
    volume_claim_templates: list[PersistentVolumeClaim] | None = prop()
    service_name: str | None = prop()
    pod_management_policy: str | None = prop()
    update_strategy: StatefulSetUpdateStrategy | None = prop()
    revision_history_limit: int | None = prop()
    min_ready_seconds: int | None = prop()
    persistent_volume_claim_retention_policy: StatefulSetPersistentVolumeClaimRetentionPolicy | None = prop()
    ordinals: StatefulSetOrdinals | None = prop()


@apps
class StatefulSetStatus(Model):
    """Counts of pods; ``replicas`` is always written, as Kubernetes' is not omitempty (clients require it)."""

    observed_generation: int | None = prop()
    replicas: int | None = prop(required=True)
    ready_replicas: int | None = prop()
    current_replicas: int | None = prop()
    updated_replicas: int | None = prop()
    current_revision: str | None = prop()
    update_revision: str | None = prop()
    collision_count: int | None = prop()
    conditions: list[WorkloadCondition] | None = prop(merge_key="type", strategy="merge",  # type: ignore
                                                      list_type="map", map_keys=("type",))
    available_replicas: int | None = prop()


@apps
class StatefulSet(Model):
    """Runs ``replicas`` pods named ``NAME-0``, ``NAME-1``..., each with its own claims from the claim templates,
    which outlive the pods; the governing headless Service (``serviceName``) gives each pod a DNS name."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: StatefulSetSpec | None = prop()
    status: StatefulSetStatus | None = prop()
