"""policy/v1: PodDisruptionBudget (how many of an application's pods voluntary disruptions may take down at
once) and Eviction (the body of a POST to ``pods/NAME/eviction``, a deletion that asks the budgets first)."""

from __future__ import annotations

from ..schema import IntOrString, RawObject, Time, model, prop
from ..typed import Model
from .meta import LabelSelector, ObjectMeta

__all__ = ["Condition", "PodDisruptionBudget", "PodDisruptionBudgetSpec", "PodDisruptionBudgetStatus", "Eviction"]

meta = model("io.k8s.apimachinery.pkg.apis.meta.v1")
policy = model("io.k8s.api.policy.v1")


@meta
class Condition(Model):
    """metav1.Condition: the condition shape of newer kinds (reason and transition time always set)."""

    type: str | None = prop(required=True)
    status: str | None = prop(required=True)
    observed_generation: int | None = prop()
    last_transition_time: Time | None = prop(required=True)
    reason: str | None = prop(required=True)
    message: str | None = prop(required=True)


@policy
class PodDisruptionBudgetSpec(Model):
    """At most one of minAvailable and maxUnavailable, as a count or a percentage of the expected pods."""

    min_available: IntOrString | None = prop()
    selector: LabelSelector | None = prop(strategy="replace")
    max_unavailable: IntOrString | None = prop()
    unhealthy_pod_eviction_policy: str | None = prop()


@policy
class PodDisruptionBudgetStatus(Model):
    """What the disruption controller computed, and the pods evictions took but that are not gone yet."""

    observed_generation: int | None = prop()
    disrupted_pods: dict[str, Time] | None = prop()
    disruptions_allowed: int | None = prop(required=True)
    current_healthy: int | None = prop(required=True)
    desired_healthy: int | None = prop(required=True)
    expected_pods: int | None = prop(required=True)
    conditions: list[Condition] | None = prop(merge_key="type", strategy="merge", list_type="map",
                                              map_keys=("type",))


@policy
class PodDisruptionBudget(Model):
    """Bounds voluntary disruptions (evictions, drains) of the pods its selector matches."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: PodDisruptionBudgetSpec | None = prop()
    status: PodDisruptionBudgetStatus | None = prop()


@policy
class Eviction(Model):
    """A request to delete a pod only if its disruption budget allows it (``deleteOptions`` as for DELETE)."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    delete_options: RawObject | None = prop()
