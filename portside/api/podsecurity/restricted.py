"""The Restricted standard's checks, on top of Baseline: current pod hardening practice.

From version 1.25 the Linux-only controls (privilege escalation, capabilities, seccomp) do not apply to a pod
that declares ``spec.os.name: windows``, as in Kubernetes.
"""

from __future__ import annotations

from typing import Any

from .baseline import Violation, containers, join_quote, plural, seccomp_setters

__all__ = ["allow_privilege_escalation", "capabilities_restricted", "restricted_volumes", "run_as_non_root",
           "run_as_user", "seccomp_restricted", "ALLOWED_VOLUMES", "RESTRICTED_VOLUMES"]

Obj = dict[str, Any]
ALLOWED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
                   "secret")
RESTRICTED_VOLUMES = (  # named in this order when a volume is refused
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd",
    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)


def _security(c: Obj) -> Obj:
    return c.get("securityContext") or {}


def _named(what: list[str]) -> str:
    return f'{plural("container", "containers", len(what))} {join_quote(what)}'


def _windows(spec: Obj, version: int) -> bool:
    return version >= 25 and (spec.get("os") or {}).get("name") == "windows"


def allow_privilege_escalation(meta: Obj, spec: Obj, version: int) -> Violation | None:
    if version < 8 or _windows(spec, version):
        return None
    bad = [c.get("name", "") for c in containers(spec) if _security(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return Violation("allowPrivilegeEscalation != false",
                     f"{_named(bad)} must set securityContext.allowPrivilegeEscalation=false")


def capabilities_restricted(meta: Obj, spec: Obj, version: int) -> Violation | None:
    if version < 22 or _windows(spec, version):
        return None
    no_drop, adding, added = [], [], set()
    for c in containers(spec):
        caps = _security(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            no_drop.append(c.get("name", ""))
        extra = [cap for cap in caps.get("add") or [] if cap != "NET_BIND_SERVICE"]
        if extra:
            adding.append(c.get("name", ""))
            added.update(extra)
    details = []
    if no_drop:
        details.append(f'{_named(no_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_named(adding)} must not include {join_quote(sorted(added))} in "
                       f"securityContext.capabilities.add")
    return Violation("unrestricted capabilities", "; ".join(details)) if details else None


def _volume_type(volume: Obj) -> str | None:
    """None for an allowed volume, else the restricted type it uses ("unknown" for one not listed)."""
    if any(volume.get(kind) is not None for kind in ALLOWED_VOLUMES):
        return None
    return next((kind for kind in RESTRICTED_VOLUMES if volume.get(kind) is not None), "unknown")


def restricted_volumes(meta: Obj, spec: Obj, version: int) -> Violation | None:
    bad, kinds = [], set()
    for volume in spec.get("volumes") or []:
        kind = _volume_type(volume)
        if kind is not None:
            bad.append(volume.get("name", ""))
            kinds.add(kind)
    if not bad:
        return None
    return Violation("restricted volume types",
                     f"{plural('volume', 'volumes', len(bad))} {join_quote(bad)} {plural('uses', 'use', len(bad))} "
                     f"{plural('restricted volume type', 'restricted volume types', len(kinds))} "
                     f"{join_quote(sorted(kinds))}")


def run_as_non_root(meta: Obj, spec: Obj, version: int) -> Violation | None:
    setters = []
    pod_value = (spec.get("securityContext") or {}).get("runAsNonRoot")
    if pod_value is False:
        setters.append("pod")
    explicit, implicit = [], []
    for c in containers(spec):
        value = _security(c).get("runAsNonRoot")
        if value is False:
            explicit.append(c.get("name", ""))
        elif value is None and pod_value is not True:
            implicit.append(c.get("name", ""))
    if explicit:
        setters.append(_named(explicit))
    if setters:
        return Violation("runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false")
    if implicit:
        return Violation("runAsNonRoot != true", f"pod or {_named(implicit)} must set securityContext.runAsNonRoot=true")
    return None


def run_as_user(meta: Obj, spec: Obj, version: int) -> Violation | None:
    if version < 23:
        return None
    setters = ["pod"] if (spec.get("securityContext") or {}).get("runAsUser") == 0 else []
    bad = [c.get("name", "") for c in containers(spec) if _security(c).get("runAsUser") == 0]
    if bad:
        setters.append(_named(bad))
    return Violation("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


def seccomp_restricted(meta: Obj, spec: Obj, version: int) -> Violation | None:
    if version < 19 or _windows(spec, version):
        return None
    setters, values, pod_valid = seccomp_setters(spec)
    if setters:
        return Violation("seccompProfile", f"{' and '.join(setters)} must not set securityContext.seccompProfile.type "
                                           f"to {join_quote(sorted(values))}")
    unset = [c.get("name", "") for c in containers(spec) if _security(c).get("seccompProfile") is None]
    if unset and not pod_valid:
        return Violation("seccompProfile", f'pod or {_named(unset)} must set securityContext.seccompProfile.type to '
                                           f'"RuntimeDefault" or "Localhost"')
    return None
