"""The Endpoints controller: for every Service with a selector, an Endpoints object of the same name listing the
matching pods' IPs (ready ones in ``addresses``, the rest in ``notReadyAddresses``) and the ports they serve.

A named ``targetPort`` is looked up in each pod's container ports, so pods of two template versions may serve the
same Service port on different numbers; pods that resolve to the same ports share one subset, as Kubernetes
packs them. A Service without a selector keeps the Endpoints its user wrote.
"""

from __future__ import annotations

import asyncio

from portside import api
from portside.api import models
from portside.client import AlreadyExists, Client, NotFound
from portside.controllers.base import Controller
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import Obj, is_active, is_ready, meta
from portside.controllers.shared import InformerFactory

PODS = api.lookup("", "v1", "pods")
SERVICES = api.lookup("", "v1", "services")
ENDPOINTS = api.lookup("", "v1", "endpoints")

PortKey = tuple[tuple[str, int, str], ...]  # (name, number, protocol) per Service port the pod serves


def selects(service: Obj, pod: Obj) -> bool:
    selector = (service.get("spec") or {}).get("selector")
    return bool(selector) and api.selector_from_object({"matchLabels": selector}).matches(meta(pod).get("labels"))


def resolve(port: Obj, pod: Obj) -> int | None:
    """The pod's number for a Service port: the targetPort itself, or the container port of that name."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)
    protocol = port.get("protocol", "TCP")
    for container in (pod.get("spec") or {}).get("containers") or []:
        for cport in container.get("ports") or []:
            if cport.get("name") == target and cport.get("protocol", "TCP") == protocol:
                return cport.get("containerPort")
    return None


def _ports(service: Obj, pod: Obj) -> PortKey:
    out = []
    for port in (service.get("spec") or {}).get("ports") or []:
        number = resolve(port, pod)
        if number is not None:
            out.append((port.get("name") or "", number, port.get("protocol", "TCP")))
    return tuple(out)


def _address(pod: Obj) -> models.EndpointAddress:
    m = meta(pod)
    ref = models.ObjectReference(kind="Pod", namespace=m.get("namespace"), name=m.get("name"), uid=m.get("uid"))
    return models.EndpointAddress(ip=pod["status"]["podIP"], node_name=(pod.get("spec") or {}).get("nodeName"),
                                  target_ref=ref)


def subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """The Endpoints subsets ``service`` should have given ``pods`` (any pods; non-matching ones are skipped)."""
    publish_all = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    groups: dict[PortKey, models.EndpointSubset] = {}
    for pod in sorted(pods, key=lambda p: meta(p).get("name", "")):
        if not selects(service, pod) or not is_active(pod) or not (pod.get("status") or {}).get("podIP"):
            continue
        key = _ports(service, pod)
        if (service.get("spec") or {}).get("ports") and not key:
            continue  # serves none of the Service's ports
        subset = groups.setdefault(key, models.EndpointSubset(ports=[
            models.EndpointPort(name=name or None, port=number, protocol=protocol) for name, number, protocol in key]))
        if publish_all or is_ready(pod):
            subset.addresses = [*(subset.addresses or []), _address(pod)]
        else:
            subset.not_ready_addresses = [*(subset.not_ready_addresses or []), _address(pod)]
    return [groups[k].to_dict() for k in sorted(groups)]


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

    def _endpoints_changed(self, kind: str, endpoints: Obj, prev: Obj | None) -> None:
        """Endpoints nobody's Service owns (written before their Service, or by hand) are left alone."""
        if self.services.get(meta(endpoints).get("namespace", ""), meta(endpoints)["name"]) is not None:
            self.queue.add(cache_key(endpoints))

    def _pod_changed(self, kind: str, pod: Obj, prev: Obj | None) -> None:
        for service in self.services_in(meta(pod).get("namespace", "")):
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
        if not (service.get("spec") or {}).get("selector"):
            return
        want = subsets(service, self.pods_in(namespace))
        if current is None:
            await self._create(service, want)
        elif (current.get("subsets") or []) != want:
            await self.client.update(ENDPOINTS, {**current, "subsets": want})

    async def _create(self, service: Obj, want: list[Obj]) -> None:
        m = meta(service)
        body = {"apiVersion": "v1", "kind": "Endpoints", "subsets": want,
                "metadata": {"name": m["name"], "namespace": m["namespace"], "labels": m.get("labels") or {}}}
        try:
            await self.client.create(ENDPOINTS, body)
        except AlreadyExists:
            raise RuntimeError("Endpoints appeared meanwhile; retrying against it") from None

    async def _delete(self, endpoints: Obj) -> None:
        try:
            await self.client.delete(ENDPOINTS, meta(endpoints)["name"], meta(endpoints)["namespace"],
                                     uid=meta(endpoints).get("uid", ""))
        except NotFound:
            pass


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await EndpointsController(client).run(ready)
