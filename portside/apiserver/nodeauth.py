"""The Node authorizer: what a node's credential (user ``system:node:NAME``, group ``system:nodes``) may do.

Kubernetes splits this between the Node authorizer, the NodeRestriction admission plugin and the ``system:node``
role; here one rule table holds all of it, decided per request once the path is resolved:

- read Nodes, Services, Endpoints, EndpointSlices, Namespaces, PersistentVolumes and NetworkPolicies (the
  agent, the service proxy and the network policy enforcer follow them; the agent mounts volumes and removes
  the local-path volumes of its node);
- create, update and patch its own Node and its status; its own Lease in ``kube-node-lease``;
- list and watch every pod (the node's network policy enforcer needs every pod's address, labels and ports,
  wherever it runs, as the ``system:node`` role let kubelets read them; k3s gives its agents' embedded policy
  controller a credential with the same rights); get, delete and write the status of pods bound to it;
- get the ConfigMaps, Secrets and PersistentVolumeClaims that pods bound to it name (``api.references``);
- delete a PersistentVolume the local-path provisioner made on this node once its claim is gone and its
  reclaim policy is Delete (the agent has removed its directory);
- create and update Events.

Anything else is refused with a Kubernetes-shaped Forbidden naming user, verb and resource, with the reason.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from portside import api
from portside.api import volumes
from portside.api.models import Node, PersistentVolume, Pod
from portside.api.references import referenced
from portside.apiserver import errors, protobuf
from portside.apiserver.auth import User
from portside.apiserver.objects import Target, key

READ = frozenset({"get", "list", "watch"})
WRITE = frozenset({"create", "update", "patch"})
LEASE_NAMESPACE = "kube-node-lease"
PODS = api.lookup("", "v1", "pods")
NODES = api.lookup("", "v1", "nodes")
READABLE = frozenset({("", "nodes"), ("", "services"), ("", "endpoints"), ("discovery.k8s.io", "endpointslices"),
                      ("", "namespaces"), ("", "persistentvolumes"), ("networking.k8s.io", "networkpolicies")})
REFERENCED = {"configmaps": 0, "secrets": 1}  # index into api.references.referenced's answer
NO_RELATIONSHIP = "no relationship found between node '{node}' and this object"


class Denied(Exception):
    pass


async def authorize(registry, request: web.Request, user: User, t: Target, verb: str) -> None:
    """Return when ``user`` (a node) may do ``verb`` on ``t``; raise a 403 ApiError otherwise."""
    try:
        await _decide(registry, request, user.node, t, verb)
    except Denied as exc:
        raise forbidden(user, verb, t, str(exc)) from None


async def _decide(registry, request: web.Request, node: str, t: Target, verb: str) -> None:
    group, plural, sub = t.info.group, t.info.plural, t.subresource
    if (group, plural) in READABLE and verb in READ and not sub:
        return
    if (group, plural) == ("", "nodes"):
        return await _own_node(request, node, t, verb)
    if (group, plural) == ("coordination.k8s.io", "leases"):
        return await _own_lease(request, node, t, verb)
    if (group, plural) == ("", "pods"):
        return await _bound_pod(registry, request, node, t, verb)
    if group == "" and plural in REFERENCED and verb == "get" and not sub:
        return await _referenced(registry, node, t, REFERENCED[plural])
    if plural == "persistentvolumeclaims" and verb == "get" and not sub:
        return await _claimed(registry, node, t)
    if (group, plural) == ("", "persistentvolumes") and verb == "delete" and not sub:
        return await _reclaimable(registry, node, t)
    if plural == "events" and group in ("", "events.k8s.io") and verb in WRITE:
        return
    raise Denied(f"a node may not {verb} {plural}{'/' + sub if sub else ''}")


async def _own_node(request: web.Request, node: str, t: Target, verb: str) -> None:
    if verb not in WRITE or t.subresource not in ("", "status"):
        raise Denied(f"node '{node}' may not {verb} nodes{'/' + t.subresource if t.subresource else ''}")
    name = t.name or await _body_name(request)
    if name != node:
        raise Denied(f"node '{node}' cannot modify node '{name}'")


async def _own_lease(request: web.Request, node: str, t: Target, verb: str) -> None:
    name = t.name or (await _body_name(request) if verb == "create" else "")
    if t.namespace != LEASE_NAMESPACE or name != node or verb not in READ | WRITE - {"list", "watch"}:
        raise Denied(f"node '{node}' may only get, create, update and patch its own Lease "
                     f"({LEASE_NAMESPACE}/{node})")


async def _bound_pod(registry, request: web.Request, node: str, t: Target, verb: str) -> None:
    if verb in ("list", "watch") and not t.subresource:
        return
    allowed = (verb in ("get", "delete") and not t.subresource) or \
        (t.subresource == "status" and verb in {"get", "update", "patch"})
    if not allowed or not t.name:
        raise Denied(f"a node may not {verb} pods{'/' + t.subresource if t.subresource else ''}")
    kv = await registry.store.get(key(PODS, t.namespace, t.name))
    if kv is None:
        if verb == "get":
            return  # the handler answers 404, as it would to anyone allowed to ask
        raise Denied(NO_RELATIONSHIP.format(node=node))
    if (json.loads(kv.value).get("spec") or {}).get("nodeName") != node:
        raise Denied(NO_RELATIONSHIP.format(node=node))


async def _bound_pods(registry, node: str, namespace: str) -> list[Pod]:
    page = await registry.list(PODS, namespace)
    pods = [json.loads(kv.value) for kv in page.items]
    return [Pod.from_dict(p) for p in pods if (p.get("spec") or {}).get("nodeName") == node]


async def _referenced(registry, node: str, t: Target, which: int) -> None:
    for pod in await _bound_pods(registry, node, t.namespace):
        if t.name in referenced(pod)[which]:
            return
    raise Denied(NO_RELATIONSHIP.format(node=node))


async def _claimed(registry, node: str, t: Target) -> None:
    for pod in await _bound_pods(registry, node, t.namespace):
        claims = {v.persistent_volume_claim.claim_name for v in pod.spec.volumes or [] if v.persistent_volume_claim}
        if t.name in claims:
            return
    raise Denied(NO_RELATIONSHIP.format(node=node))


async def _reclaimable(registry, node: str, t: Target) -> None:
    """A Released local-path volume of this node whose policy is Delete: the node removes what it holds."""
    kv = await registry.store.get(key(t.info, "", t.name))
    node_kv = await registry.store.get(key(NODES, "", node))
    if kv is None or node_kv is None:
        raise Denied(NO_RELATIONSHIP.format(node=node))
    pv = PersistentVolume.from_dict(json.loads(kv.value))
    if not volumes.reclaimable_on(pv, Node.from_dict(json.loads(node_kv.value))):
        raise Denied(f"node '{node}' may only delete the Released local-path volumes with reclaim policy Delete "
                     f"that live on it")


async def _body_name(request: web.Request) -> str:
    """The name in a create's body (aiohttp keeps the body, so the handler reads it again)."""
    raw = await request.read()
    try:
        if request.headers.get("Content-Type", "").startswith(protobuf.MEDIA_TYPE):
            body: Any = protobuf.decode(raw)
        else:
            body = json.loads(raw or b"{}")
    except (ValueError, protobuf.ProtobufError):
        return ""
    return str(((body or {}).get("metadata") or {}).get("name", "")) if isinstance(body, dict) else ""


def forbidden(user: User, verb: str, t: Target, why: str) -> errors.ApiError:
    """Worded as Kubernetes' RBAC/Node refusal, which kubectl prints as it is."""
    resource = t.info.plural + (f"/{t.subresource}" if t.subresource else "")
    qualified = f"{t.info.plural}.{t.info.group}" if t.info.group else t.info.plural
    what = f'{qualified} "{t.name}"' if t.name else qualified
    scope = f'in the namespace "{t.namespace}"' if t.namespace else "at the cluster scope"
    message = (f'{what} is forbidden: User "{user.name}" cannot {verb} resource "{resource}" in API group '
               f'"{t.info.group}" {scope}: {why}')
    return errors.ApiError(403, "Forbidden", message, {"name": t.name, "group": t.info.group,
                                                       "kind": t.info.plural})
