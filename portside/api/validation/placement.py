"""Placement rules: node selector, node and pod (anti)affinity, tolerations, topology spread, scheduling gates."""

from __future__ import annotations

import re
from typing import Any

from ..names import is_qualified_name
from .common import Errs, child, index, validate_label_selector, validate_labels

__all__ = ["validate_placement", "validate_node_selector"]

_NODE_OPS = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"]
_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"]
_REQ = "requiredDuringSchedulingIgnoredDuringExecution"
_PREF = "preferredDuringSchedulingIgnoredDuringExecution"


def _node_requirement(req: dict[str, Any], path: str, errs: Errs) -> None:
    op, values = req.get("operator"), req.get("values") or []
    errs.enum(child(path, "operator"), op, _NODE_OPS, required=True)
    if op in ("In", "NotIn") and not values:
        errs.required(child(path, "values"), "must be specified when `operator` is 'In' or 'NotIn'")
    if op in ("Exists", "DoesNotExist") and values:
        errs.forbidden(child(path, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
    if op in ("Gt", "Lt") and (len(values) != 1 or not re.fullmatch(r"-?\d+", values[0])):
        errs.required(child(path, "values"), "must be specified single value when `operator` is 'Lt' or 'Gt'")
    errs.each(child(path, "key"), req.get("key", ""), is_qualified_name(req.get("key", "")))


def _node_term(term: dict[str, Any], path: str, errs: Errs) -> None:
    for key in ("matchExpressions", "matchFields"):
        for i, req in enumerate(term.get(key) or []):
            _node_requirement(req, index(child(path, key), i), errs)


def _weight(value: int | None, path: str, errs: Errs) -> None:
    if value is None or not 1 <= value <= 100:
        errs.invalid(path, value, "must be in the range 1-100")


def validate_node_selector(selector: dict[str, Any], path: str, errs: Errs) -> None:
    """A required NodeSelector (a pod's node affinity, a volume's): at least one term, each well formed."""
    terms = selector.get("nodeSelectorTerms") or []
    if not terms:
        errs.required(child(path, "nodeSelectorTerms"), "must have at least one node selector term")
    for i, term in enumerate(terms):
        _node_term(term, index(child(path, "nodeSelectorTerms"), i), errs)


def _node_affinity(aff: dict[str, Any], path: str, errs: Errs) -> None:
    required = aff.get(_REQ)
    if required is not None:
        validate_node_selector(required, child(path, _REQ), errs)
    for i, pref in enumerate(aff.get(_PREF) or []):
        here = index(child(path, _PREF), i)
        _weight(pref.get("weight"), child(here, "weight"), errs)
        _node_term(pref.get("preference") or {}, child(here, "preference"), errs)


def _pod_term(term: dict[str, Any], path: str, errs: Errs) -> None:
    if not term.get("topologyKey"):
        errs.required(child(path, "topologyKey"), "can not be empty")
    else:
        errs.each(child(path, "topologyKey"), term["topologyKey"], is_qualified_name(term["topologyKey"]))
    validate_label_selector(term.get("labelSelector"), child(path, "labelSelector"), errs)
    validate_label_selector(term.get("namespaceSelector"), child(path, "namespaceSelector"), errs)


def _pod_affinity(aff: dict[str, Any], path: str, errs: Errs) -> None:
    for i, term in enumerate(aff.get(_REQ) or []):
        _pod_term(term, index(child(path, _REQ), i), errs)
    for i, weighted in enumerate(aff.get(_PREF) or []):
        here = index(child(path, _PREF), i)
        _weight(weighted.get("weight"), child(here, "weight"), errs)
        _pod_term(weighted.get("podAffinityTerm") or {}, child(here, "podAffinityTerm"), errs)


def _tolerations(tolerations: list[dict[str, Any]], path: str, errs: Errs) -> None:
    for i, tol in enumerate(tolerations):
        here = index(path, i)
        key, op = tol.get("key", ""), tol.get("operator", "Equal")
        if key:
            errs.each(child(here, "key"), key, is_qualified_name(key))
        elif op != "Exists":
            errs.invalid(child(here, "operator"), op,
                         'operator must be Exists when `key` is empty, which means "match all values and all keys"')
        errs.enum(child(here, "operator"), op, ["Equal", "Exists"])
        if op == "Exists" and tol.get("value"):
            errs.invalid(child(here, "operator"), tol["value"], "value must be empty when `operator` is 'Exists'")
        if tol.get("effect"):
            errs.enum(child(here, "effect"), tol["effect"], _EFFECTS)
        if tol.get("tolerationSeconds") is not None and tol.get("effect") != "NoExecute":
            errs.invalid(child(here, "effect"), tol.get("effect", ""),
                         "effect must be 'NoExecute' when `tolerationSeconds` is set")


def _spread(constraints: list[dict[str, Any]], path: str, errs: Errs) -> None:
    seen: set[tuple[str, str]] = set()
    for i, c in enumerate(constraints):
        here = index(path, i)
        if (c.get("maxSkew") or 0) <= 0:
            errs.invalid(child(here, "maxSkew"), c.get("maxSkew", 0), "must be greater than zero")
        if not c.get("topologyKey"):
            errs.required(child(here, "topologyKey"), "can not be empty")
        when = c.get("whenUnsatisfiable")
        errs.enum(child(here, "whenUnsatisfiable"), when, ["DoNotSchedule", "ScheduleAnyway"], required=True)
        if c.get("minDomains") is not None:
            if c["minDomains"] <= 0:
                errs.invalid(child(here, "minDomains"), c["minDomains"], "must be greater than zero")
            elif when != "DoNotSchedule":
                errs.invalid(child(here, "minDomains"), c["minDomains"],
                             "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway")
        for policy in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            errs.enum(child(here, policy), c.get(policy), ["Honor", "Ignore"])
        validate_label_selector(c.get("labelSelector"), child(here, "labelSelector"), errs)
        pair = (c.get("topologyKey", ""), when or "")
        if pair in seen:
            errs.duplicate(here, f"{{{pair[0]}, {pair[1]}}}")
        seen.add(pair)


def _gates(gates: list[dict[str, Any]], path: str, errs: Errs) -> None:
    seen: set[str] = set()
    for i, gate in enumerate(gates):
        name = gate.get("name", "")
        errs.each(index(path, i), name, is_qualified_name(name))
        if name in seen:
            errs.duplicate(index(path, i), name)
        seen.add(name)


def validate_placement(spec: dict[str, Any], path: str, errs: Errs) -> None:
    validate_labels(spec.get("nodeSelector"), child(path, "nodeSelector"), errs)
    affinity = spec.get("affinity") or {}
    if "nodeAffinity" in affinity:
        _node_affinity(affinity["nodeAffinity"], child(child(path, "affinity"), "nodeAffinity"), errs)
    for kind in ("podAffinity", "podAntiAffinity"):
        if kind in affinity:
            _pod_affinity(affinity[kind], child(child(path, "affinity"), kind), errs)
    _tolerations(spec.get("tolerations") or [], child(path, "tolerations"), errs)
    _spread(spec.get("topologySpreadConstraints") or [], child(path, "topologySpreadConstraints"), errs)
    _gates(spec.get("schedulingGates") or [], child(path, "schedulingGates"), errs)
    errs.enum(child(path, "preemptionPolicy"), spec.get("preemptionPolicy"), ["Never", "PreemptLowerPriority"])
