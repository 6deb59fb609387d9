"""The Endpoints controller: for every Service with a selector, an Endpoints object of the same name listing the
matching pods' IPs (ready ones in ``addresses``, the rest in ``notReadyAddresses``) and the ports they serve.

A named ``targetPort`` is looked up in each pod's container ports, so pods of two template versions may serve the
same Service port on different numbers; pods that resolve to the same ports share one subset, as Kubernetes
packs them. A Service without a selector keeps the Endpoints its user wrote.
"""

from __future__ import annotations

import asyncio
import dataclasses

from portside import api
from portside.api import models
from portside.api.models import Endpoints, Pod, Service, ServicePort
from portside.client import AlreadyExists, Client, NotFound
from portside.controllers.base import Controller
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import is_active, is_ready
from portside.controllers.shared import InformerFactory

PODS = api.lookup("", "v1", "pods")
SERVICES = api.lookup("", "v1", "services")
ENDPOINTS = api.lookup("", "v1", "endpoints")

PortKey = tuple[tuple[str, int, str], ...]  # (name, number, protocol) per Service port the pod serves


def selects(service: Service, pod: Pod) -> bool:
    selector = service.spec.selector if service.spec else None
    return bool(selector) and api.selector_from_object({"matchLabels": selector}).matches(pod.metadata.labels)


def resolve(port: ServicePort, pod: Pod) -> int | None:
    """The pod's number for a Service port: the targetPort itself, or the container port of that name."""
    target = port.port if port.target_port is None else port.target_port
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)
    protocol = port.protocol or "TCP"
    for container in pod.spec.containers or []:
        for cport in container.ports or []:
            if cport.name == target and (cport.protocol or "TCP") == protocol:
                return cport.container_port
    return None


def _ports(service: Service, pod: Pod) -> PortKey:
    out = []
    for port in service.spec.ports or []:
        number = resolve(port, pod)
        if number is not None:
            out.append((port.name or "", number, port.protocol or "TCP"))
    return tuple(out)


def _address(service: Service, pod: Pod) -> models.EndpointAddress:
    """The pod's address; with its ``hostname`` when the pod names this Service as its ``subdomain``, so that the
    cluster DNS answers ``<hostname>.<service>.<namespace>.svc...`` (the StatefulSet way of naming pods)."""
    m = pod.metadata
    ref = models.ObjectReference(kind="Pod", namespace=m.namespace, name=m.name, uid=m.uid)
    hostname = pod.spec.hostname if pod.spec.hostname and pod.spec.subdomain == service.metadata.name else None
    return models.EndpointAddress(ip=pod.status.pod_ip, hostname=hostname, node_name=pod.spec.node_name,
                                  target_ref=ref)


def subsets(service: Service, pods: list[Pod]) -> list[models.EndpointSubset]:
    """The Endpoints subsets ``service`` should have given ``pods`` (any pods; non-matching ones are skipped)."""
    publish_all = bool(service.spec.publish_not_ready_addresses)
    groups: dict[PortKey, models.EndpointSubset] = {}
    for pod in sorted(pods, key=lambda p: p.metadata.name or ""):
        if not selects(service, pod) or not is_active(pod) or not (pod.status and pod.status.pod_ip):
            continue
        key = _ports(service, pod)
        if service.spec.ports and not key:
            continue  # serves none of the Service's ports
        subset = groups.setdefault(key, models.EndpointSubset(ports=[
            models.EndpointPort(name=name or None, port=number, protocol=protocol) for name, number, protocol in key]))
        if publish_all or is_ready(pod):
            subset.addresses = [*(subset.addresses or []), _address(service, pod)]
        else:
            subset.not_ready_addresses = [*(subset.not_ready_addresses or []), _address(service, pod)]
    return [groups[k] for k in sorted(groups)]


class EndpointsController(Controller):
    name = "endpoints-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.services = self.informer(informers.get(SERVICES))
        self.services_in = ByNamespace(self.services)
        self.pods = self.informer(informers.get(PODS))
        self.pods_in = ByNamespace(self.pods)
        self.endpoints = self.informer(informers.get(ENDPOINTS))
        self.services.on_change(lambda kind, obj, prev: self.queue.add(cache_key(obj)))
        self.endpoints.on_change(self._endpoints_changed)
        self.pods.on_change(self._pod_changed)

    def _endpoints_changed(self, kind: str, endpoints: Endpoints, prev: Endpoints | None) -> None:
        """Endpoints nobody's Service owns (written before their Service, or by hand) are left alone."""
        if self.services.get(endpoints.metadata.namespace or "", endpoints.metadata.name) is not None:
            self.queue.add(cache_key(endpoints))

    def _pod_changed(self, kind: str, pod: Pod, prev: Pod | None) -> None:
        for service in self.services_in(pod.metadata.namespace or ""):
            if selects(service, pod) or (prev is not None and selects(service, prev)):
                self.queue.add(cache_key(service))

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        service = self.services.get(namespace, name)
        current = self.endpoints.get(namespace, name)
        if service is None:
            if current is not None:
                await self._delete(current)
            return
        if not service.spec.selector:
            return
        want = subsets(service, self.pods_in(namespace))
        if current is None:
            await self._create(service, want)
        elif (current.subsets or []) != want:
            await self.client.update(ENDPOINTS, dataclasses.replace(current, subsets=want))

    async def _create(self, service: Service, want: list[models.EndpointSubset]) -> None:
        m = service.metadata
        body = Endpoints(api_version="v1", kind="Endpoints", subsets=want, metadata=models.ObjectMeta(
            name=m.name, namespace=m.namespace, labels=m.labels or {}))
        try:
            await self.client.create(ENDPOINTS, body)
        except AlreadyExists:
            raise RuntimeError("Endpoints appeared meanwhile; retrying against it") from None

    async def _delete(self, endpoints: Endpoints) -> None:
        try:
            await self.client.delete(ENDPOINTS, endpoints.metadata.name, endpoints.metadata.namespace,
                                     uid=endpoints.metadata.uid or "")
        except NotFound:
            pass


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await EndpointsController(client).run(ready)
