"""RBAC's escalation prevention: nobody grants, through a role or a binding, permissions they do not hold.

Checked in admission on every create and update of a Role, ClusterRole, RoleBinding or ClusterRoleBinding, with
the caller of the request (``auth.CALLER``), as Kubernetes' RBAC storage checks it:

- a role's rules must be covered by the caller's own RBAC rules in the role's namespace (cluster-wide ones for a
  ClusterRole), unless the caller may ``escalate`` that role; an update that leaves the rules as they were passes.
  Setting an ``aggregationRule`` needs every permission (it can gather anything);
- a binding's role must be covered likewise, unless the caller may ``bind`` that role; a binding to a role that
  does not exist is refused to such a caller;
- members of ``system:masters`` and the server's own writes pass.

The caller's rules are RBAC's alone: what the Node authorizer allows a node cannot be handed on.
"""

from __future__ import annotations

import copy
from typing import Any

from portside import api
from portside.apiserver import errors
from portside.apiserver.auth import CALLER, MASTERS, User
from portside.apiserver.authz.attributes import Attributes
from portside.apiserver.authz.rules import ALL, Rule, compile_rules, describe, uncovered

RBAC = "rbac.authorization.k8s.io"
FULL_AUTHORITY = (Rule(frozenset({ALL}), frozenset({ALL}), frozenset({ALL}), frozenset(), ()),
                  Rule(frozenset({ALL}), frozenset(), frozenset(), frozenset(), (ALL,)))
ROLE_KINDS = frozenset({"Role", "ClusterRole"})
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})
Obj = dict[str, Any]


def _gc_only(new: Obj, old: Obj) -> bool:
    """Only the fields the garbage collector writes differ (owner references, finalizers)."""
    def stripped(obj: Obj) -> Obj:
        out = copy.deepcopy(obj)
        for k in ("ownerReferences", "finalizers", "resourceVersion", "managedFields"):
            out.get("metadata", {}).pop(k, None)
        return out
    return stripped(new) == stripped(old)


class EscalationCheck:
    def __init__(self, authorizer) -> None:
        """``authorizer``: the chain (``chain.Authorizer``), asked whether the caller may escalate or bind."""
        self.authorizer = authorizer

    async def __call__(self, info: api.ResourceInfo, new: Obj, old: Obj | None = None) -> None:
        user = CALLER.get()
        if info.group != RBAC or user is None or MASTERS in user.groups:
            return
        if info.kind in ROLE_KINDS:
            await self._role(info, user, new, old)
        elif info.kind in BINDING_KINDS:
            await self._binding(info, user, new, old)

    async def _may(self, user: User, verb: str, plural: str, namespace: str, name: str) -> bool:
        attrs = Attributes(user, verb, True, "", RBAC, "v1", namespace, plural, "", name)
        return (await self.authorizer.decide(attrs)).allowed

    def _held(self, user: User, namespace: str) -> list[Rule]:
        return [rule for rule, _ in self.authorizer.rbac.rules(user, namespace).rules]

    async def _role(self, info: api.ResourceInfo, user: User, new: Obj, old: Obj | None) -> None:
        m = new.get("metadata") or {}
        namespace, name = m.get("namespace", ""), m.get("name", "")
        if old is not None and old.get("rules") == new.get("rules") and \
                old.get("aggregationRule") == new.get("aggregationRule"):
            return
        if await self._may(user, "escalate", info.plural, namespace, name):
            return
        held = self._held(user, namespace)
        self._refuse_missing(info, name, user, uncovered(held, compile_rules(new.get("rules") or [])))
        aggregation = new.get("aggregationRule")
        if aggregation and (old is None or old.get("aggregationRule") != aggregation) and \
                uncovered(held, FULL_AUTHORITY):
            raise errors.forbidden(f'{info.plural}.{RBAC} "{name}" is forbidden: must have cluster-admin privileges '
                                   f'to use the aggregationRule')

    async def _binding(self, info: api.ResourceInfo, user: User, new: Obj, old: Obj | None) -> None:
        m, ref = new.get("metadata") or {}, new.get("roleRef") or {}
        namespace, name = m.get("namespace", ""), m.get("name", "")
        if old is not None and _gc_only(new, old):
            return
        role_plural = "clusterroles" if ref.get("kind") == "ClusterRole" else "roles"
        if await self._may(user, "bind", role_plural, namespace, ref.get("name", "")):
            return
        rbac = self.authorizer.rbac
        rules = (rbac.cluster_roles.get(ref.get("name", "")) if role_plural == "clusterroles"
                 else rbac.roles.get((namespace, ref.get("name", ""))))
        if rules is None:
            raise errors.forbidden(f'{info.plural}.{RBAC} "{name}" is forbidden: {role_plural}.{RBAC} '
                                   f'"{ref.get("name", "")}" not found')
        self._refuse_missing(info, name, user, uncovered(self._held(user, namespace), rules))

    @staticmethod
    def _refuse_missing(info: api.ResourceInfo, name: str, user: User, missing: list[Rule]) -> None:
        if not missing:
            return
        groups = " ".join(f'"{g}"' for g in user.groups)
        rights = "\n".join(describe(r) for r in missing)
        raise errors.forbidden(f'{info.plural}.{RBAC} "{name}" is forbidden: user "{user.name}" (groups=[{groups}]) '
                               f'is attempting to grant RBAC permissions not currently held:\n{rights}')
