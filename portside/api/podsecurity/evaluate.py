"""Evaluating a pod (or a workload's pod template) against a level and version of the Pod Security Standards.

The checks run in Kubernetes' order (each level's checks by name), and a Restricted check replaces the Baseline
check it tightens (capabilities, hostPath volumes, seccomp) from the version it exists in, so a refusal lists the
same reasons in the same order as Kubernetes' ``violates PodSecurity "restricted:latest": ...``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import baseline as b
from . import restricted as r
from .baseline import Violation
from .policy import LevelVersion

__all__ = ["evaluate", "forbidden_detail", "forbidden_reason", "pod_template", "TEMPLATE_KINDS"]

Obj = dict[str, Any]
Check = Callable[[Obj, Obj, int], Violation | None]
BASELINE: tuple[Check, ...] = (b.app_armor, b.capabilities, b.host_namespaces, b.host_path_volumes, b.host_ports,
                               b.privileged, b.proc_mount, b.se_linux, b.seccomp, b.sysctls, b.windows_host_process)
RESTRICTED: tuple[Check, ...] = (r.allow_privilege_escalation, r.capabilities_restricted, r.restricted_volumes,
                                 r.run_as_non_root, r.run_as_user, r.seccomp_restricted)
# baseline check -> (the restricted check that replaces it, from this version on)
_REPLACED: dict[Check, int] = {b.capabilities: 22, b.host_path_volumes: 0, b.seccomp: 19}
TEMPLATE_KINDS = {  # kinds with a pod template, and the path to it
    ("", "PodTemplate"): ("template",), ("", "ReplicationController"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"), ("apps", "Deployment"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"), ("apps", "DaemonSet"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"), ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
}


def _checks(level: str, version: int) -> list[Check]:
    if level == "privileged":
        return []
    if level == "baseline":
        return list(BASELINE)
    kept = [c for c in BASELINE if version < _REPLACED.get(c, version + 1)]
    return kept + list(RESTRICTED)


def evaluate(lv: LevelVersion, meta: Obj | None, spec: Obj | None) -> list[Violation]:
    """Every control the pod breaks at ``lv``; empty when it is allowed."""
    version = lv.version.effective
    found = (check(meta or {}, spec or {}, version) for check in _checks(lv.level, version))
    return [v for v in found if v is not None]


def forbidden_detail(violations: list[Violation]) -> str:
    """``host namespaces (hostNetwork=true), privileged (container "c" must not set ...)``."""
    return ", ".join(f"{v.reason} ({v.detail})" if v.detail else v.reason for v in violations)


def forbidden_reason(violations: list[Violation]) -> str:
    """The reasons alone, as warnings about many pods list them."""
    return ", ".join(v.reason for v in violations)


def pod_template(group: str, kind: str, obj: Obj) -> tuple[Obj, Obj] | None:
    """(metadata, spec) of the pod template of a workload, or None for other kinds or without a template."""
    path = TEMPLATE_KINDS.get((group, kind))
    if path is None:
        return None
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    return node.get("metadata") or {}, node.get("spec") or {}
