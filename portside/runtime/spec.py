"""OCI runtime configuration (``config.json``) for one container.

The defaults copy docker's, because users trust them: the 14 default capabilities (CapEff 00000000a80425fb), the
same masked and read-only /proc and /sys paths, the same /dev, /dev/pts, /dev/shm and /dev/mqueue mounts, and a
seccomp profile equivalent to docker's (given by the caller, see ``seccomp.py``). Resource rlimits never exceed the
hard limits this process inherited: runc cannot raise a hard limit without CAP_SYS_RESOURCE, and a config asking for
more fails to start.
"""

from __future__ import annotations

import resource
from pathlib import Path

from portside.runtime.errors import InvalidArgument
from portside.runtime.plain import Plain

DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
)
# Every capability the running kernel knows (CAP_LAST_CAP), for --privileged and --cap-add ALL.
ALL_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


CPU_PERIOD = 100_000  # microseconds: the CFS period docker uses


class Mount(Plain):
    __slots__ = ("destination", "source", "type", "options")

    def __init__(self, destination: str, source: str, type: str = "bind",
                 options: tuple[str, ...] = ("rbind", "rprivate")) -> None:
        self.destination, self.source, self.type, self.options = destination, source, type, options

    def to_oci(self) -> dict:
        return {"destination": self.destination, "type": self.type, "source": self.source,
                "options": list(self.options)}


class Process(Plain):
    """``terminal``: runc makes the process a pseudo-terminal for its stdio (and needs a console socket)."""

    __slots__ = ("args", "env", "cwd", "uid", "gid", "additional_gids", "terminal")

    def __init__(self, args: list[str], env: list[str] | None = None, cwd: str = "/", uid: int = 0, gid: int = 0,
                 additional_gids: tuple[int, ...] = (), terminal: bool = False) -> None:
        self.args, self.env, self.cwd = args, [DEFAULT_PATH] if env is None else env, cwd
        self.uid, self.gid, self.additional_gids, self.terminal = uid, gid, additional_gids, terminal


class Limits(Plain):
    """Cgroup limits; ``None`` means unlimited. ``cpu_quota`` is in microseconds per ``cpu_period``."""

    __slots__ = ("memory", "cpu_quota", "cpu_period", "cpu_shares", "pids")

    def __init__(self, memory: int | None = None, cpu_quota: int | None = None, cpu_period: int = CPU_PERIOD,
                 cpu_shares: int | None = None, pids: int | None = None) -> None:
        self.memory, self.cpu_quota, self.cpu_period, self.cpu_shares = memory, cpu_quota, cpu_period, cpu_shares
        self.pids = pids


class Security(Plain):
    __slots__ = ("cap_add", "cap_drop", "privileged", "no_new_privileges", "readonly_rootfs", "seccomp")

    def __init__(self, cap_add: tuple[str, ...] = (), cap_drop: tuple[str, ...] = (), privileged: bool = False,
                 no_new_privileges: bool = False, readonly_rootfs: bool = False, seccomp: dict | None = None) -> None:
        self.cap_add, self.cap_drop, self.privileged = cap_add, cap_drop, privileged
        self.no_new_privileges, self.readonly_rootfs, self.seccomp = no_new_privileges, readonly_rootfs, seccomp


def normalize_cap(name: str) -> str:
    cap = name.strip().upper()
    cap = cap if cap.startswith("CAP_") or cap == "ALL" else "CAP_" + cap
    if cap != "ALL" and cap not in ALL_CAPS:
        raise InvalidArgument(f"unknown capability {name!r} (expected a name like NET_ADMIN or ALL)")
    return cap


def capabilities(sec: Security) -> list[str]:
    """Docker's rule: defaults (or none, with ``--cap-drop ALL``) minus drops plus adds; privileged is all the
    capabilities this process may grant (its bounding set: here CAP_SYS_RESOURCE is not among them)."""
    if sec.privileged:
        return bounding_caps()
    adds = {normalize_cap(c) for c in sec.cap_add}
    drops = {normalize_cap(c) for c in sec.cap_drop}
    base = set() if "ALL" in drops else set(DEFAULT_CAPS) - drops
    caps = set(bounding_caps()) if "ALL" in adds else base | adds
    return [c for c in ALL_CAPS if c in caps]


def bounding_caps() -> list[str]:
    with open("/proc/self/status") as f:
        mask = next(int(line.split()[1], 16) for line in f if line.startswith("CapBnd:"))
    return [c for bit, c in enumerate(ALL_CAPS) if mask >> bit & 1]


def rlimits() -> list[dict]:
    """Open files as high as the inherited hard limit allows (docker gives 1048576 where it can)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = min(hard, 1048576) if hard != resource.RLIM_INFINITY else 1048576
    return [{"type": "RLIMIT_NOFILE", "hard": limit, "soft": limit}]


def default_mounts() -> list[dict]:
    nodev = ["nosuid", "noexec", "nodev"]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": nodev},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": nodev + ["ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": nodev + ["relatime", "ro"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": nodev},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": nodev + ["mode=1777", "size=65536k"]},
    ]


def resources(limits: Limits) -> dict:
    res: dict = {"devices": [{"allow": False, "access": "rwm"}]}
    if limits.memory is not None:
        res["memory"] = {"limit": limits.memory}
    cpu = {}
    if limits.cpu_quota is not None:
        cpu.update(quota=limits.cpu_quota, period=limits.cpu_period)
    if limits.cpu_shares is not None:
        cpu["shares"] = limits.cpu_shares
    if cpu:
        res["cpu"] = cpu
    if limits.pids is not None:
        res["pids"] = {"limit": limits.pids}
    return res


def namespaces(netns: str | None) -> list[dict]:
    """``netns``: None for a fresh empty network namespace, "host" for none at all, else a netns file path."""
    spaces = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
    if netns is None:
        spaces.append({"type": "network"})
    elif netns != "host":
        spaces.append({"type": "network", "path": str(netns)})
    return spaces


def process_oci(proc: Process, sec: Security) -> dict:
    caps = capabilities(sec)
    user: dict = {"uid": proc.uid, "gid": proc.gid}
    if proc.additional_gids:
        user["additionalGids"] = list(proc.additional_gids)
    return {
        "terminal": proc.terminal, "user": user, "args": list(proc.args), "env": list(proc.env), "cwd": proc.cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": rlimits(), "noNewPrivileges": sec.no_new_privileges,
    }


def build_config(rootfs: Path, proc: Process, *, hostname: str, cgroups_path: str, limits: Limits = Limits(),
                 security: Security = Security(), mounts: list[Mount] = (), netns: str | None = None) -> dict:
    """The whole config.json. Docker's masking is dropped for --privileged, as docker does."""
    linux: dict = {"namespaces": namespaces(netns), "cgroupsPath": cgroups_path, "resources": resources(limits)}
    if not security.privileged:
        linux.update(maskedPaths=list(MASKED_PATHS), readonlyPaths=list(READONLY_PATHS))
        if security.seccomp is not None:
            linux["seccomp"] = security.seccomp
    return {
        "ociVersion": "1.0.2", "process": process_oci(proc, security),
        "root": {"path": str(rootfs), "readonly": security.readonly_rootfs}, "hostname": hostname,
        "mounts": default_mounts() + [m.to_oci() for m in mounts], "linux": linux,
    }


def resolve_user(rootfs: Path, user: str) -> tuple[int, int, tuple[int, ...]]:
    """``USER[:GROUP]`` by number or by name from the image's /etc/passwd and /etc/group, as docker's -u."""
    name, _, group = (user or "0").partition(":")
    entry = _lookup(rootfs / "etc/passwd", name, "user")
    uid = entry[0]
    gid = entry[1] if entry[1] is not None else 0
    if group:
        gid = _lookup(rootfs / "etc/group", group, "group")[0]
    return uid, gid, ()


def _lookup(table: Path, key: str, what: str) -> tuple[int, int | None]:
    """Find ``key`` (a name or a number) in a passwd/group file; a bare number needs no entry."""
    try:
        lines = table.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        fields = line.split(":")
        if len(fields) >= 3 and key in (fields[0], fields[2]):
            return int(fields[2]), int(fields[3]) if what == "user" and len(fields) > 3 else None
    if key.isdigit():
        return int(key), None
    raise InvalidArgument(f"unable to find {what} {key!r}: no matching entries in {table.name}")


def default_env(image_env: list[str], extra: list[str]) -> list[str]:
    """Image env, then the caller's (later wins, by key); PATH and HOSTNAME-free like docker's defaults."""
    merged: dict[str, str] = {}
    for item in [DEFAULT_PATH] + list(image_env) + list(extra):
        key = item.split("=", 1)[0]
        merged[key] = item
    return list(merged.values())




def default_seccomp(caps: list[str]) -> dict:
    """Docker's default profile for this capability set (some syscalls are allowed only with a capability)."""
    from portside.runtime.seccomp import default_profile

    return default_profile(caps)
