"""The ``kube-dns`` Service in ``kube-system``, as k3s and kubeadm clusters have it, kept by the server's DNS.

Clients that look for the cluster DNS by its Service find it: ``kubectl get svc -n kube-system`` lists it with
the ClusterIP ``10.96.0.10`` (the tenth address of the service range, kubeadm's choice), ports ``dns`` 53/UDP and
``dns-tcp`` 53/TCP. It has no selector: the servers are not pods but each node's own DNS on its pod bridge's
gateway, so its Endpoints list those addresses, one per node (ready while the node is), and the ClusterIP reaches
one of them through the proxy like any Service. Pods are told their own node's address instead (no NAT, no
round trip to another node); the ClusterIP is there for software configured with it.

A Service of that name that someone else made (a DNS of their own, with a selector) is left alone.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from portside.api import models
from portside.api.wellknown import DNS_SERVICE_IP, DNS_SERVICE_NAME, DNS_SERVICE_NAMESPACE
from portside.client import AlreadyExists, ApiError, Client, Invalid, NotFound

__all__ = ["LABELS", "desired_subsets", "keep_service", "service_object"]

log = logging.getLogger("portside.dns")
LABELS = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "portside-dns"}
RETRY_S = 2.0


def service_object(cluster_ip: str = DNS_SERVICE_IP) -> models.Service:
    ports = [models.ServicePort(name="dns", port=53, protocol="UDP", target_port=53),
             models.ServicePort(name="dns-tcp", port=53, protocol="TCP", target_port=53)]
    return models.Service(api_version="v1", kind="Service", metadata=models.ObjectMeta(
        name=DNS_SERVICE_NAME, namespace=DNS_SERVICE_NAMESPACE, labels=dict(LABELS)),
        spec=models.ServiceSpec(type="ClusterIP", cluster_ip=cluster_ip or None, ports=ports))


def node_gateway(node: models.Node) -> str:
    """The first address of the node's pod CIDR: its pod bridge's, where its DNS listens."""
    cidr = node.spec.pod_cidr if node.spec else None
    if not cidr:
        return ""
    return str(ipaddress.ip_network(cidr, strict=False).network_address + 1)


def _ready(node: models.Node) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def desired_subsets(nodes: list[models.Node]) -> list[models.EndpointSubset]:
    ready, waiting = [], []
    for node in sorted(nodes, key=lambda n: n.metadata.name):
        ip = node_gateway(node)
        if ip:
            (ready if _ready(node) else waiting).append(models.EndpointAddress(ip=ip, node_name=node.metadata.name))
    if not ready and not waiting:
        return []
    ports = [models.EndpointPort(name="dns", port=53, protocol="UDP"),
             models.EndpointPort(name="dns-tcp", port=53, protocol="TCP")]
    return [models.EndpointSubset(addresses=ready or None, not_ready_addresses=waiting or None, ports=ports)]


async def ensure_service(client: Client) -> models.Service:
    """The Service, created when missing; at the fixed ClusterIP, or any when another Service holds that."""
    try:
        return await client.get("services", DNS_SERVICE_NAME, DNS_SERVICE_NAMESPACE)
    except NotFound:
        pass
    try:
        return await client.create("services", service_object(), DNS_SERVICE_NAMESPACE)
    except AlreadyExists:
        return await client.get("services", DNS_SERVICE_NAME, DNS_SERVICE_NAMESPACE)
    except Invalid as exc:
        log.warning("dns: kube-dns cannot have ClusterIP %s (%s); taking another", DNS_SERVICE_IP, exc)
        return await client.create("services", service_object(""), DNS_SERVICE_NAMESPACE)


async def _write_endpoints(client: Client, subsets: list[models.EndpointSubset]) -> None:
    try:
        current = await client.get("endpoints", DNS_SERVICE_NAME, DNS_SERVICE_NAMESPACE)
    except NotFound:
        body = models.Endpoints(api_version="v1", kind="Endpoints", subsets=subsets, metadata=models.ObjectMeta(
            name=DNS_SERVICE_NAME, namespace=DNS_SERVICE_NAMESPACE, labels=dict(LABELS)))
        await client.create("endpoints", body, DNS_SERVICE_NAMESPACE)
        return
    if (current.subsets or []) != subsets:
        current.subsets = subsets
        await client.update("endpoints", current)


async def keep_service(client: Client) -> None:
    """Ensure the Service, then keep its Endpoints at the nodes' DNS addresses until cancelled; API errors are
    logged and retried (the DNS itself serves on regardless)."""
    while True:
        try:
            service = await ensure_service(client)
            if service.spec.selector:
                log.info("dns: kube-system/kube-dns has a selector; its endpoints are not portside's to keep")
                return
            await _follow_nodes(client)
        except (ApiError, OSError) as exc:
            log.warning("dns: keeping kube-dns: %s; again in %.0f s", exc, RETRY_S)
        await asyncio.sleep(RETRY_S)


async def _follow_nodes(client: Client) -> None:
    listed = await client.list("nodes")
    nodes = {n.metadata.name: n for n in listed.items}
    written = desired_subsets(list(nodes.values()))
    await _write_endpoints(client, written)
    async for event in client.watch("nodes", resource_version=listed.resource_version, known=listed.items):
        if event.type == "DELETED":
            nodes.pop(event.object.metadata.name, None)
        else:
            nodes[event.object.metadata.name] = event.object
        want = desired_subsets(list(nodes.values()))
        if want != written:
            await _write_endpoints(client, want)
            written = want
