"""Deployment, ReplicaSet and Job rules, plus the ``portside.io/depends-on`` annotation between Jobs."""

from __future__ import annotations

import re
from typing import Any

from ..names import is_dns1123_subdomain
from ..selectors import SelectorError, selector_from_object
from .common import Errs, child, validate_label_selector, validate_meta
from .pod import RESTART_POLICIES, validate_pod_spec

__all__ = ["validate_deployment", "validate_replicaset", "validate_job", "validate_job_spec", "parse_depends_on",
           "DEPENDS_ON"]

DEPENDS_ON = "portside.io/depends-on"
_PERCENT = re.compile(r"[0-9]+%")


def _selector_and_template(spec: dict[str, Any], errs: Errs, kind: str) -> None:
    selector = spec.get("selector")
    if selector is None:
        errs.required("spec.selector")
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errs.invalid("spec.selector", selector, f"empty selector is invalid for {kind}")
    else:
        validate_label_selector(selector, "spec.selector", errs)
        _template_matches(selector, spec.get("template") or {}, errs)


def _template_matches(selector: dict[str, Any], template: dict[str, Any], errs: Errs) -> None:
    labels = (template.get("metadata") or {}).get("labels") or {}
    try:
        matches = selector_from_object(selector).matches(labels)
    except SelectorError:
        return  # already reported by validate_label_selector
    if not matches:
        errs.invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")


def _template(spec: dict[str, Any], errs: Errs, restart: list[str]) -> None:
    template = spec.get("template")
    if template is None:
        errs.required("spec.template")
        return
    pod_spec = template.get("spec") or {}
    validate_pod_spec(pod_spec, "spec.template.spec", errs)
    policy = pod_spec.get("restartPolicy")
    if policy in RESTART_POLICIES and policy not in restart:
        errs.unsupported("spec.template.spec.restartPolicy", policy, restart)


def _int_or_percent(value: Any, path: str, errs: Errs) -> int | None:
    """Return the percentage or count, or None after reporting a bad value."""
    if isinstance(value, int):
        errs.nonnegative(path, value)
        return value
    if not _PERCENT.fullmatch(value):
        errs.invalid(path, value, "a valid percent string must be a numeric string followed by an ending '%' "
                     "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")
        return None
    if int(value[:-1]) > 100:
        errs.invalid(path, value, "must not be greater than 100%")
    return int(value[:-1])


def _strategy(strategy: dict[str, Any], errs: Errs) -> None:
    kind = strategy.get("type")
    errs.enum("spec.strategy.type", kind, ["Recreate", "RollingUpdate"], required=True)
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate" and rolling is not None:
        errs.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
    if kind != "RollingUpdate" or rolling is None:
        return
    path = "spec.strategy.rollingUpdate"
    unavailable = _int_or_percent(rolling.get("maxUnavailable", 0), child(path, "maxUnavailable"), errs)
    surge = _int_or_percent(rolling.get("maxSurge", 0), child(path, "maxSurge"), errs)
    if unavailable == 0 and surge == 0:
        errs.invalid(child(path, "maxUnavailable"), rolling.get("maxUnavailable", 0), "may not be 0 when `maxSurge` is 0")


def validate_deployment(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    spec = obj.get("spec") or {}
    errs.nonnegative("spec.replicas", spec.get("replicas"))
    _selector_and_template(spec, errs, "deployment")
    _template(spec, errs, ["Always"])
    _strategy(spec.get("strategy") or {}, errs)
    for key in ("minReadySeconds", "revisionHistoryLimit"):
        errs.nonnegative(child("spec", key), spec.get(key))
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None and deadline <= spec.get("minReadySeconds", 0):
        errs.invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")


def validate_replicaset(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    spec = obj.get("spec") or {}
    errs.nonnegative("spec.replicas", spec.get("replicas"))
    errs.nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    _selector_and_template(spec, errs, "replicaset")
    _template(spec, errs, ["Always"])


def parse_depends_on(annotations: dict[str, str] | None) -> list[str]:
    """The Job names in ``portside.io/depends-on: a,b`` (whitespace around names ignored; [] when absent)."""
    raw = (annotations or {}).get(DEPENDS_ON)
    if raw is None:
        return []
    return [name.strip() for name in raw.split(",")]


def _depends_on(obj: dict[str, Any], errs: Errs) -> None:
    meta = obj.get("metadata") or {}
    path = f"metadata.annotations[{DEPENDS_ON}]"
    names = parse_depends_on(meta.get("annotations"))
    seen: set[str] = set()
    for name in names:
        if not name:
            errs.invalid(path, meta["annotations"][DEPENDS_ON], "must be a comma-separated list of Job names")
            return
        errs.each(path, name, is_dns1123_subdomain(name))
        if name in seen:
            errs.duplicate(path, name)
        if name == meta.get("name"):
            errs.invalid(path, name, "a Job may not depend on itself")
        seen.add(name)


def _job_name(name: str) -> list[str]:
    problems = is_dns1123_subdomain(name)
    return problems or (["must be no more than 63 characters"] if len(name) > 63 else [])


def validate_job(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, _job_name, errs)
    _depends_on(obj, errs)
    spec = obj.get("spec") or {}
    validate_job_spec(spec, errs)
    if spec.get("selector") is None:
        errs.required("spec.selector")
    else:
        validate_label_selector(spec["selector"], "spec.selector", errs)
        _template_matches(spec["selector"], spec.get("template") or {}, errs)


def validate_job_spec(spec: dict[str, Any], errs: Errs) -> None:
    """A Job's spec less its selector (a CronJob's job template has none yet); paths start at ``spec``."""
    for key in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
        errs.nonnegative(child("spec", key), spec.get(key))
    errs.positive("spec.activeDeadlineSeconds", spec.get("activeDeadlineSeconds"))
    mode = spec.get("completionMode")
    errs.enum("spec.completionMode", mode, ["NonIndexed", "Indexed"])
    if mode == "Indexed" and spec.get("completions") is None:
        errs.required("spec.completions", "when completion mode is Indexed")
    _template(spec, errs, ["OnFailure", "Never"])
