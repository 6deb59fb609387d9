"""``POST .../serviceaccounts/NAME/token`` (TokenRequest): what ``kubectl create token NAME`` and node agents ask.

The answer is a token (``satokens``) for the ServiceAccount, for the audiences asked (the API server's by
default), valid ``expirationSeconds`` (3600 by default, at least 600), optionally bound to a Pod whose deletion
revokes it. Refusals are Kubernetes': a bound pod that does not exist is 404, one whose uid differs (deleted and
made again) is 409, one that runs as another ServiceAccount is 400. A node may only ask for a token bound to a pod
bound to it, of that pod's ServiceAccount (Kubernetes' NodeRestriction).
"""

from __future__ import annotations

import json
from typing import Any

from portside import api
from portside.apiserver import errors
from portside.apiserver.auth import User
from portside.apiserver.objects import Target, key, now
from portside.apiserver.registry import Registry
from portside.apiserver.satokens import API_AUDIENCES, ServiceAccountTokens

DEFAULT_SECONDS = 3600
MIN_SECONDS = 600
TOKEN_REQUESTS = api.ResourceInfo("authentication.k8s.io", "v1", "TokenRequest", "tokenrequests", "tokenrequest",
                                  True, model=api.models.TokenRequest)
PODS = api.lookup("", "v1", "pods")
Obj = dict[str, Any]


def _invalid(name: str, path: str, value: Any, detail: str) -> errors.ApiError:
    cause = api.FieldError(path, "FieldValueInvalid", f"Invalid value: {json.dumps(value)}: {detail}")
    return errors.invalid(api.Invalid("TokenRequest", name, [cause], group="authentication.k8s.io"))


class TokenRequests:
    def __init__(self, registry: Registry, tokens: ServiceAccountTokens) -> None:
        self.registry, self.tokens = registry, tokens

    async def create(self, t: Target, body: Any, caller: User) -> bytes:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON object")
        try:
            request = api.decode(TOKEN_REQUESTS, {**body, "apiVersion": "authentication.k8s.io/v1",
                                                  "kind": "TokenRequest"})
        except api.Invalid as exc:
            raise errors.invalid(exc) from None
        account = json.loads((await self.registry.read(Target(t.info, t.namespace, t.name))).value)
        spec = request.setdefault("spec", {})
        spec.setdefault("audiences", list(API_AUDIENCES))
        if not spec["audiences"]:
            spec["audiences"] = list(API_AUDIENCES)
        seconds = spec.setdefault("expirationSeconds", DEFAULT_SECONDS)
        if seconds < MIN_SECONDS:
            raise _invalid(t.name, "spec.expirationSeconds", seconds, "may not specify a duration less than 10 "
                                                                      "minutes")
        pod = await self._bound_pod(t, spec.get("boundObjectRef"), caller)
        token, expires = self.tokens.issue(t.namespace, account, spec["audiences"], seconds, pod)
        meta = {"name": t.name, "namespace": t.namespace, "creationTimestamp": now()}
        answer = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": meta, "spec": spec,
                  "status": {"token": token, "expirationTimestamp": expires}}
        return json.dumps(answer).encode()

    async def _bound_pod(self, t: Target, ref: Obj | None, caller: User) -> Obj | None:
        if ref is None:
            if caller.node:
                raise errors.forbidden(f'serviceaccounts "{t.name}" is forbidden: node requested token not bound '
                                       f'to a pod')
            return None
        if ref.get("kind") != "Pod":
            raise _invalid(t.name, "spec.boundObjectRef.kind", ref.get("kind", ""), 'supported values: "Pod"')
        kv = await self.registry.store.get(key(PODS, t.namespace, ref.get("name", "")))
        if kv is None:
            raise errors.not_found(PODS, ref.get("name", ""))
        pod = json.loads(kv.value)
        m, spec = pod["metadata"], pod.get("spec") or {}
        if ref.get("uid") and ref["uid"] != m.get("uid"):
            raise errors.conflict(PODS, m["name"], f"the UID in the bound object reference ({ref['uid']}) does "
                                  f"not match the UID in record. The object might have been deleted and then "
                                  f"recreated")
        if (spec.get("serviceAccountName") or "default") != t.name:
            raise errors.bad_request(f'cannot bind token for serviceaccount "{t.name}" to pod running with '
                                     f'different serviceaccount name.')
        if caller.node and spec.get("nodeName") != caller.node:
            raise errors.forbidden(f'serviceaccounts "{t.name}" is forbidden: node requested token bound to a pod '
                                   f'scheduled on a different node')
        return pod
