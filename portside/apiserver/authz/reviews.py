"""The review kinds, answered from the same authorizers and authenticators that guard requests (never stored):

- ``SelfSubjectAccessReview`` (``kubectl auth can-i VERB RESOURCE``), ``SubjectAccessReview`` (any user's, with
  the groups given) and ``LocalSubjectAccessReview`` (confined to the namespace it is posted in);
- ``SelfSubjectRulesReview`` (``kubectl auth can-i --list``): the caller's rules in a namespace, which are exactly
  what RBAC decides by, so the list and the individual answers cannot disagree. Nodes get ``incomplete``: the
  Node authorizer decides per object and has no rule list, as on Kubernetes;
- ``SelfSubjectReview`` (``kubectl auth whoami``) and ``TokenReview`` (whose token is this?).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from portside import api
from portside.apiserver import errors
from portside.apiserver.auth import MASTERS, User
from portside.apiserver.authz.attributes import Attributes
from portside.apiserver.authz.chain import Authorizer
from portside.apiserver.objects import Target

Obj = dict[str, Any]
KINDS = frozenset({"SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview",
                   "SelfSubjectRulesReview", "SelfSubjectReview", "TokenReview"})
ALL_RESOURCES = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
ALL_URLS = {"verbs": ["*"], "nonResourceURLs": ["*"]}
TokenUser = Callable[[str, list[str]], Awaitable["tuple[User | None, list[str]]"]]


def user_info(user: User) -> Obj:
    out: Obj = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        out["uid"] = user.uid
    if user.extra:
        out["extra"] = {k: list(v) for k, v in user.extra}
    return out


class Reviews:
    def __init__(self, authorizer: Authorizer, token_user: TokenUser | None = None) -> None:
        """``token_user(token, audiences)``: the user a bearer token authenticates and the audiences it is
        valid for (TokenReview)."""
        self.authorizer, self.token_user = authorizer, token_user

    async def answer(self, t: Target, body: Any, caller: User) -> bytes:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON object")
        try:
            review = api.decode(t.info, body)
        except api.Invalid as exc:
            raise errors.invalid(exc) from None
        kind = t.info.kind
        spec = review.get("spec") or {}
        if kind == "SelfSubjectReview":
            status: Obj = {"userInfo": user_info(caller)}
        elif kind == "TokenReview":
            status = await self._token(spec)
        elif kind == "SelfSubjectRulesReview":
            status = self.rules(caller, spec.get("namespace", ""))
        elif kind == "SelfSubjectAccessReview":
            status = await self.access(caller, spec, t.info)
        else:
            status = await self.access(self._subject(spec, t.info), self._local(spec, t), t.info)
        review.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        review["status"] = status
        return json.dumps(review).encode()

    @staticmethod
    def _subject(spec: Obj, info: api.ResourceInfo) -> User:
        if not spec.get("user") and not spec.get("groups"):
            raise errors.invalid(api.Invalid(info.kind, "", [api.FieldError(
                "spec.user", "FieldValueRequired", "Required value: at least one of user or group must be "
                                                    "specified")], group=info.group))
        extra = tuple((k, tuple(v)) for k, v in sorted((spec.get("extra") or {}).items()))
        return User(spec.get("user", ""), False, tuple(spec.get("groups") or ()), spec.get("uid", ""), extra)

    @staticmethod
    def _local(spec: Obj, t: Target) -> Obj:
        if t.info.kind != "LocalSubjectAccessReview":
            return spec
        attrs = spec.get("resourceAttributes")
        if attrs is None or attrs.get("namespace", t.namespace) != t.namespace:
            raise errors.invalid(api.Invalid(t.info.kind, "", [api.FieldError(
                "spec.resourceAttributes.namespace", "FieldValueInvalid",
                f"Invalid value: {json.dumps((attrs or {}).get('namespace', ''))}: must match metadata.namespace")],
                group=t.info.group))
        return {**spec, "resourceAttributes": {**attrs, "namespace": t.namespace}}

    async def access(self, user: User, spec: Obj, info: api.ResourceInfo) -> Obj:
        attrs = self.attributes(user, spec, info)
        decision = await self.authorizer.decide(attrs, explain=True)
        status: Obj = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        return status

    @staticmethod
    def attributes(user: User, spec: Obj, info: api.ResourceInfo) -> Attributes:
        resource, other = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (resource is None) == (other is None):
            raise errors.invalid(api.Invalid(info.kind, "", [api.FieldError(
                "spec.resourceAttributes", "FieldValueInvalid", "Invalid value: \"null\": exactly one of "
                "nonResourceAttributes or resourceAttributes must be specified")], group=info.group))
        if other is not None:
            return Attributes(user, other.get("verb", ""), False, other.get("path", ""))
        return Attributes(user, resource.get("verb", ""), True, "", resource.get("group", ""),
                          resource.get("version", ""), resource.get("namespace", ""), resource.get("resource", ""),
                          resource.get("subresource", ""), resource.get("name", ""))

    def rules(self, user: User, namespace: str) -> Obj:
        """What ``user`` may do in ``namespace``: RBAC's rules there (and cluster-wide), each as it is written."""
        if MASTERS in user.groups or "AlwaysAllow" in self.authorizer.modes:
            return {"resourceRules": [ALL_RESOURCES], "nonResourceRules": [ALL_URLS], "incomplete": False}
        resource_rules, url_rules = [], []
        for rule, _ in self.authorizer.rbac.rules(user, namespace).rules:
            wire = rule.to_wire()
            target = url_rules if rule.urls else resource_rules
            if wire not in target:
                target.append(wire)
        status: Obj = {"resourceRules": resource_rules, "nonResourceRules": url_rules, "incomplete": False}
        if user.node and "Node" in self.authorizer.modes:
            status.update(incomplete=True, evaluationError="node authorizer does not support user rule resolution")
        return status

    async def _token(self, spec: Obj) -> Obj:
        token, audiences = spec.get("token", ""), list(spec.get("audiences") or [])
        user, valid_for = (await self.token_user(token, audiences)) if self.token_user and token else (None, [])
        if user is None:
            return {"authenticated": False, "user": {}, "error": "token not valid"}
        return {"authenticated": True, "user": user_info(user), "audiences": valid_for}
