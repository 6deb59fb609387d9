"""core/v1 kinds other than Pod: Namespace, Node, Service, Endpoints, ConfigMap, Secret, Event, Binding."""

from __future__ import annotations

from ..schema import IntOrString, QuantityValue, Time, model, prop
from ..typed import Model
from .meta import ObjectMeta, ObjectReference

__all__ = [
    "Namespace", "NamespaceSpec", "NamespaceStatus", "NamespaceCondition", "Node", "NodeSpec", "NodeStatus",
    "Taint", "NodeCondition", "NodeAddress", "NodeSystemInfo", "DaemonEndpoint", "NodeDaemonEndpoints",
    "ContainerImage", "Service", "ServiceSpec", "ServicePort", "ServiceStatus", "LoadBalancerStatus",
    "LoadBalancerIngress", "SessionAffinityConfig", "ClientIPConfig", "Endpoints", "EndpointSubset",
    "EndpointAddress", "EndpointPort", "ConfigMap", "Secret", "Event", "EventSource", "Binding",
]

core = model("io.k8s.api.core.v1")


@core
class NamespaceCondition(Model):
    type: str | None = prop(required=True)
    status: str | None = prop(required=True)
    last_transition_time: Time | None = prop()
    reason: str | None = prop()
    message: str | None = prop()


@core
class NamespaceSpec(Model):
    finalizers: list[str] | None = prop(list_type="atomic")


@core
class NamespaceStatus(Model):
    phase: str | None = prop()
    conditions: list[NamespaceCondition] | None = prop(merge_key="type", strategy="merge", list_type="map",
                                                       map_keys=("type",))


@core
class Namespace(Model):
    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: NamespaceSpec | None = prop()
    status: NamespaceStatus | None = prop()


@core
class Taint(Model):
    key: str | None = prop(required=True)
    value: str | None = prop()
    effect: str | None = prop(required=True)
    time_added: Time | None = prop()


@core
class NodeSpec(Model):
    pod_cidr: str | None = prop()
    pod_cidrs: list[str] | None = prop(strategy="merge", list_type="set")
    provider_id: str | None = prop()
    unschedulable: bool | None = prop()
    taints: list[Taint] | None = prop(list_type="atomic")


@core
class NodeCondition(Model):
    type: str | None = prop(required=True)
    status: str | None = prop(required=True)
    last_heartbeat_time: Time | None = prop()
    last_transition_time: Time | None = prop()
    reason: str | None = prop()
    message: str | None = prop()


@core
class NodeAddress(Model):
    type: str | None = prop(required=True)
    address: str | None = prop(required=True)


@core
class NodeSystemInfo(Model):
    machine_id: str | None = prop()
    system_uuid: str | None = prop()
    boot_id: str | None = prop()
    kernel_version: str | None = prop()
    os_image: str | None = prop()
    container_runtime_version: str | None = prop()
    kubelet_version: str | None = prop()
    kube_proxy_version: str | None = prop()
    operating_system: str | None = prop()
    architecture: str | None = prop()


@core
class DaemonEndpoint(Model):
    port: int | None = prop(json="Port", required=True)


@core
class NodeDaemonEndpoints(Model):
    kubelet_endpoint: DaemonEndpoint | None = prop()


@core
class ContainerImage(Model):
    names: list[str] | None = prop(list_type="atomic")
    size_bytes: int | None = prop()


@core
class NodeStatus(Model):
    capacity: dict[str, QuantityValue] | None = prop()
    allocatable: dict[str, QuantityValue] | None = prop()
    phase: str | None = prop()
    conditions: list[NodeCondition] | None = prop(merge_key="type", strategy="merge", list_type="map",
                                                  map_keys=("type",))
    addresses: list[NodeAddress] | None = prop(merge_key="type", strategy="merge", list_type="map",
                                               map_keys=("type",))
    daemon_endpoints: NodeDaemonEndpoints | None = prop()
    node_info: NodeSystemInfo | None = prop()
    images: list[ContainerImage] | None = prop(list_type="atomic")


@core
class Node(Model):
    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: NodeSpec | None = prop()
    status: NodeStatus | None = prop()


@core
class ServicePort(Model):
    name: str | None = prop()
    protocol: str | None = prop()
    app_protocol: str | None = prop()
    port: int | None = prop(required=True)
    target_port: IntOrString | None = prop()
    node_port: int | None = prop()


@core
class ClientIPConfig(Model):
    timeout_seconds: int | None = prop()


@core
class SessionAffinityConfig(Model):
    client_ip: ClientIPConfig | None = prop()


@core
class ServiceSpec(Model):
    ports: list[ServicePort] | None = prop(merge_key="port", strategy="merge", list_type="map",
                                           map_keys=("port", "protocol"))
    selector: dict[str, str] | None = prop()
    cluster_ip: str | None = prop()
    cluster_ips: list[str] | None = prop(list_type="atomic")
    type: str | None = prop()
    external_ips: list[str] | None = prop(list_type="atomic")
    session_affinity: str | None = prop()
    load_balancer_ip: str | None = prop()
    load_balancer_source_ranges: list[str] | None = prop(list_type="atomic")
    external_name: str | None = prop()
    external_traffic_policy: str | None = prop()
    health_check_node_port: int | None = prop()
    publish_not_ready_addresses: bool | None = prop()
    session_affinity_config: SessionAffinityConfig | None = prop()
    ip_families: list[str] | None = prop(list_type="atomic")
    ip_family_policy: str | None = prop()
    allocate_load_balancer_node_ports: bool | None = prop()
    load_balancer_class: str | None = prop()
    internal_traffic_policy: str | None = prop()
    traffic_distribution: str | None = prop()


@core
class LoadBalancerIngress(Model):
    ip: str | None = prop()
    hostname: str | None = prop()
    ip_mode: str | None = prop()


@core
class LoadBalancerStatus(Model):
    ingress: list[LoadBalancerIngress] | None = prop(list_type="atomic")


@core
class ServiceStatus(Model):
    load_balancer: LoadBalancerStatus | None = prop()


@core
class Service(Model):
    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: ServiceSpec | None = prop()
    status: ServiceStatus | None = prop()


@core
class EndpointAddress(Model):
    ip: str | None = prop(required=True)
    hostname: str | None = prop()
    node_name: str | None = prop()
    target_ref: ObjectReference | None = prop()


@core
class EndpointPort(Model):
    name: str | None = prop()
    port: int | None = prop(required=True)
    protocol: str | None = prop()
    app_protocol: str | None = prop()


@core
class EndpointSubset(Model):
    addresses: list[EndpointAddress] | None = prop(list_type="atomic")
    not_ready_addresses: list[EndpointAddress] | None = prop(list_type="atomic")
    ports: list[EndpointPort] | None = prop(list_type="atomic")


@core
class Endpoints(Model):
    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    subsets: list[EndpointSubset] | None = prop(list_type="atomic")


@core
class ConfigMap(Model):
    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    immutable: bool | None = prop()
    data: dict[str, str] | None = prop()
    binary_data: dict[str, str] | None = prop()


@core
class Secret(Model):
    """``data`` values are base64 on the wire; ``stringData`` is folded into ``data`` on write."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    immutable: bool | None = prop()
    data: dict[str, str] | None = prop()
    string_data: dict[str, str] | None = prop()
    type: str | None = prop()


@core
class EventSource(Model):
    component: str | None = prop()
    host: str | None = prop()


@core
class Event(Model):
    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    involved_object: ObjectReference | None = prop(required=True)
    reason: str | None = prop()
    message: str | None = prop()
    source: EventSource | None = prop()
    first_timestamp: Time | None = prop()
    last_timestamp: Time | None = prop()
    count: int | None = prop()
    type: str | None = prop()
    event_time: Time | None = prop()
    action: str | None = prop()
    related: ObjectReference | None = prop()
    reporting_component: str | None = prop()
    reporting_instance: str | None = prop()


@core
class Binding(Model):
    """The body of ``pods/binding``: assigns a pod to ``target`` (a Node)."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    target: ObjectReference | None = prop(required=True)
