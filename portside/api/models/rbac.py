"""rbac.authorization.k8s.io/v1: who may do what. Roles (namespaced) and ClusterRoles hold rules; RoleBindings and
ClusterRoleBindings grant a role's rules to subjects (users, groups, ServiceAccounts). A ClusterRole with an
``aggregationRule`` has its rules filled in by a controller from the ClusterRoles its selectors match."""

from __future__ import annotations

from ..schema import model, prop
from ..typed import Model
from .meta import LabelSelector, ObjectMeta

__all__ = ["PolicyRule", "AggregationRule", "Role", "ClusterRole", "Subject", "RoleRef", "RoleBinding",
           "ClusterRoleBinding"]

rbac = model("io.k8s.api.rbac.v1")


@rbac
class PolicyRule(Model):
    """Verbs on resources of API groups (optionally only the named objects), or on non-resource URLs."""

    verbs: list[str] | None = prop(required=True, list_type="atomic")
    api_groups: list[str] | None = prop(list_type="atomic")
    resources: list[str] | None = prop(list_type="atomic")
    resource_names: list[str] | None = prop(list_type="atomic")
    non_resource_urls: list[str] | None = prop(json="nonResourceURLs", list_type="atomic")


@rbac
class AggregationRule(Model):
    """The ClusterRoles whose rules a ClusterRole takes (any selector matching is enough)."""

    cluster_role_selectors: list[LabelSelector] | None = prop(list_type="atomic")


@rbac
class Role(Model):
    """Rules within one namespace."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    rules: list[PolicyRule] | None = prop(list_type="atomic")


@rbac
class ClusterRole(Model):
    """Rules on cluster-scoped resources, non-resource URLs, or namespaced resources in every namespace."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    rules: list[PolicyRule] | None = prop(list_type="atomic")
    aggregation_rule: AggregationRule | None = prop()


@rbac
class Subject(Model):
    """A user, a group, or a ServiceAccount (namespace and name)."""

    kind: str | None = prop(required=True)
    api_group: str | None = prop()
    name: str | None = prop(required=True)
    namespace: str | None = prop()


@rbac
class RoleRef(Model):
    """The Role or ClusterRole a binding grants; it cannot be changed once the binding exists."""

    api_group: str | None = prop(required=True)
    kind: str | None = prop(required=True)
    name: str | None = prop(required=True)


@rbac
class RoleBinding(Model):
    """Grants a Role (of its namespace) or a ClusterRole's rules within its namespace."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    subjects: list[Subject] | None = prop(list_type="atomic")
    role_ref: RoleRef | None = prop(required=True)


@rbac
class ClusterRoleBinding(Model):
    """Grants a ClusterRole's rules in every namespace and at the cluster scope."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    subjects: list[Subject] | None = prop(list_type="atomic")
    role_ref: RoleRef | None = prop(required=True)
