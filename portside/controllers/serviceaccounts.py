"""Every namespace has a ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap, as Kubernetes'
serviceaccounts and root-ca-cert-publisher controllers keep them.

Pods run as ``default`` unless they name another, and their token volume takes the cluster CA from
``kube-root-ca.crt``, so both must exist in a namespace before its pods can start. A namespace being deleted is
left alone; one of them deleted by hand in a live namespace comes back, and a ConfigMap whose CA differs from the
cluster's is put right. ``sync`` keys on the namespace: any change to a namespace, or to one of those two objects,
requeues that namespace.
"""

from __future__ import annotations

import logging

from portside import api
from portside.client import AlreadyExists, Client, NotFound
from portside.controllers.base import Controller
from portside.controllers.informer import Informer

log = logging.getLogger("portside.controllers.serviceaccounts")
NAMESPACES = api.lookup("", "v1", "namespaces")
SERVICE_ACCOUNTS = api.lookup("", "v1", "serviceaccounts")
CONFIG_MAPS = api.lookup("", "v1", "configmaps")
DEFAULT = "default"
ROOT_CA = "kube-root-ca.crt"
ROOT_CA_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
                       "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
                       "guaranteed across distributions of Kubernetes clusters.")


class ServiceAccountsController(Controller):
    name = "serviceaccounts"

    def __init__(self, client: Client, ca_pem: str) -> None:
        super().__init__(client)
        self.ca_pem = ca_pem
        self.namespaces = self.informer(Informer(client, NAMESPACES))
        self.accounts = self.informer(Informer(client, SERVICE_ACCOUNTS))
        self.config_maps = self.informer(Informer(client, CONFIG_MAPS))
        self.namespaces.on_change(lambda kind, ns, prev: self.queue.add(ns.metadata.name))
        for inf in (self.accounts, self.config_maps):
            inf.on_change(lambda kind, obj, prev: self.queue.add(obj.metadata.namespace))

    async def sync(self, namespace: str) -> None:
        ns = self.namespaces.get("", namespace)
        if ns is None or ns.metadata.deletion_timestamp or (ns.status and ns.status.phase == "Terminating"):
            return
        if self.accounts.get(namespace, DEFAULT) is None:
            await self._create(SERVICE_ACCOUNTS, namespace, {"metadata": {"name": DEFAULT}})
        published = self.config_maps.get(namespace, ROOT_CA)
        if published is None:
            await self._create(CONFIG_MAPS, namespace, self._root_ca())
        elif (published.data or {}).get("ca.crt") != self.ca_pem:
            await self.client.patch(CONFIG_MAPS, ROOT_CA, {"data": {"ca.crt": self.ca_pem}}, namespace)

    def _root_ca(self) -> dict:
        return {"metadata": {"name": ROOT_CA, "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
                "data": {"ca.crt": self.ca_pem}}

    async def _create(self, info: api.ResourceInfo, namespace: str, obj: dict) -> None:
        try:
            await self.client.create(info, obj, namespace)
            log.info("namespace %s: created %s %s", namespace, info.kind, obj["metadata"]["name"])
        except (AlreadyExists, NotFound):  # made meanwhile, or the namespace is gone
            pass
