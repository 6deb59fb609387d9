"""StatefulSet rules, worded as Kubernetes words them (``ValidateStatefulSetSpec``), with two checks it leaves to
pod creation made here at once: the claim templates are checked as claims, and ``serviceName`` as the DNS label it
becomes in each pod's ``subdomain``."""

from __future__ import annotations

import copy
from typing import Any

from ..names import is_dns1123_label
from .common import Errs, child, index, validate_annotations, validate_labels, validate_meta
from .storage import validate_pvc_spec
from .workloads import _int_or_percent, _selector_and_template, _template

__all__ = ["validate_statefulset", "update_statefulset", "POLICIES", "STRATEGIES", "RETENTION"]

POLICIES = ["OrderedReady", "Parallel"]
STRATEGIES = ["RollingUpdate", "OnDelete"]
RETENTION = ["Retain", "Delete"]
_UPDATABLE = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
              "minReadySeconds")


def _pod_management(spec: dict[str, Any], errs: Errs) -> None:
    policy = spec.get("podManagementPolicy")
    if not policy:
        errs.required("spec.podManagementPolicy")
    elif policy not in POLICIES:
        errs.invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")


def _max_unavailable(value: Any, errs: Errs) -> None:
    path = "spec.updateStrategy.rollingUpdate.maxUnavailable"
    if _int_or_percent(value, path, errs) == 0:
        errs.invalid(path, value, "cannot be 0")


def _update_strategy(strategy: dict[str, Any], errs: Errs) -> None:
    kind, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    errs.enum("spec.updateStrategy.type", kind, STRATEGIES, required=True)
    if kind == "OnDelete" and rolling is not None:
        errs.invalid("spec.updateStrategy.rollingUpdate", rolling, "only allowed for updateStrategy 'RollingUpdate'")
    elif kind == "RollingUpdate" and rolling is not None:
        errs.nonnegative("spec.updateStrategy.rollingUpdate.partition", rolling.get("partition"))
        if rolling.get("maxUnavailable") is not None:
            _max_unavailable(rolling["maxUnavailable"], errs)


def _retention(policy: dict[str, Any] | None, errs: Errs) -> None:
    for key in ("whenDeleted", "whenScaled"):
        value = (policy or {}).get(key)
        if value is not None and value not in RETENTION:
            errs.unsupported(child("spec.persistentVolumeClaimRetentionPolicy", key), value, RETENTION)


def _claim_templates(templates: list[dict[str, Any]], errs: Errs) -> set[str]:
    """Each template is a claim whose name is also the pods' volume name (so a DNS label), named once."""
    names: set[str] = set()
    for i, claim in enumerate(templates):
        here = index("spec.volumeClaimTemplates", i)
        meta = claim.get("metadata") or {}
        name = meta.get("name") or ""
        if not name:
            errs.required(child(here, "metadata.name"), "the name of the pods' volume and the first part of each "
                                                        "claim's name (NAME-SET-ORDINAL)")
        else:
            errs.each(child(here, "metadata.name"), name, is_dns1123_label(name))
            if name in names:
                errs.duplicate(child(here, "metadata.name"), name)
        names.add(name)
        validate_labels(meta.get("labels"), child(here, "metadata.labels"), errs)
        validate_annotations(meta.get("annotations"), child(here, "metadata.annotations"), errs)
        validate_pvc_spec(claim.get("spec") or {}, child(here, "spec"), errs)
    return names


def _with_claim_volumes(spec: dict[str, Any], claims: set[str]) -> dict[str, Any]:
    """The spec as its pods get it: a volume per claim template (the template's own come first, so its paths keep
    their indices), so a container may mount a claim template by name."""
    template = copy.deepcopy(spec.get("template") or {})
    pod = template.setdefault("spec", {})
    own = {v.get("name") for v in pod.get("volumes") or []}
    extra = [{"name": n, "persistentVolumeClaim": {"claimName": n}} for n in sorted(claims) if n and n not in own]
    if extra:
        pod["volumes"] = (pod.get("volumes") or []) + extra
    return {**spec, "template": template}


def validate_statefulset(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_label, errs)
    spec = obj.get("spec") or {}
    _pod_management(spec, errs)
    _update_strategy(spec.get("updateStrategy") or {}, errs)
    _retention(spec.get("persistentVolumeClaimRetentionPolicy"), errs)
    for key in ("replicas", "minReadySeconds", "revisionHistoryLimit"):
        errs.nonnegative(child("spec", key), spec.get(key))
    errs.nonnegative("spec.ordinals.start", (spec.get("ordinals") or {}).get("start"))
    if spec.get("serviceName"):
        errs.each("spec.serviceName", spec["serviceName"], is_dns1123_label(spec["serviceName"]))
    claims = _claim_templates(spec.get("volumeClaimTemplates") or [], errs)
    _selector_and_template(spec, errs, "statefulset")
    _template(_with_claim_volumes(spec, claims), errs, ["Always"])
    if ((spec.get("template") or {}).get("spec") or {}).get("activeDeadlineSeconds") is not None:
        errs.forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not "
                                                                  "Supported")


def update_statefulset(new: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    """Only the fields Kubernetes lets change; the selector, serviceName, claim templates and pod management
    policy are fixed for the set's life (its pods and claims were made from them)."""
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    fixed = {k: v for k, v in new_spec.items() if k not in _UPDATABLE}
    if fixed != {k: v for k, v in old_spec.items() if k not in _UPDATABLE}:
        errs.forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                               "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                               "'minReadySeconds' are forbidden")
