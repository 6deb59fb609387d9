"""core/v1 kinds other than Pod and Service: Namespace, Node, ConfigMap, Secret, Event, Binding."""

from __future__ import annotations

from ..schema import QuantityValue, Time, model, prop
from ..typed import Model
from .meta import ObjectMeta, ObjectReference

__all__ = [
    "Namespace", "NamespaceSpec", "NamespaceStatus", "NamespaceCondition", "Node", "NodeSpec", "NodeStatus",
    "Taint", "NodeCondition", "NodeAddress", "NodeSystemInfo", "DaemonEndpoint", "NodeDaemonEndpoints",
    "ContainerImage", "ConfigMap", "Secret", "Event", "EventSource", "Binding",
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
    """A scope for names; deleting it deletes everything in it."""

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
    """A machine that runs pods; its status reports capacity and health."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: NodeSpec | None = prop()
    status: NodeStatus | None = prop()


@core
class ConfigMap(Model):
    """Non-secret configuration data for pods to consume as environment or files."""

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
    """A report of something that happened to an object, for people reading `kubectl describe`."""

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
