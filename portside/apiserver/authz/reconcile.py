"""Bring the default ClusterRoles and ClusterRoleBindings (``policy``) into the store at every start.

What is missing is created; an existing default gains the rules, labels, aggregation rule and subjects it lacks
and keeps whatever an administrator added. A default annotated ``rbac.authorization.kubernetes.io/autoupdate:
"false"`` is left as it is. A binding whose role reference differs from the default's is replaced (the reference
cannot be updated). Several servers starting together may race on a write: the loser re-reads and tries again.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

from portside import api
from portside.api.aggregation import aggregated_rules
from portside.api.models import ClusterRole
from portside.apiserver import errors
from portside.apiserver.authz import policy
from portside.apiserver.objects import Target, key, list_prefix
from portside.apiserver.registry import Registry, WriteOptions

log = logging.getLogger("portside.apiserver.rbac")
ATTEMPTS = 5
CLUSTER_ROLES = api.lookup("rbac.authorization.k8s.io", "v1", "clusterroles")
CLUSTER_ROLE_BINDINGS = api.lookup("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
ROLES = api.lookup("rbac.authorization.k8s.io", "v1", "roles")
ROLE_BINDINGS = api.lookup("rbac.authorization.k8s.io", "v1", "rolebindings")
Obj = dict[str, Any]


def _merged_meta(current: Obj, wanted: Obj) -> Obj:
    meta = current.setdefault("metadata", {})
    for field in ("labels", "annotations"):
        for k, v in (wanted["metadata"].get(field) or {}).items():
            meta.setdefault(field, {}).setdefault(k, v)
    return current


def reconcile_role(current: Obj, wanted: Obj) -> Obj:
    """``current`` with what the default has and it lacks."""
    out = _merged_meta(copy.deepcopy(current), wanted)
    if "aggregationRule" in wanted:
        out["aggregationRule"] = wanted["aggregationRule"]  # its rules are the aggregation controller's
        return out
    rules = out.setdefault("rules", [])
    rules.extend(r for r in wanted["rules"] if r not in rules)
    return out


def reconcile_binding(current: Obj, wanted: Obj) -> Obj:
    out = _merged_meta(copy.deepcopy(current), wanted)
    subjects = out.setdefault("subjects", [])
    subjects.extend(s for s in wanted["subjects"] if s not in subjects)
    return out


async def reconcile(registry: Registry, readonly_user: str = "readonly") -> None:
    for role in policy.cluster_roles():
        await _ensure(registry, CLUSTER_ROLES, role, reconcile_role)
    for binding in policy.cluster_bindings(readonly_user):
        await _ensure(registry, CLUSTER_ROLE_BINDINGS, binding, reconcile_binding)
    for role in policy.roles():
        await _ensure(registry, ROLES, role, reconcile_role)
    for binding in policy.role_bindings():
        await _ensure(registry, ROLE_BINDINGS, binding, reconcile_binding)
    for _ in range(3):  # admin aggregates edit, which aggregates view: a pass may change what the next one sees
        if not await _aggregate_defaults(registry):
            break


async def _aggregate_defaults(registry: Registry) -> bool:
    """Fill in the default aggregated roles now, as the aggregation controller would: ``view`` works from the
    first request, even on a server that runs no controllers. True when a role changed."""
    changed = False
    listed = await registry.store.list(list_prefix(CLUSTER_ROLES, ""))
    roles = [ClusterRole.from_dict(json.loads(kv.value)) for kv in listed.items]
    defaults = {r["metadata"]["name"] for r in policy.cluster_roles() if "aggregationRule" in r}
    for role in roles:
        if role.metadata.name not in defaults or role.aggregation_rule is None:
            continue
        rules = [r.to_dict() for r in aggregated_rules(role, roles)]
        if rules != [r.to_dict() for r in role.rules or []]:
            t = Target(CLUSTER_ROLES, "", role.metadata.name)
            await registry.patch(t, json.dumps({"rules": rules}).encode(), "application/merge-patch+json",
                                 WriteOptions())
            changed = True
    return changed


async def _ensure(registry: Registry, info: api.ResourceInfo, wanted: Obj, merge) -> None:
    t = Target(info, wanted["metadata"].get("namespace", ""), wanted["metadata"]["name"])
    for _ in range(ATTEMPTS):
        try:
            await _ensure_once(registry, t, wanted, merge)
            return
        except errors.ApiError as exc:
            if exc.code != 409:
                raise
    log.warning("could not reconcile %s %s after %d attempts (others kept changing it)", info.kind, t.name,
                ATTEMPTS)


async def _ensure_once(registry: Registry, t: Target, wanted: Obj, merge) -> None:
    kv = await registry.store.get(key(t.info, t.namespace, t.name))
    if kv is None:
        await registry.create(t, copy.deepcopy(wanted), WriteOptions())
        return
    current = json.loads(kv.value)
    if (current["metadata"].get("annotations") or {}).get(policy.AUTOUPDATE) == "false":
        return
    if "roleRef" in wanted and current.get("roleRef") != wanted["roleRef"]:
        log.warning("%s %s referred to %s; replaced by the default's", t.info.kind, t.name, current.get("roleRef"))
        await registry.store.delete(kv.key, kv.mod_revision)
        await registry.create(t, copy.deepcopy(wanted), WriteOptions())
        return
    merged = merge(current, wanted)
    if merged != current:
        await registry.update(t, merged, WriteOptions())
