"""ClusterRole aggregation, pure: the rules an aggregating ClusterRole gets from the ClusterRoles its
``aggregationRule`` selects. The aggregation controller keeps roles at this, and the API server's bootstrap fills
in the default aggregated roles (``admin``, ``edit``, ``view``) with it before anything else runs."""

from __future__ import annotations

from .models import ClusterRole, PolicyRule
from .selectors import SelectorError, selector_from_object

__all__ = ["aggregated_rules"]


def aggregated_rules(role: ClusterRole, roles: list[ClusterRole]) -> list[PolicyRule]:
    """The union of the rules of ``roles`` that ``role``'s selectors match (``role`` itself excluded), in the
    roles' name order, without duplicates; a selector that does not parse selects nothing."""
    selectors = []
    for s in (role.aggregation_rule.cluster_role_selectors if role.aggregation_rule else None) or []:
        try:
            selectors.append(selector_from_object(s))
        except SelectorError:
            continue
    out: list[PolicyRule] = []
    seen: list[dict] = []
    for source in sorted(roles, key=lambda r: r.metadata.name or ""):
        if source.metadata.name == role.metadata.name:
            continue
        if not any(s.matches(source.metadata.labels or {}) for s in selectors):
            continue
        for rule in source.rules or []:
            wire = rule.to_dict()
            if wire not in seen:
                seen.append(wire)
                out.append(rule)
    return out
