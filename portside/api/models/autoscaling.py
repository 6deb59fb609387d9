"""autoscaling/v2 HorizontalPodAutoscaler (the version objects are stored in) and its autoscaling/v1 form.

v1 knows one metric, a CPU utilization target; v2 knows a list of metrics (resource, container resource, pods,
object, external) and the ``behavior`` that bounds how fast the controller scales. The API server converts
between them (``api.conversion``); controllers read v2.
"""

from __future__ import annotations

from ..schema import QuantityValue, Time, model, prop
from ..typed import Model
from .meta import LabelSelector, ObjectMeta

__all__ = [
    "HorizontalPodAutoscaler", "HorizontalPodAutoscalerSpec", "HorizontalPodAutoscalerStatus",
    "HorizontalPodAutoscalerBehavior", "HorizontalPodAutoscalerCondition", "HPAScalingRules", "HPAScalingPolicy",
    "CrossVersionObjectReference", "MetricSpec", "MetricStatus", "MetricTarget", "MetricValueStatus",
    "MetricIdentifier", "ResourceMetricSource", "ResourceMetricStatus", "ContainerResourceMetricSource",
    "ContainerResourceMetricStatus", "PodsMetricSource", "PodsMetricStatus", "ObjectMetricSource",
    "ObjectMetricStatus", "ExternalMetricSource", "ExternalMetricStatus",
    "HorizontalPodAutoscalerV1", "HorizontalPodAutoscalerSpecV1", "HorizontalPodAutoscalerStatusV1",
    "CrossVersionObjectReferenceV1",
]

v2 = model("io.k8s.api.autoscaling.v2")
v1 = model("io.k8s.api.autoscaling.v1", suffix="V1")


@v2
class CrossVersionObjectReference(Model):
    """The object to scale: anything with a ``scale`` subresource (a Deployment, a ReplicaSet)."""

    kind: str | None = prop(required=True)
    name: str | None = prop(required=True)
    api_version: str | None = prop()


@v2
class MetricTarget(Model):
    """``type`` Utilization (``averageUtilization``, percent of the pods' requests), AverageValue or Value."""

    type: str | None = prop(required=True)
    value: QuantityValue | None = prop()
    average_value: QuantityValue | None = prop()
    average_utilization: int | None = prop()


@v2
class MetricValueStatus(Model):
    value: QuantityValue | None = prop()
    average_value: QuantityValue | None = prop()
    average_utilization: int | None = prop()


@v2
class MetricIdentifier(Model):
    name: str | None = prop(required=True)
    selector: LabelSelector | None = prop()


@v2
class ResourceMetricSource(Model):
    """A resource (cpu, memory) of the target's pods, summed over each pod's containers."""

    name: str | None = prop(required=True)
    target: MetricTarget | None = prop(required=True)


@v2
class ContainerResourceMetricSource(Model):
    """A resource of one named container in each of the target's pods."""

    name: str | None = prop(required=True)
    target: MetricTarget | None = prop(required=True)
    container: str | None = prop(required=True)


@v2
class PodsMetricSource(Model):
    metric: MetricIdentifier | None = prop(required=True)
    target: MetricTarget | None = prop(required=True)


@v2
class ObjectMetricSource(Model):
    described_object: CrossVersionObjectReference | None = prop(required=True)
    target: MetricTarget | None = prop(required=True)
    metric: MetricIdentifier | None = prop(required=True)


@v2
class ExternalMetricSource(Model):
    metric: MetricIdentifier | None = prop(required=True)
    target: MetricTarget | None = prop(required=True)


@v2
class MetricSpec(Model):
    """One metric to scale on: ``type`` names the one source field that is set."""

    type: str | None = prop(required=True)
    object: ObjectMetricSource | None = prop()
    pods: PodsMetricSource | None = prop()
    resource: ResourceMetricSource | None = prop()
    container_resource: ContainerResourceMetricSource | None = prop()
    external: ExternalMetricSource | None = prop()


@v2
class ResourceMetricStatus(Model):
    name: str | None = prop(required=True)
    current: MetricValueStatus | None = prop(required=True)


@v2
class ContainerResourceMetricStatus(Model):
    name: str | None = prop(required=True)
    current: MetricValueStatus | None = prop(required=True)
    container: str | None = prop(required=True)


@v2
class PodsMetricStatus(Model):
    metric: MetricIdentifier | None = prop(required=True)
    current: MetricValueStatus | None = prop(required=True)


@v2
class ObjectMetricStatus(Model):
    metric: MetricIdentifier | None = prop(required=True)
    current: MetricValueStatus | None = prop(required=True)
    described_object: CrossVersionObjectReference | None = prop(required=True)


@v2
class ExternalMetricStatus(Model):
    metric: MetricIdentifier | None = prop(required=True)
    current: MetricValueStatus | None = prop(required=True)


@v2
class MetricStatus(Model):
    """The last value the controller read for the metric at the same position in ``spec.metrics``."""

    type: str | None = prop(required=True)
    object: ObjectMetricStatus | None = prop()
    pods: PodsMetricStatus | None = prop()
    resource: ResourceMetricStatus | None = prop()
    container_resource: ContainerResourceMetricStatus | None = prop()
    external: ExternalMetricStatus | None = prop()


@v2
class HPAScalingPolicy(Model):
    """At most ``value`` pods (type Pods) or percent of the replicas (type Percent) per ``periodSeconds``."""

    type: str | None = prop(required=True)
    value: int | None = prop(required=True)
    period_seconds: int | None = prop(required=True)


@v2
class HPAScalingRules(Model):
    """One direction's rules: recommendations kept for the window, and the policies that bound each step."""

    stabilization_window_seconds: int | None = prop()
    select_policy: str | None = prop()
    policies: list[HPAScalingPolicy] | None = prop(list_type="atomic")


@v2
class HorizontalPodAutoscalerBehavior(Model):
    scale_up: HPAScalingRules | None = prop()
    scale_down: HPAScalingRules | None = prop()


@v2
class HorizontalPodAutoscalerSpec(Model):
    scale_target_ref: CrossVersionObjectReference | None = prop(required=True)
    min_replicas: int | None = prop()
    max_replicas: int | None = prop(required=True)
    metrics: list[MetricSpec] | None = prop(list_type="atomic")
    behavior: HorizontalPodAutoscalerBehavior | None = prop()


@v2
class HorizontalPodAutoscalerCondition(Model):
    """AbleToScale, ScalingActive or ScalingLimited, with the controller's reason."""

    type: str | None = prop(required=True)
    status: str | None = prop(required=True)
    last_transition_time: Time | None = prop()
    reason: str | None = prop()
    message: str | None = prop()


@v2
class HorizontalPodAutoscalerStatus(Model):
    observed_generation: int | None = prop()
    last_scale_time: Time | None = prop()
    current_replicas: int | None = prop()
    desired_replicas: int | None = prop(required=True)
    current_metrics: list[MetricStatus] | None = prop(list_type="atomic")
    conditions: list[HorizontalPodAutoscalerCondition] | None = prop(merge_key="type", strategy="merge",
                                                                     list_type="map", map_keys=("type",))


@v2
class HorizontalPodAutoscaler(Model):
    """Scales its target's replicas between minReplicas and maxReplicas to hold its metrics at their targets."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: HorizontalPodAutoscalerSpec | None = prop()
    status: HorizontalPodAutoscalerStatus | None = prop()


@v1
class CrossVersionObjectReferenceV1(Model):
    kind: str | None = prop(required=True)
    name: str | None = prop(required=True)
    api_version: str | None = prop()


@v1
class HorizontalPodAutoscalerSpecV1(Model):
    scale_target_ref: CrossVersionObjectReferenceV1 | None = prop(required=True)
    min_replicas: int | None = prop()
    max_replicas: int | None = prop(required=True)
    target_cpu_utilization_percentage: int | None = prop(json="targetCPUUtilizationPercentage")


@v1
class HorizontalPodAutoscalerStatusV1(Model):
    observed_generation: int | None = prop()
    last_scale_time: Time | None = prop()
    current_replicas: int | None = prop(required=True)
    desired_replicas: int | None = prop(required=True)
    current_cpu_utilization_percentage: int | None = prop(json="currentCPUUtilizationPercentage")


@v1
class HorizontalPodAutoscalerV1(Model):
    """The autoscaling/v1 form: one CPU utilization target (what ``kubectl autoscale`` creates)."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: HorizontalPodAutoscalerSpecV1 | None = prop()
    status: HorizontalPodAutoscalerStatusV1 | None = prop()
