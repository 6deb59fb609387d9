"""core/v1 Pod: PodSpec, PodStatus, and the PodTemplateSpec that workloads embed."""

from __future__ import annotations

from ..schema import QuantityValue, Time, model, prop
from ..typed import Model
from .container import AppArmorProfile, Container, ResourceRequirements, SeccompProfile, SELinuxOptions
from .meta import LocalObjectReference, ObjectMeta
from .placement import Affinity, PodSchedulingGate, Toleration, TopologySpreadConstraint
from .volumes import Volume

__all__ = [
    "Sysctl",
    "PodSecurityContext", "HostAlias", "PodDNSConfigOption", "PodDNSConfig", "PodReadinessGate", "PodOS",
    "PodSpec", "PodCondition", "PodIP", "ContainerStateWaiting", "ContainerStateRunning",
    "ContainerStateTerminated", "ContainerState", "ContainerStatus", "PodStatus", "Pod", "PodTemplateSpec",
]

core = model("io.k8s.api.core.v1")


@core
class Sysctl(Model):
    name: str | None = prop(required=True)
    value: str | None = prop(required=True)


@core
class PodSecurityContext(Model):
    se_linux_options: SELinuxOptions | None = prop()
    run_as_user: int | None = prop()
    run_as_group: int | None = prop()
    run_as_non_root: bool | None = prop()
    supplemental_groups: list[int] | None = prop(list_type="atomic")
    supplemental_groups_policy: str | None = prop()
    fs_group: int | None = prop()
    fs_group_change_policy: str | None = prop()
    sysctls: list[Sysctl] | None = prop(list_type="atomic")
    seccomp_profile: SeccompProfile | None = prop()
    app_armor_profile: AppArmorProfile | None = prop()


@core
class HostAlias(Model):
    ip: str | None = prop(required=True)
    hostnames: list[str] | None = prop(list_type="atomic")


@core
class PodDNSConfigOption(Model):
    name: str | None = prop()
    value: str | None = prop()


@core
class PodDNSConfig(Model):
    nameservers: list[str] | None = prop(list_type="atomic")
    searches: list[str] | None = prop(list_type="atomic")
    options: list[PodDNSConfigOption] | None = prop(list_type="atomic")


@core
class PodReadinessGate(Model):
    condition_type: str | None = prop(required=True)


@core
class PodOS(Model):
    name: str | None = prop(required=True)


@core
class PodSpec(Model):
    """What to run and where; most fields are immutable once the pod exists (see ``immutable``)."""

    volumes: list[Volume] | None = prop(merge_key="name", strategy="merge,retainKeys", list_type="map",
                                        map_keys=("name",))
    init_containers: list[Container] | None = prop(merge_key="name", strategy="merge", list_type="map",
                                                   map_keys=("name",))
    containers: list[Container] | None = prop(required=True, merge_key="name", strategy="merge",
                                              list_type="map", map_keys=("name",))
    restart_policy: str | None = prop()
    termination_grace_period_seconds: int | None = prop()
    active_deadline_seconds: int | None = prop()
    dns_policy: str | None = prop()
    node_selector: dict[str, str] | None = prop()
    service_account_name: str | None = prop()
    service_account: str | None = prop()
    automount_service_account_token: bool | None = prop()
    node_name: str | None = prop()
    host_network: bool | None = prop()
    host_pid: bool | None = prop(json="hostPID")
    host_ipc: bool | None = prop(json="hostIPC")
    share_process_namespace: bool | None = prop()
    security_context: PodSecurityContext | None = prop()
    image_pull_secrets: list[LocalObjectReference] | None = prop(merge_key="name", strategy="merge",
                                                                 list_type="map", map_keys=("name",))
    hostname: str | None = prop()
    subdomain: str | None = prop()
    affinity: Affinity | None = prop()
    scheduler_name: str | None = prop()
    tolerations: list[Toleration] | None = prop(list_type="atomic")
    host_aliases: list[HostAlias] | None = prop(merge_key="ip", strategy="merge", list_type="map",
                                                map_keys=("ip",))
    priority_class_name: str | None = prop()
    priority: int | None = prop()
    dns_config: PodDNSConfig | None = prop()
    readiness_gates: list[PodReadinessGate] | None = prop(list_type="atomic")
    runtime_class_name: str | None = prop()
    enable_service_links: bool | None = prop()
    preemption_policy: str | None = prop()
    overhead: dict[str, QuantityValue] | None = prop()
    topology_spread_constraints: list[TopologySpreadConstraint] | None = prop(
        merge_key="topologyKey", strategy="merge", list_type="map", map_keys=("topologyKey", "whenUnsatisfiable"))
    set_hostname_as_fqdn: bool | None = prop(json="setHostnameAsFQDN")
    os: PodOS | None = prop()
    host_users: bool | None = prop()
    scheduling_gates: list[PodSchedulingGate] | None = prop(merge_key="name", strategy="merge", list_type="map",
                                                            map_keys=("name",))
    resources: ResourceRequirements | None = prop()


@core
class PodCondition(Model):
    type: str | None = prop(required=True)
    status: str | None = prop(required=True)
    last_probe_time: Time | None = prop()
    last_transition_time: Time | None = prop()
    reason: str | None = prop()
    message: str | None = prop()


@core
class PodIP(Model):
    ip: str | None = prop(required=True)


@core
class ContainerStateWaiting(Model):
    reason: str | None = prop()
    message: str | None = prop()


@core
class ContainerStateRunning(Model):
    started_at: Time | None = prop()


@core
class ContainerStateTerminated(Model):
    exit_code: int | None = prop(required=True)
    signal: int | None = prop()
    reason: str | None = prop()
    message: str | None = prop()
    started_at: Time | None = prop()
    finished_at: Time | None = prop()
    container_id: str | None = prop()


@core
class ContainerState(Model):
    """At most one of waiting, running, terminated; none means waiting."""

    waiting: ContainerStateWaiting | None = prop()
    running: ContainerStateRunning | None = prop()
    terminated: ContainerStateTerminated | None = prop()


@core
class ContainerStatus(Model):
    name: str | None = prop(required=True)
    state: ContainerState | None = prop()
    last_state: ContainerState | None = prop()
    ready: bool | None = prop(required=True)
    restart_count: int | None = prop(required=True)
    image: str | None = prop(required=True)
    image_id: str | None = prop(required=True)
    container_id: str | None = prop()
    started: bool | None = prop()
    allocated_resources: dict[str, QuantityValue] | None = prop()
    resources: ResourceRequirements | None = prop()


@core
class PodStatus(Model):
    """What the node agent observed: phase, conditions, addresses and per-container state."""

    phase: str | None = prop()
    conditions: list[PodCondition] | None = prop(merge_key="type", strategy="merge", list_type="map",
                                                 map_keys=("type",))
    message: str | None = prop()
    reason: str | None = prop()
    nominated_node_name: str | None = prop()
    host_ip: str | None = prop()
    host_ips: list[PodIP] | None = prop(merge_key="ip", strategy="merge", list_type="atomic")
    pod_ip: str | None = prop()
    pod_ips: list[PodIP] | None = prop(merge_key="ip", strategy="merge", list_type="map", map_keys=("ip",))
    start_time: Time | None = prop()
    init_container_statuses: list[ContainerStatus] | None = prop(list_type="atomic")
    container_statuses: list[ContainerStatus] | None = prop(list_type="atomic")
    qos_class: str | None = prop(json="qosClass")


@core
class Pod(Model):
    """The smallest deployable unit: containers that share a network namespace and volumes on one node."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: PodSpec | None = prop()
    status: PodStatus | None = prop()


@core
class PodTemplateSpec(Model):
    """The pod a workload creates: labels to match its selector, and a spec."""

    metadata: ObjectMeta | None = prop()
    spec: PodSpec | None = prop()
