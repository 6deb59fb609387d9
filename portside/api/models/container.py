"""core/v1 Container and what it embeds: ports, env, resources, mounts, probes, lifecycle, security context."""

from __future__ import annotations

from ..schema import IntOrString, QuantityValue, model, prop
from ..typed import Model

__all__ = [
    "Container", "ContainerPort", "EnvVar", "EnvVarSource", "EnvFromSource", "ObjectFieldSelector",
    "ResourceFieldSelector", "KeySelector", "SourceRef", "ResourceRequirements", "ResourceClaim",
    "ContainerResizePolicy", "VolumeMount", "Probe", "ExecAction", "HTTPGetAction", "HTTPHeader",
    "TCPSocketAction", "GRPCAction", "SleepAction", "LifecycleHandler", "Lifecycle", "Capabilities",
    "SELinuxOptions", "SeccompProfile", "AppArmorProfile", "SecurityContext",
]

core = model("io.k8s.api.core.v1")


@core
class ContainerPort(Model):
    name: str | None = prop()
    host_port: int | None = prop()
    container_port: int | None = prop(required=True)
    protocol: str | None = prop()
    host_ip: str | None = prop()


@core
class ObjectFieldSelector(Model):
    api_version: str | None = prop()
    field_path: str | None = prop(required=True)


@core
class ResourceFieldSelector(Model):
    container_name: str | None = prop()
    resource: str | None = prop(required=True)
    divisor: QuantityValue | None = prop()


@core
class KeySelector(Model):
    """A key in a ConfigMap or Secret (ConfigMapKeySelector / SecretKeySelector share this shape)."""

    name: str | None = prop()
    key: str | None = prop(required=True)
    optional: bool | None = prop()


@core
class EnvVarSource(Model):
    field_ref: ObjectFieldSelector | None = prop()
    resource_field_ref: ResourceFieldSelector | None = prop()
    config_map_key_ref: KeySelector | None = prop()
    secret_key_ref: KeySelector | None = prop()


@core
class EnvVar(Model):
    name: str | None = prop(required=True)
    value: str | None = prop()
    value_from: EnvVarSource | None = prop()


@core
class SourceRef(Model):
    """ConfigMapEnvSource / SecretEnvSource: a whole ConfigMap or Secret as environment."""

    name: str | None = prop()
    optional: bool | None = prop()


@core
class EnvFromSource(Model):
    prefix: str | None = prop()
    config_map_ref: SourceRef | None = prop()
    secret_ref: SourceRef | None = prop()


@core
class ResourceClaim(Model):
    name: str | None = prop(required=True)
    request: str | None = prop()


@core
class ResourceRequirements(Model):
    limits: dict[str, QuantityValue] | None = prop()
    requests: dict[str, QuantityValue] | None = prop()
    claims: list[ResourceClaim] | None = prop(list_type="map", map_keys=("name",))


@core
class ContainerResizePolicy(Model):
    resource_name: str | None = prop(required=True)
    restart_policy: str | None = prop(required=True)


@core
class VolumeMount(Model):
    name: str | None = prop(required=True)
    read_only: bool | None = prop()
    recursive_read_only: str | None = prop()
    mount_path: str | None = prop(required=True)
    sub_path: str | None = prop()
    mount_propagation: str | None = prop()
    sub_path_expr: str | None = prop()


@core
class ExecAction(Model):
    command: list[str] | None = prop(list_type="atomic")


@core
class HTTPHeader(Model):
    name: str | None = prop(required=True)
    value: str | None = prop(required=True)


@core
class HTTPGetAction(Model):
    path: str | None = prop()
    port: IntOrString | None = prop(required=True)
    host: str | None = prop()
    scheme: str | None = prop()
    http_headers: list[HTTPHeader] | None = prop(list_type="atomic")


@core
class TCPSocketAction(Model):
    port: IntOrString | None = prop(required=True)
    host: str | None = prop()


@core
class GRPCAction(Model):
    port: int | None = prop(required=True)
    service: str | None = prop()


@core
class SleepAction(Model):
    seconds: int | None = prop(required=True)


@core
class Probe(Model):
    """Exactly one handler (exec, httpGet, tcpSocket, grpc) plus timing."""

    exec: ExecAction | None = prop()
    http_get: HTTPGetAction | None = prop()
    tcp_socket: TCPSocketAction | None = prop()
    grpc: GRPCAction | None = prop()
    initial_delay_seconds: int | None = prop()
    timeout_seconds: int | None = prop()
    period_seconds: int | None = prop()
    success_threshold: int | None = prop()
    failure_threshold: int | None = prop()
    termination_grace_period_seconds: int | None = prop()


@core
class LifecycleHandler(Model):
    exec: ExecAction | None = prop()
    http_get: HTTPGetAction | None = prop()
    tcp_socket: TCPSocketAction | None = prop()
    sleep: SleepAction | None = prop()


@core
class Lifecycle(Model):
    post_start: LifecycleHandler | None = prop()
    pre_stop: LifecycleHandler | None = prop()
    stop_signal: str | None = prop()


@core
class Capabilities(Model):
    add: list[str] | None = prop(list_type="atomic")
    drop: list[str] | None = prop(list_type="atomic")


@core
class SELinuxOptions(Model):
    user: str | None = prop()
    role: str | None = prop()
    type: str | None = prop()
    level: str | None = prop()


@core
class SeccompProfile(Model):
    type: str | None = prop(required=True)
    localhost_profile: str | None = prop()


@core
class AppArmorProfile(Model):
    type: str | None = prop(required=True)
    localhost_profile: str | None = prop()


@core
class SecurityContext(Model):
    capabilities: Capabilities | None = prop()
    privileged: bool | None = prop()
    se_linux_options: SELinuxOptions | None = prop()
    run_as_user: int | None = prop()
    run_as_group: int | None = prop()
    run_as_non_root: bool | None = prop()
    read_only_root_filesystem: bool | None = prop()
    allow_privilege_escalation: bool | None = prop()
    proc_mount: str | None = prop()
    seccomp_profile: SeccompProfile | None = prop()
    app_armor_profile: AppArmorProfile | None = prop()


@core
class Container(Model):
    """One container of a pod; ``name`` is the merge key in every list of containers."""

    name: str | None = prop(required=True)
    image: str | None = prop()
    command: list[str] | None = prop(list_type="atomic")
    args: list[str] | None = prop(list_type="atomic")
    working_dir: str | None = prop()
    ports: list[ContainerPort] | None = prop(merge_key="containerPort", strategy="merge", list_type="map",
                                              map_keys=("containerPort", "protocol"))
    env_from: list[EnvFromSource] | None = prop(list_type="atomic")
    env: list[EnvVar] | None = prop(merge_key="name", strategy="merge", list_type="map", map_keys=("name",))
    resources: ResourceRequirements | None = prop()
    resize_policy: list[ContainerResizePolicy] | None = prop(list_type="atomic")
    restart_policy: str | None = prop()
    volume_mounts: list[VolumeMount] | None = prop(merge_key="mountPath", strategy="merge", list_type="map",
                                                    map_keys=("mountPath",))
    liveness_probe: Probe | None = prop()
    readiness_probe: Probe | None = prop()
    startup_probe: Probe | None = prop()
    lifecycle: Lifecycle | None = prop()
    termination_message_path: str | None = prop()
    termination_message_policy: str | None = prop()
    image_pull_policy: str | None = prop()
    security_context: SecurityContext | None = prop()
    stdin: bool | None = prop()
    stdin_once: bool | None = prop()
    tty: bool | None = prop()
