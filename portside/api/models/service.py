"""core/v1 Service and Endpoints: a stable virtual address and the pod addresses behind it."""

from __future__ import annotations

from ..schema import IntOrString, Time, model, prop
from ..typed import Model
from .meta import ObjectMeta, ObjectReference

__all__ = [
    "Service", "ServiceSpec", "ServicePort", "ServiceStatus", "LoadBalancerStatus", "LoadBalancerIngress",
    "SessionAffinityConfig", "ClientIPConfig", "Endpoints", "EndpointSubset", "EndpointAddress", "EndpointPort",
    "ServiceCondition",
]

core = model("io.k8s.api.core.v1")
meta = model("io.k8s.apimachinery.pkg.apis.meta.v1")


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


@meta
class ServiceCondition(Model):
    """meta/v1 Condition, as Service status carries it (e.g. the proxy's report of a port it could not bind)."""

    type: str | None = prop(required=True)
    status: str | None = prop(required=True)
    observed_generation: int | None = prop()
    last_transition_time: Time | None = prop()
    reason: str | None = prop()
    message: str | None = prop()


@core
class ServiceStatus(Model):
    load_balancer: LoadBalancerStatus | None = prop()
    conditions: list[ServiceCondition] | None = prop(merge_key="type", strategy="merge", list_type="map",
                                                    map_keys=("type",))


@core
class Service(Model):
    """A stable virtual address that load-balances over the pods its selector matches."""

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
    """The ready (and not-ready) pod addresses behind a Service."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    subsets: list[EndpointSubset] | None = prop(list_type="atomic")
