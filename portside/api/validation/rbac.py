"""Rules for Role, ClusterRole, RoleBinding, ClusterRoleBinding (``pkg/apis/rbac/validation``) and ServiceAccount.

RBAC names only need to be usable in a URL path (``system:node:worker-1`` is a valid ClusterRole name). A rule
names verbs, and either resources of API groups or non-resource URLs, never both; a namespaced Role has no
non-resource URLs. A binding refers to its role by kind and name in ``rbac.authorization.k8s.io``, and that
reference cannot change: a different role is a different binding.
"""

from __future__ import annotations

from typing import Any

from ..names import is_dns1123_subdomain
from .common import Errs, child, index, path_segment_name, validate_label_selector, validate_meta

__all__ = ["validate_role", "validate_clusterrole", "validate_rolebinding", "validate_clusterrolebinding",
           "validate_serviceaccount", "validate_binding_update", "default_binding", "RBAC_GROUP"]

RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ["Group", "ServiceAccount", "User"]


def _rules(rules: list[dict[str, Any]], namespaced: bool, errs: Errs) -> None:
    for i, rule in enumerate(rules):
        here = index("rules", i)
        if not rule.get("verbs"):
            errs.required(child(here, "verbs"), "verbs must contain at least one value")
        urls = rule.get("nonResourceURLs") or []
        if urls:
            if namespaced:
                errs.invalid(child(here, "nonResourceURLs"), urls, "namespaced rules cannot apply to non-resource "
                                                                   "URLs")
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                errs.invalid(child(here, "nonResourceURLs"), urls, "rules cannot apply to both regular resources "
                                                                   "and non-resource URLs")
            continue
        if not rule.get("apiGroups"):
            errs.required(child(here, "apiGroups"), "resource rules must supply at least one api group")
        if not rule.get("resources"):
            errs.required(child(here, "resources"), "resource rules must supply at least one resource")


def validate_role(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, path_segment_name, errs)
    _rules(obj.get("rules") or [], True, errs)


def validate_clusterrole(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, False, path_segment_name, errs)
    _rules(obj.get("rules") or [], False, errs)
    aggregation = obj.get("aggregationRule")
    if aggregation is not None:
        selectors = aggregation.get("clusterRoleSelectors") or []
        if not selectors:
            errs.required("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if "
                                                                  "aggregationRule is non-nil")
        for i, selector in enumerate(selectors):
            validate_label_selector(selector, index("aggregationRule.clusterRoleSelectors", i), errs)


def _subjects(subjects: list[dict[str, Any]], namespaced: bool, errs: Errs) -> None:
    for i, subject in enumerate(subjects):
        here, kind, name = index("subjects", i), subject.get("kind"), subject.get("name", "")
        if not name:
            errs.required(child(here, "name"))
        if kind == "ServiceAccount":
            if name:
                errs.each(child(here, "name"), name, is_dns1123_subdomain(name))
            if subject.get("apiGroup"):
                errs.unsupported(child(here, "apiGroup"), subject["apiGroup"], [""])
            if not namespaced and not subject.get("namespace"):
                errs.required(child(here, "namespace"))
        elif kind in ("User", "Group"):
            if subject.get("apiGroup") != RBAC_GROUP:
                errs.unsupported(child(here, "apiGroup"), subject.get("apiGroup", ""), [RBAC_GROUP])
        else:
            errs.unsupported(child(here, "kind"), kind or "", SUBJECT_KINDS)


def _role_ref(ref: dict[str, Any] | None, kinds: list[str], errs: Errs) -> None:
    ref = ref or {}
    if ref.get("apiGroup") != RBAC_GROUP:
        errs.unsupported("roleRef.apiGroup", ref.get("apiGroup", ""), [RBAC_GROUP])
    errs.enum("roleRef.kind", ref.get("kind"), kinds, required=True)
    if not ref.get("name"):
        errs.required("roleRef.name")
    else:
        errs.each("roleRef.name", ref["name"], path_segment_name(ref["name"]))


def validate_rolebinding(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, path_segment_name, errs)
    _role_ref(obj.get("roleRef"), ["ClusterRole", "Role"], errs)
    _subjects(obj.get("subjects") or [], True, errs)


def validate_clusterrolebinding(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, False, path_segment_name, errs)
    _role_ref(obj.get("roleRef"), ["ClusterRole"], errs)
    _subjects(obj.get("subjects") or [], False, errs)


def validate_binding_update(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    if new.get("roleRef") != old.get("roleRef"):
        errs.invalid("roleRef", new.get("roleRef"), "cannot change roleRef")


def validate_serviceaccount(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    for i, ref in enumerate(obj.get("imagePullSecrets") or []):
        if not ref.get("name"):
            errs.required(child(index("imagePullSecrets", i), "name"))


def default_binding(obj: dict[str, Any]) -> None:
    """The API group a subject or role reference leaves out, as Kubernetes' rbac/v1 defaults fill it in."""
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    for subject in obj.get("subjects") or []:
        if not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = RBAC_GROUP
