"""Seccomp profiles: docker's format in, the OCI ``linux.seccomp`` object that runc takes out.

Docker profiles carry conditions (``includes``/``excludes`` on capabilities, architectures and kernel versions)
that the OCI format has no words for, so they are resolved here, once, against the container's effective
capabilities and this machine: ``--cap-add SYS_ADMIN`` then re-opens mount and unshare exactly as with docker.
The default profile is itself written in docker's format (``seccomp_table.py``) and goes through the same path
as a user's file, so both are validated and resolved by one piece of code.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Iterable
from pathlib import Path

from portside.runtime.errors import InvalidArgument

ACTIONS = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
           "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"}
OPERATORS = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
             "SCMP_CMP_MASKED_EQ"}
# uname -m -> docker's (Go's) architecture name, used by includes/excludes "arches"
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm", "ppc64le": "ppc64le",
           "s390x": "s390x", "riscv64": "riscv64"}
# docker's 14 default capabilities: the set a container has when the caller names none
DOCKER_DEFAULT_CAPS = frozenset({
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE"})


class ProfileError(InvalidArgument):
    """A seccomp profile that cannot be used; the message names the file and the offending field."""


def default_profile(capabilities: Iterable[str] | None = None) -> dict:
    """Docker's default policy for a container with these effective capabilities (docker's 14 if None)."""
    from portside.runtime.seccomp_table import docker_format

    return to_oci(docker_format(), capabilities, "the default seccomp profile")


def load_profile(path: Path, capabilities: Iterable[str] | None = None) -> dict:
    """Read a docker-format profile (``--security-opt seccomp=FILE``) and resolve it for ``capabilities``."""
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise ProfileError(f"seccomp profile {path}: cannot read: {err.strerror}") from None
    try:
        profile = json.loads(text)
    except ValueError as err:
        raise ProfileError(f"seccomp profile {path}: not valid JSON: {err}") from None
    return to_oci(profile, capabilities, f"seccomp profile {path}")


def to_oci(profile: object, capabilities: Iterable[str] | None, source: str) -> dict:
    """Validate a docker-format profile and resolve its conditions; errors say ``source: field: problem``."""
    if not isinstance(profile, dict):
        raise ProfileError(f"{source}: expected a JSON object at the top level")
    caps = DOCKER_DEFAULT_CAPS if capabilities is None else frozenset(_cap_name(c) for c in capabilities)
    oci = {"defaultAction": _action(profile.get("defaultAction"), source, "defaultAction"),
           "architectures": _architectures(profile, source)}
    if "defaultErrnoRet" in profile:
        oci["defaultErrnoRet"] = _uint(profile["defaultErrnoRet"], source, "defaultErrnoRet")
    if profile.get("flags"):
        oci["flags"] = _strings(profile["flags"], source, "flags")
    rules = profile.get("syscalls") or []
    if not isinstance(rules, list):
        raise ProfileError(f"{source}: syscalls: expected a list")
    oci["syscalls"] = [r for i, rule in enumerate(rules) if (r := _rule(rule, caps, source, f"syscalls[{i}]"))]
    return oci


def _cap_name(cap: str) -> str:
    cap = cap.upper()
    return cap if cap.startswith("CAP_") else "CAP_" + cap


def _architectures(profile: dict, source: str) -> list[str]:
    """Docker's ``archMap`` lists every architecture; runc wants only the native one and its sub-architectures."""
    if "archMap" not in profile:
        return _strings(profile.get("architectures") or [], source, "architectures")
    native = "SCMP_ARCH_" + {"x86_64": "X86_64", "aarch64": "AARCH64"}.get(platform.machine(), "NATIVE")
    arches: list[str] = []
    for i, entry in enumerate(profile["archMap"] or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("architecture"), str):
            raise ProfileError(f"{source}: archMap[{i}]: expected an object with an \"architecture\" string")
        if entry["architecture"] == native:
            arches = [native] + _strings(entry.get("subArchitectures") or [], source, f"archMap[{i}]")
    return arches


def _rule(rule: object, caps: frozenset[str], source: str, where: str) -> dict | None:
    """One syscalls entry as OCI, or None when its conditions exclude it here."""
    if not isinstance(rule, dict):
        raise ProfileError(f"{source}: {where}: expected an object")
    names = rule.get("names") or ([rule["name"]] if rule.get("name") else None)
    if not names:
        raise ProfileError(f"{source}: {where}: needs \"names\" (a list of system call names)")
    out = {"names": _strings(names, source, f"{where}.names"),
           "action": _action(rule.get("action"), source, f"{where}.action")}
    if "errnoRet" in rule:
        out["errnoRet"] = _uint(rule["errnoRet"], source, f"{where}.errnoRet")
    args = rule.get("args") or []
    if not isinstance(args, list):
        raise ProfileError(f"{source}: {where}.args: expected a list")
    if args:
        out["args"] = [_arg(a, source, f"{where}.args[{j}]") for j, a in enumerate(args)]
    if not _applies(rule.get("includes") or {}, caps) or _excluded(rule.get("excludes") or {}, caps):
        return None
    return out


def _applies(cond: dict, caps: frozenset[str]) -> bool:
    """Docker's ``includes``: every listed kind must match (a cap held, this arch, a new enough kernel)."""
    if cond.get("caps") and not all(_cap_name(c) in caps for c in cond["caps"]):
        return False
    if cond.get("arches") and _go_arch() not in cond["arches"]:
        return False
    if cond.get("minKernel") and _kernel() < _version(cond["minKernel"]):
        return False
    return True


def _excluded(cond: dict, caps: frozenset[str]) -> bool:
    """Docker's ``excludes``: any listed cap held or arch matching drops the rule."""
    if any(_cap_name(c) in caps for c in cond.get("caps") or []):
        return True
    return _go_arch() in (cond.get("arches") or [])


def _arg(arg: object, source: str, where: str) -> dict:
    if not isinstance(arg, dict):
        raise ProfileError(f"{source}: {where}: expected an object with index, value, op")
    index = _uint(arg.get("index"), source, f"{where}.index")
    if index > 5:
        raise ProfileError(f"{source}: {where}.index: {index} is not an argument position 0-5")
    op = arg.get("op")
    if op not in OPERATORS:
        raise ProfileError(f"{source}: {where}.op: {op!r} is not one of {', '.join(sorted(OPERATORS))}")
    return {"index": index, "value": _uint(arg.get("value", 0), source, f"{where}.value"),
            "valueTwo": _uint(arg.get("valueTwo", 0), source, f"{where}.valueTwo"), "op": op}


def _action(value: object, source: str, where: str) -> str:
    if value not in ACTIONS:
        raise ProfileError(f"{source}: {where}: {value!r} is not one of {', '.join(sorted(ACTIONS))}")
    return value


def _uint(value: object, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProfileError(f"{source}: {where}: {value!r} is not a non-negative integer")
    return value


def _strings(value: object, source: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProfileError(f"{source}: {where}: expected a list of names")
    return list(value)


def _go_arch() -> str:
    return GO_ARCH.get(platform.machine(), platform.machine())


def _kernel() -> tuple[int, ...]:
    return _version(os.uname().release)


def _version(text: str) -> tuple[int, ...]:
    """"6.1.0-13-amd64" -> (6, 1): docker's minKernel compares major and minor only."""
    match = re.match(r"(\d+)\.(\d+)", str(text))
    return (int(match[1]), int(match[2])) if match else (0, 0)
