"""The RBAC authorizer: every Role, ClusterRole and binding in memory, indexed by subject, rules cached per user.

Theory of operation. The server reads ``/registry/rbac.authorization.k8s.io/`` once and then follows it with a
store watch (a ``store.Follower``, as the node credentials are followed), so a decision never touches the store.
Bindings are indexed by subject (``("User", name)`` or ``("Group", name)``; a ServiceAccount subject is the user
``system:serviceaccount:NS:NAME``), cluster-wide and per namespace. The rules a user has in a namespace (the
ClusterRoleBindings' plus that namespace's RoleBindings') are gathered once and cached under (name, groups,
namespace); any change to roles or bindings clears the cache, since such changes are rare and a stale grant
must not outlive them. A request is then a scan of the user's compiled rules: a few set lookups each.

A write of an RBAC object through this server is answered only once the index has seen it (``settle``), so a
client that creates a RoleBinding and then uses it is not refused in between.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from portside import api
from portside.apiserver.auth import User
from portside.apiserver.authz.attributes import Attributes
from portside.apiserver.authz.rules import Rule, compile_rules
from portside.apiserver.objects import key as store_key
from portside.store import Follower, Store

log = logging.getLogger("portside.apiserver.rbac")
PREFIX = "/registry/rbac.authorization.k8s.io/"
SA_PREFIX = "system:serviceaccount:"
SETTLE_TIMEOUT_S = 2.0
Subject = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Binding:
    kind: str  # RoleBinding or ClusterRoleBinding
    namespace: str
    name: str
    role_kind: str
    role_name: str
    subjects: tuple[tuple[Subject, str], ...]  # (index key, how the reason names it)

    def source(self, subject: str) -> str:
        where = f'"{self.name}"' if self.kind == "ClusterRoleBinding" else f'"{self.name}" of namespace "{self.namespace}"'
        return f'{self.kind} {where} of {self.role_kind} "{self.role_name}" to {subject}'


def _subjects(obj: dict, namespace: str) -> tuple[tuple[Subject, str], ...]:
    out = []
    for s in obj.get("subjects") or []:
        kind, name = s.get("kind"), s.get("name", "")
        if kind == "ServiceAccount":
            user = f"{SA_PREFIX}{s.get('namespace') or namespace}:{name}"
            out.append((("User", user), f'ServiceAccount "{name}/{s.get("namespace") or namespace}"'))
        elif kind in ("User", "Group"):
            out.append(((kind, name), f'{kind} "{name}"'))
    return tuple(out)


def subject_keys(user: User) -> list[Subject]:
    return [("User", user.name), *(("Group", g) for g in user.groups)]


MEMO_SIZE = 4096
CACHE_SIZE = 10_000


@dataclass
class RuleSet:
    """A user's rules in one namespace (or at the cluster scope), each with the binding that grants it.

    Answers are remembered per request shape, (verb, group, resource, subresource) and the name only when a rule
    names objects, so a client repeating one kind of request pays a dictionary lookup, not a scan of its rules."""

    rules: list[tuple[Rule, Binding]] = field(default_factory=list)
    _memo: dict = field(default_factory=dict)
    _names: bool | None = None

    def find(self, a: Attributes) -> Binding | None:
        if self._names is None:
            self._names = any(r.names for r, _ in self.rules)
        key = (a.verb, a.api_group, a.resource, a.subresource, a.name if self._names else "") if a.resource_request \
            else (a.verb, a.path)
        try:
            return self._memo[key]
        except KeyError:
            pass
        found = self._scan(a)
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = found
        return found

    def _scan(self, a: Attributes) -> Binding | None:
        if a.resource_request:
            for r, source in self.rules:
                if r.allows_resource(a.verb, a.api_group, a.resource, a.subresource, a.name):
                    return source
            return None
        for r, source in self.rules:
            if r.allows_path(a.verb, a.path):
                return source
        return None


class RBACAuthorizer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.roles: dict[tuple[str, str], tuple[Rule, ...]] = {}
        self.cluster_roles: dict[str, tuple[Rule, ...]] = {}
        self.bindings: dict[tuple[str, str], Binding] = {}  # RoleBindings by (namespace, name)
        self.cluster_bindings: dict[str, Binding] = {}
        self._by_subject: dict[str, dict[Subject, set[tuple[str, str]]]] = {}  # namespace ("" cluster) -> index
        self._cache: dict[tuple, RuleSet] = {}
        self._revisions: dict[str, int] = {}  # store key -> mod revision of what the index holds
        self._follower = Follower(store, PREFIX, reset=self._reset, apply=self.apply, name="rbac-index", log=log,
                                  what="rbac index")

    # -- decisions -----------------------------------------------------------------------------------------

    def rules(self, user: User, namespace: str) -> RuleSet:
        key = (user.name, user.groups, namespace)
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) >= CACHE_SIZE:  # many users or namespaces: start again rather than grow
                self._cache.clear()
            cached = self._cache[key] = self._gather(user, namespace)
        return cached

    def _gather(self, user: User, namespace: str) -> RuleSet:
        out = RuleSet()
        keys = subject_keys(user)
        for scope in ("", namespace) if namespace else ("",):
            index = self._by_subject.get(scope, {})
            seen: set[tuple[str, str]] = set()
            for key in keys:
                for ref in sorted(index.get(key, ())):
                    if ref in seen:
                        continue
                    seen.add(ref)
                    binding = self.cluster_bindings.get(ref[1]) if not scope else self.bindings.get(ref)
                    if binding is not None:
                        out.rules.extend((r, binding) for r in self._role_rules(binding))
        return out

    def _role_rules(self, b: Binding) -> tuple[Rule, ...]:
        if b.role_kind == "ClusterRole":
            return self.cluster_roles.get(b.role_name, ())
        return self.roles.get((b.namespace, b.role_name), ())

    def allows(self, a: Attributes) -> Binding | None:
        """The binding that allows the request, or None."""
        return self.rules(a.user, a.namespace if a.resource_request else "").find(a)

    @staticmethod
    def reason(a: Attributes, found: Binding) -> str:
        """Why it is allowed, as Kubernetes' RBAC says it (access reviews show it)."""
        keys = set(subject_keys(a.user))
        subject = next((text for key, text in found.subjects if key in keys), "")
        return f"RBAC: allowed by {found.source(subject)}"

    # -- the index -----------------------------------------------------------------------------------------

    def _index(self, binding: Binding, add: bool) -> None:
        scope = "" if binding.kind == "ClusterRoleBinding" else binding.namespace
        index = self._by_subject.setdefault(scope, {})
        ref = (binding.namespace, binding.name)
        for key, _ in binding.subjects:
            refs = index.setdefault(key, set())
            if add:
                refs.add(ref)
            else:
                refs.discard(ref)
                if not refs:
                    del index[key]

    def apply(self, key: str, value: bytes | None, revision: int = 0) -> None:
        """One stored object changed (``value``, written at ``revision``) or was deleted (None)."""
        if value is None:
            self._revisions.pop(key, None)
        else:
            self._revisions[key] = revision
        plural, _, rest = key.removeprefix(PREFIX).partition("/")
        namespace, _, name = rest.rpartition("/")
        obj = json.loads(value) if value is not None else None
        if plural == "clusterroles":
            self._put(self.cluster_roles, name, compile_rules(obj.get("rules") or []) if obj else None)
        elif plural == "roles":
            self._put(self.roles, (namespace, name), compile_rules(obj.get("rules") or []) if obj else None)
        elif plural in ("clusterrolebindings", "rolebindings"):
            table = self.cluster_bindings if plural == "clusterrolebindings" else self.bindings
            ref = name if plural == "clusterrolebindings" else (namespace, name)
            old = table.pop(ref, None)
            if old is not None:
                self._index(old, add=False)
            if obj is not None:
                kind = "ClusterRoleBinding" if plural == "clusterrolebindings" else "RoleBinding"
                role = obj.get("roleRef") or {}
                binding = Binding(kind, namespace, name, role.get("kind", ""), role.get("name", ""),
                                  _subjects(obj, namespace))
                table[ref] = binding
                self._index(binding, add=True)
        self._cache.clear()

    @staticmethod
    def _put(table: dict, ref, rules: tuple[Rule, ...] | None) -> None:
        if rules is None:
            table.pop(ref, None)
        else:
            table[ref] = rules

    def _reset(self) -> None:
        """Forget everything, before the store's prefix is read (again): at start, or after a compaction."""
        self.roles, self.cluster_roles, self.bindings, self.cluster_bindings = {}, {}, {}, {}
        self._by_subject, self._revisions = {}, {}
        self._cache.clear()

    # -- following the store -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._follower.start()

    async def stop(self) -> None:
        await self._follower.stop()

    async def settle(self, key: str, revision: int) -> None:
        """Return once the index holds ``key`` at ``revision`` or later (``revision`` 0: once it no longer holds
        it), or after a short timeout: the watch may be lagging, and the write is done either way."""
        def seen() -> bool:
            held = self._revisions.get(key)
            return held is None if revision == 0 else (held or 0) >= revision
        try:
            async with asyncio.timeout(SETTLE_TIMEOUT_S):
                await self._follower.wait_for(seen)
        except TimeoutError:
            log.warning("rbac index: %s at revision %d not seen within %.0f s", key, revision, SETTLE_TIMEOUT_S)


WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def settle_write(rbac: RBACAuthorizer, method: str, body: bytes) -> None:
    """After an RBAC object was written through this server, wait until the index reflects it (see ``settle``):
    ``body`` is the response, the object as written (or as it was, for a delete)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return
    info = api.by_kind("rbac.authorization.k8s.io", obj.get("kind", "")) if isinstance(obj, dict) else None
    if info is None:
        return
    m = obj.get("metadata") or {}
    gone = method == "DELETE" and not m.get("finalizers")
    revision = 0 if gone else int(m.get("resourceVersion") or 0)
    await rbac.settle(store_key(info, m.get("namespace", ""), m.get("name", "")), revision)
