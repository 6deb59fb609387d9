"""apps/v1 Deployment and ReplicaSet (+ autoscaling/v1 Scale), batch/v1 Job, scheduling PriorityClass,
coordination Lease."""

from __future__ import annotations

from ..schema import IntOrString, Time, model, prop
from ..typed import Model
from .meta import LabelSelector, ObjectMeta
from .pod import PodTemplateSpec

__all__ = [
    "Deployment", "DeploymentSpec", "DeploymentStatus", "DeploymentStrategy", "RollingUpdateDeployment",
    "WorkloadCondition", "ReplicaSet", "ReplicaSetSpec", "ReplicaSetStatus", "Scale", "ScaleSpec",
    "ScaleStatus", "Job", "JobSpec", "JobStatus", "UncountedTerminatedPods", "PriorityClass", "Lease",
    "LeaseSpec",
]

apps = model("io.k8s.api.apps.v1")
batch = model("io.k8s.api.batch.v1")
autoscaling = model("io.k8s.api.autoscaling.v1")
scheduling = model("io.k8s.api.scheduling.v1")
coordination = model("io.k8s.api.coordination.v1")


@apps
class RollingUpdateDeployment(Model):
    """Bounds on unavailable and extra pods during a rolling update (count or percent)."""

    max_unavailable: IntOrString | None = prop()
    max_surge: IntOrString | None = prop()


@apps
class DeploymentStrategy(Model):
    """How old pods are replaced: all at once (Recreate) or gradually (RollingUpdate)."""

    type: str | None = prop()
    rolling_update: RollingUpdateDeployment | None = prop()


@apps
class WorkloadCondition(Model):
    """DeploymentCondition, ReplicaSetCondition and JobCondition share this shape."""

    type: str | None = prop(required=True)
    status: str | None = prop(required=True)
    last_update_time: Time | None = prop()
    last_probe_time: Time | None = prop()
    last_transition_time: Time | None = prop()
    reason: str | None = prop()
    message: str | None = prop()


def _conditions() -> object:
    return prop(merge_key="type", strategy="merge", list_type="map", map_keys=("type",))


@apps
class DeploymentSpec(Model):
    """The desired pods and how to replace them when the template changes."""

    replicas: int | None = prop()
    selector: LabelSelector | None = prop(required=True)
    template: PodTemplateSpec | None = prop(required=True)
    strategy: DeploymentStrategy | None = prop(strategy="retainKeys")
    min_ready_seconds: int | None = prop()
    revision_history_limit: int | None = prop()
    paused: bool | None = prop()
    progress_deadline_seconds: int | None = prop()


@apps
class DeploymentStatus(Model):
    observed_generation: int | None = prop()
    replicas: int | None = prop()
    updated_replicas: int | None = prop()
    ready_replicas: int | None = prop()
    available_replicas: int | None = prop()
    unavailable_replicas: int | None = prop()
    terminating_replicas: int | None = prop()
    conditions: list[WorkloadCondition] | None = _conditions()  # type: ignore[assignment]
    collision_count: int | None = prop()


@apps
class Deployment(Model):
    """Keeps a number of identical pods running and rolls out changes to their template."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: DeploymentSpec | None = prop()
    status: DeploymentStatus | None = prop()


@apps
class ReplicaSetSpec(Model):
    replicas: int | None = prop()
    min_ready_seconds: int | None = prop()
    selector: LabelSelector | None = prop(required=True)
    template: PodTemplateSpec | None = prop()


@apps
class ReplicaSetStatus(Model):
    replicas: int | None = prop()
    fully_labeled_replicas: int | None = prop()
    ready_replicas: int | None = prop()
    available_replicas: int | None = prop()
    terminating_replicas: int | None = prop()
    observed_generation: int | None = prop()
    conditions: list[WorkloadCondition] | None = _conditions()  # type: ignore[assignment]


@apps
class ReplicaSet(Model):
    """Keeps a number of pods matching its selector running."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: ReplicaSetSpec | None = prop()
    status: ReplicaSetStatus | None = prop()


@autoscaling
class ScaleSpec(Model):
    replicas: int | None = prop()


@autoscaling
class ScaleStatus(Model):
    replicas: int | None = prop(required=True)
    selector: str | None = prop()


@autoscaling
class Scale(Model):
    """The replica count of a scalable resource (the scale subresource)."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: ScaleSpec | None = prop()
    status: ScaleStatus | None = prop()


@batch
class JobSpec(Model):
    """How many pods must succeed, how many run at once, and how many failures are tolerated."""

    parallelism: int | None = prop()
    completions: int | None = prop()
    active_deadline_seconds: int | None = prop()
    backoff_limit: int | None = prop()
    backoff_limit_per_index: int | None = prop()
    max_failed_indexes: int | None = prop()
    selector: LabelSelector | None = prop()
    manual_selector: bool | None = prop()
    template: PodTemplateSpec | None = prop(required=True)
    ttl_seconds_after_finished: int | None = prop()
    completion_mode: str | None = prop()
    suspend: bool | None = prop()
    pod_replacement_policy: str | None = prop()
    managed_by: str | None = prop()


@batch
class UncountedTerminatedPods(Model):
    succeeded: list[str] | None = prop(list_type="set")
    failed: list[str] | None = prop(list_type="set")


@batch
class JobStatus(Model):
    conditions: list[WorkloadCondition] | None = prop(merge_key="type", strategy="merge",  # type: ignore
                                                      list_type="atomic")
    start_time: Time | None = prop()
    completion_time: Time | None = prop()
    active: int | None = prop()
    succeeded: int | None = prop()
    failed: int | None = prop()
    terminating: int | None = prop()
    completed_indexes: str | None = prop()
    failed_indexes: str | None = prop()
    uncounted_terminated_pods: UncountedTerminatedPods | None = prop()
    ready: int | None = prop()


@batch
class Job(Model):
    """Runs pods until a number of them complete successfully."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: JobSpec | None = prop()
    status: JobStatus | None = prop()


@scheduling
class PriorityClass(Model):
    """A named priority value for pods; higher-priority pods may preempt lower ones."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    value: int | None = prop(required=True)
    global_default: bool | None = prop()
    description: str | None = prop()
    preemption_policy: str | None = prop()


@coordination
class LeaseSpec(Model):
    holder_identity: str | None = prop()
    lease_duration_seconds: int | None = prop()
    acquire_time: Time | None = prop()
    renew_time: Time | None = prop()
    lease_transitions: int | None = prop()
    strategy: str | None = prop()
    preferred_holder: str | None = prop()


@coordination
class Lease(Model):
    """A lock with a holder and an expiry, used for leader election and heartbeats."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: LeaseSpec | None = prop()
