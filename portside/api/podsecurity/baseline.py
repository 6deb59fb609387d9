"""The Baseline standard's checks: no known privilege escalation, any default pod passes.

Each check reads a pod's metadata and spec (wire dicts, as in a pod or a workload's template) and the standards
version (a minor number), and returns None or a ``Violation`` whose reason and detail are Kubernetes' words
(``host namespaces`` / ``hostNetwork=true``), so a refusal reads as Kubernetes' does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Violation", "containers", "join_quote", "plural", "app_armor", "capabilities", "host_namespaces",
    "host_path_volumes", "host_ports", "privileged", "proc_mount", "se_linux", "seccomp", "sysctls",
    "windows_host_process", "BASELINE_CAPABILITIES",
]

Obj = dict[str, Any]
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
_SYSCTLS = {  # the "safe" sysctls, by the version that allowed them
    0: {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"},
    27: {"net.ipv4.ip_local_reserved_ports"},
    29: {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
         "net.ipv4.tcp_keepalive_probes"},
    32: {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"},
}
_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
_PROFILE_TYPES = frozenset({"RuntimeDefault", "Localhost"})
_APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_SECCOMP_POD = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CONTAINER = "container.seccomp.security.alpha.kubernetes.io/"


@dataclass(frozen=True)
class Violation:
    reason: str
    detail: str = ""


def containers(spec: Obj) -> Iterator[Obj]:
    """Init containers, containers, then ephemeral containers: the order Kubernetes names them in."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def join_quote(items: list[str]) -> str:
    return ", ".join(f'"{i}"' for i in items)


def plural(singular: str, many: str, count: int) -> str:
    return singular if count == 1 else many


def _security(c: Obj) -> Obj:
    return c.get("securityContext") or {}


def _named(what: list[str]) -> str:
    return f'{plural("container", "containers", len(what))} {join_quote(what)}'


def app_armor(meta: Obj, spec: Obj, version: int) -> Violation | None:
    setters, values = [], set()
    pod_type = ((spec.get("securityContext") or {}).get("appArmorProfile") or {}).get("type")
    if pod_type is not None and pod_type not in _PROFILE_TYPES:
        setters.append("pod")
        values.add(pod_type)
    bad = []
    for c in containers(spec):
        kind = (_security(c).get("appArmorProfile") or {}).get("type")
        if kind is not None and kind not in _PROFILE_TYPES:
            bad.append(c.get("name", ""))
            values.add(kind)
    if bad:
        setters.append(_named(bad))
    shown = sorted(values)
    annotations = sorted(f'{k}="{v}"' for k, v in (meta.get("annotations") or {}).items()
                         if k.startswith(_APPARMOR_PREFIX) and v and v != "runtime/default"
                         and not v.startswith("localhost/"))
    if annotations:
        setters.append(plural("annotation", "annotations", len(annotations)))
        shown += annotations
    if not setters:
        return None
    return Violation(plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(shown)),
                     f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(shown)}")


def capabilities(meta: Obj, spec: Obj, version: int) -> Violation | None:
    bad, added = [], set()
    for c in containers(spec):
        extra = [cap for cap in (_security(c).get("capabilities") or {}).get("add") or []
                 if cap not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(c.get("name", ""))
            added.update(extra)
    if not bad:
        return None
    return Violation("non-default capabilities",
                     f"{_named(bad)} must not include {join_quote(sorted(added))} in securityContext.capabilities.add")


def host_namespaces(meta: Obj, spec: Obj, version: int) -> Violation | None:
    shared = [f"{key}=true" for key in ("hostIPC", "hostNetwork", "hostPID") if spec.get(key)]
    return Violation("host namespaces", ", ".join(shared)) if shared else None


def host_path_volumes(meta: Obj, spec: Obj, version: int) -> Violation | None:
    names = [v.get("name", "") for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    if not names:
        return None
    return Violation("hostPath volumes", f"{plural('volume', 'volumes', len(names))} {join_quote(names)}")


def host_ports(meta: Obj, spec: Obj, version: int) -> Violation | None:
    bad, ports = [], set()
    for c in containers(spec):
        used = [str(p["hostPort"]) for p in c.get("ports") or [] if p.get("hostPort")]
        if used:
            bad.append(c.get("name", ""))
            ports.update(used)
    if not bad:
        return None
    return Violation("hostPort", f"{_named(bad)} {plural('uses', 'use', len(bad))} "
                                 f"{plural('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}")


def privileged(meta: Obj, spec: Obj, version: int) -> Violation | None:
    bad = [c.get("name", "") for c in containers(spec) if _security(c).get("privileged")]
    return Violation("privileged", f"{_named(bad)} must not set securityContext.privileged=true") if bad else None


def proc_mount(meta: Obj, spec: Obj, version: int) -> Violation | None:
    bad, kinds = [], set()
    for c in containers(spec):
        mount = _security(c).get("procMount")
        if mount is not None and mount != "Default":
            bad.append(c.get("name", ""))
            kinds.add(mount)
    if not bad:
        return None
    return Violation("procMount", f"{_named(bad)} must not set securityContext.procMount to {join_quote(sorted(kinds))}")


def se_linux(meta: Obj, spec: Obj, version: int) -> Violation | None:
    bad_types: set[str] = set()
    found = {"user": False, "role": False}

    def fine(options: Obj) -> bool:
        ok = options.get("type", "") in _SELINUX_TYPES
        if not ok:
            bad_types.add(options.get("type", ""))
        for key in found:
            if options.get(key):
                found[key], ok = True, False
        return ok

    setters = []
    pod_options = (spec.get("securityContext") or {}).get("seLinuxOptions")
    if pod_options is not None and not fine(pod_options):
        setters.append("pod")
    bad = [c.get("name", "") for c in containers(spec)
           if _security(c).get("seLinuxOptions") is not None and not fine(_security(c)["seLinuxOptions"])]
    if bad:
        setters.append(_named(bad))
    if not setters:
        return None
    data = []
    if bad_types:
        data.append(f"{plural('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}")
        data += [f"{key} may not be set" for key in ("user", "role") if found[key]]
    return Violation("seLinuxOptions",
                     f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}")


def _seccomp_annotations(meta: Obj, spec: Obj) -> Violation | None:
    """Before 1.19 the profile was an annotation: runtime/default, docker/default and localhost/* are allowed."""
    annotations = meta.get("annotations") or {}
    keys = [_SECCOMP_POD] + [_SECCOMP_CONTAINER + c.get("name", "") for c in containers(spec)]
    bad = sorted({f'{k}="{annotations[k]}"' for k in keys if k in annotations and annotations[k] not in
                  ("runtime/default", "docker/default") and not annotations[k].startswith("localhost/")})
    if not bad:
        return None
    return Violation("seccompProfile", f"forbidden {plural('annotation', 'annotations', len(bad))} {', '.join(bad)}")


def seccomp_setters(spec: Obj) -> tuple[list[str], set[str], bool]:
    """Who sets a profile type other than RuntimeDefault or Localhost, those types, and whether the pod sets a
    valid one (which then covers containers that set none)."""
    setters, values = [], set()
    pod_type = ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    if pod_type is not None and pod_type not in _PROFILE_TYPES:
        setters.append("pod")
        values.add(pod_type)
    bad = []
    for c in containers(spec):
        kind = (_security(c).get("seccompProfile") or {}).get("type")
        if kind is not None and kind not in _PROFILE_TYPES:
            bad.append(c.get("name", ""))
            values.add(kind)
    if bad:
        setters.append(_named(bad))
    return setters, values, pod_type in _PROFILE_TYPES


def seccomp(meta: Obj, spec: Obj, version: int) -> Violation | None:
    if version < 19:
        return _seccomp_annotations(meta, spec)
    setters, values, _ = seccomp_setters(spec)
    if not setters:
        return None
    return Violation("seccompProfile", f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
                                       f"{join_quote(sorted(values))}")


def sysctls(meta: Obj, spec: Obj, version: int) -> Violation | None:
    safe = set().union(*(names for since, names in _SYSCTLS.items() if since <= version))
    bad = [s.get("name", "") for s in (spec.get("securityContext") or {}).get("sysctls") or []
           if s.get("name") not in safe]
    return Violation("forbidden sysctls", ", ".join(bad)) if bad else None


def windows_host_process(meta: Obj, spec: Obj, version: int) -> Violation | None:
    setters = []
    if ((spec.get("securityContext") or {}).get("windowsOptions") or {}).get("hostProcess"):
        setters.append("pod")
    bad = [c.get("name", "") for c in containers(spec) if (_security(c).get("windowsOptions") or {}).get("hostProcess")]
    if bad:
        setters.append(_named(bad))
    if not setters:
        return None
    return Violation("hostProcess",
                     f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true")
