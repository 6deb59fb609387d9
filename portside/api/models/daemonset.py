"""apps/v1 DaemonSet (one pod per eligible node) and ControllerRevision (a snapshot of a pod template, the
revision history ``kubectl rollout history|undo ds/NAME`` reads)."""

from __future__ import annotations

from ..schema import IntOrString, RawObject, model, prop
from ..typed import Model
from .meta import LabelSelector, ObjectMeta
from .pod import PodTemplateSpec
from .workloads import WorkloadCondition

__all__ = [
    "RollingUpdateDaemonSet", "DaemonSetUpdateStrategy", "DaemonSetSpec", "DaemonSetStatus", "DaemonSet",
    "ControllerRevision",
]

apps = model("io.k8s.api.apps.v1")


@apps
class RollingUpdateDaemonSet(Model):
    """How many nodes may be without an available daemon pod (maxUnavailable) or run two (maxSurge) at once."""

    max_unavailable: IntOrString | None = prop()
    max_surge: IntOrString | None = prop()


@apps
class DaemonSetUpdateStrategy(Model):
    """RollingUpdate replaces pods as the template changes; OnDelete only when a pod is deleted by hand."""

    type: str | None = prop()
    rolling_update: RollingUpdateDaemonSet | None = prop()


@apps
class DaemonSetSpec(Model):
    selector: LabelSelector | None = prop(required=True)
    template: PodTemplateSpec | None = prop(required=True)
    update_strategy: DaemonSetUpdateStrategy | None = prop()
    min_ready_seconds: int | None = prop()
    revision_history_limit: int | None = prop()


@apps
class DaemonSetStatus(Model):
    """Counts of nodes (not pods): the four first are always written, as Kubernetes' are not omitempty."""

    current_number_scheduled: int | None = prop(required=True)
    number_misscheduled: int | None = prop(required=True)
    desired_number_scheduled: int | None = prop(required=True)
    number_ready: int | None = prop(required=True)
    observed_generation: int | None = prop()
    updated_number_scheduled: int | None = prop()
    number_available: int | None = prop()
    number_unavailable: int | None = prop()
    collision_count: int | None = prop()
    conditions: list[WorkloadCondition] | None = prop(merge_key="type", strategy="merge",  # type: ignore
                                                      list_type="map", map_keys=("type",))


@apps
class DaemonSet(Model):
    """Runs one copy of a pod on every node its template may run on, and on each node that joins later."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: DaemonSetSpec | None = prop()
    status: DaemonSetStatus | None = prop()


@apps
class ControllerRevision(Model):
    """An immutable snapshot of a controller's state (a DaemonSet's pod template, as a strategic merge patch)."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    data: RawObject | None = prop()
    revision: int | None = prop(required=True)
