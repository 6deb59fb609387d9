"""ServiceAccount admission for new pods, as Kubernetes' ServiceAccount plugin does it:

- a pod without ``serviceAccountName`` runs as ``default``; the ServiceAccount must exist. ``default`` is made by
  the serviceaccounts controller when a namespace is, so a pod created right after its namespace may find none
  yet: for ``default`` only, admission waits for it a little (with a watch), as Kubernetes retries its lookup;
- unless the pod or its ServiceAccount sets ``automountServiceAccountToken: false``, the pod gets a projected
  volume ``kube-api-access-XXXXX`` (a token of its ServiceAccount bound to the pod, the cluster CA from the
  ``kube-root-ca.crt`` ConfigMap, the namespace) mounted read-only at
  ``/var/run/secrets/kubernetes.io/serviceaccount`` in every container that mounts nothing there already;
- the ServiceAccount's ``imagePullSecrets`` become the pod's when it names none.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from portside import api
from portside.apiserver import errors
from portside.apiserver.objects import key
from portside.store import Event, EventType, KeyValue, Store

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
DEFAULT = "default"
WAIT_FOR_DEFAULT_S = 5.0  # Kubernetes retries for 1-2 s; a loaded machine needs more
TOKEN_SECONDS = 3607  # the kubelet's; the server extends such tokens (``satokens``)
SERVICE_ACCOUNTS, PODS = api.lookup("", "v1", "serviceaccounts"), api.lookup("", "v1", "pods")
Obj = dict[str, Any]


def token_volume(name: str) -> Obj:
    return {"name": name, "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS, "path": "token"}},
        {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}


def _containers(spec: Obj) -> list[Obj]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def mount_token(spec: Obj) -> None:
    """Add the token volume and its mounts (in place), unless every container mounts that path already."""
    lacking = [c for c in _containers(spec)
               if not any(m.get("mountPath") == MOUNT_PATH for m in c.get("volumeMounts") or [])]
    if not lacking:
        return
    taken = {v.get("name") for v in spec.get("volumes") or []}
    name = f"kube-api-access-{secrets.token_hex(3)[:5]}"
    while name in taken:
        name = f"kube-api-access-{secrets.token_hex(3)[:5]}"
    spec.setdefault("volumes", []).append(token_volume(name))
    for c in lacking:
        c.setdefault("volumeMounts", []).append({"name": name, "readOnly": True, "mountPath": MOUNT_PATH})


class ServiceAccountAdmission:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def __call__(self, info: api.ResourceInfo, obj: Obj, old: Obj | None = None) -> None:
        if old is not None or info.kind != "Pod" or info.group != "":
            return
        spec, m = obj.setdefault("spec", {}), obj.get("metadata") or {}
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT
        spec["serviceAccountName"] = spec["serviceAccount"] = name
        kv = await self._account(m.get("namespace", ""), name)
        if kv is None:
            raise errors.forbidden(f'pods "{m.get("name", "")}" is forbidden: error looking up service account '
                                   f'{m.get("namespace", "")}/{name}: serviceaccount "{name}" not found')
        account = json.loads(kv.value)
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = account["imagePullSecrets"]
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = account.get("automountServiceAccountToken") is not False
        if automount:
            mount_token(spec)

    async def _account(self, namespace: str, name: str) -> KeyValue | None:
        k = key(SERVICE_ACCOUNTS, namespace, name)
        kv = await self.store.get(k)
        if kv is not None or name != DEFAULT:
            return kv
        listed = await self.store.list(k)  # a read and the revision it saw, from which the watch goes on
        kv = next((item for item in listed.items if item.key == k), None)
        if kv is not None:
            return kv
        stream = await self.store.watch(k, listed.revision)
        try:
            async with asyncio.timeout(WAIT_FOR_DEFAULT_S):
                async for item in stream:
                    if isinstance(item, Event) and item.kv.key == k and item.type is EventType.PUT:
                        return item.kv
        except TimeoutError:
            return None
        finally:
            stream.close()
        return None
