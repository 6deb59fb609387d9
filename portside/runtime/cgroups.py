"""Read a container's cgroup: memory, CPU time, pids and the OOM-kill counter, on cgroup v1 or v2.

runc creates and removes the cgroups; portside only reads them. Where the machine has v1 controllers (with or
without a hybrid v2 mount, as here) each controller is its own hierarchy under /sys/fs/cgroup/<controller>; on a
pure v2 machine there is one tree with cgroup.controllers at its top. The monitor reads the OOM counter after the
container's process died and *before* ``runc delete`` removes the cgroup: that counter is how OOMKilled is known.
"""

from __future__ import annotations

import os
from pathlib import Path

from portside.runtime.plain import Plain

BASE = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "cpuset", "devices", "freezer", "blkio")


def unified() -> bool:
    """True on a pure cgroup v2 machine (what runc then uses), False where v1 controllers are mounted."""
    return (BASE / "cgroup.controllers").exists()


class Stats(Plain):
    __slots__ = ("memory_usage", "memory_limit", "cpu_usage_ns", "pids", "oom_kills")

    def __init__(self, memory_usage: int, memory_limit: int | None, cpu_usage_ns: int, pids: int,
                 oom_kills: int) -> None:
        self.memory_usage, self.memory_limit, self.cpu_usage_ns = memory_usage, memory_limit, cpu_usage_ns
        self.pids, self.oom_kills = pids, oom_kills


class Usage(Plain):
    """What a resource-usage sample needs: cumulative CPU time and the memory working set, both in bytes/ns."""

    __slots__ = ("cpu_ns", "working_set")

    def __init__(self, cpu_ns: int, working_set: int) -> None:
        self.cpu_ns, self.working_set = cpu_ns, working_set


class Cgroup:
    """One container's cgroup, named by the ``cgroupsPath`` given to runc (e.g. ``/portside/<id>``)."""

    def __init__(self, path: str) -> None:
        self.path = path.strip("/")
        self.v2 = unified()

    def dir(self, controller: str) -> Path:
        return BASE / self.path if self.v2 else BASE / controller / self.path

    def exists(self) -> bool:
        if self.v2:
            return self.dir("").is_dir()
        return any(self.dir(c).is_dir() for c in V1_CONTROLLERS)

    def remove(self) -> None:
        """rmdir what runc left behind: it gives up on a cgroup still busy after ~150 ms, so this is a safety net."""
        dirs = [self.dir("")] if self.v2 else [self.dir(c) for c in V1_CONTROLLERS + ("systemd",)]
        for d in dirs:
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                if d.is_dir():
                    raise

    def oom_kills(self) -> int:
        name = ("memory", "memory.events") if self.v2 else ("memory", "memory.oom_control")
        return _keyed(self._read(*name), "oom_kill")

    def cpu_usage_ns(self) -> int:
        if self.v2:
            return _keyed(self._read("cpu", "cpu.stat"), "usage_usec") * 1000
        return int(self._read("cpuacct", "cpuacct.usage") or 0)

    def memory_usage(self) -> int:
        return int(self._read("memory", "memory.current" if self.v2 else "memory.usage_in_bytes") or 0)

    def memory_limit(self) -> int | None:
        raw = self._read("memory", "memory.max" if self.v2 else "memory.limit_in_bytes")
        if not raw or raw == "max" or int(raw) >= 1 << 62:
            return None
        return int(raw)

    def pids(self) -> int:
        return int(self._read("pids", "pids.current") or 0)

    def memory_working_set(self) -> int:
        """Usage less the inactive file cache, the figure cAdvisor and metrics-server report (and the kubelet
        evicts on): cache the kernel can drop at once is not counted. v1 reads the hierarchical ``total_`` key."""
        usage = self.memory_usage()
        inactive = _keyed(self._read("memory", "memory.stat"), "inactive_file" if self.v2 else "total_inactive_file")
        return max(0, usage - inactive)

    def usage(self) -> Usage | None:
        """CPU time and working set in one go (three small reads), or None once the cgroup is gone."""
        cpu = self._read("cpu" if self.v2 else "cpuacct", "cpu.stat" if self.v2 else "cpuacct.usage")
        if not cpu:
            return None
        ns = _keyed(cpu, "usage_usec") * 1000 if self.v2 else int(cpu)
        return Usage(ns, self.memory_working_set())

    def stats(self) -> Stats:
        return Stats(self.memory_usage(), self.memory_limit(), self.cpu_usage_ns(), self.pids(), self.oom_kills())

    def _read(self, controller: str, name: str) -> str:
        try:
            with open(self.dir(controller) / name) as f:
                return f.read().strip()
        except OSError:
            return ""


def remove_parent(parent: str) -> bool:
    """Remove an engine's cgroup parent from every hierarchy where it is empty (a purge's last step: runc makes
    it, and nothing removes it while containers may come); True when one was removed. A busy one stays."""
    name, removed = parent.strip("/"), False
    for hierarchy in [BASE] if unified() else [d for d in BASE.iterdir() if d.is_dir()]:
        try:
            (hierarchy / name).rmdir()
            removed = True
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError:  # still holds a container's cgroup or a process: not ours to take
            pass
    return removed


def _keyed(text: str, key: str) -> int:
    """A value from a flat-keyed cgroup file ("oom_kill 3" lines)."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def host_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def host_usage(stat: str = "/proc/stat", meminfo: str = "/proc/meminfo") -> Usage:
    """The node's CPU time (every state but idle and iowait, in ns) and memory in use (MemTotal less
    MemAvailable: what the kernel could not hand out without swapping, the node-level working set)."""
    with open(stat) as f:
        fields = f.readline().split()[1:]
    ticks = [int(v) for v in fields[:8]] + [0] * (8 - len(fields[:8]))
    busy = sum(ticks) - ticks[3] - ticks[4]  # user nice system idle iowait irq softirq steal
    cpu_ns = busy * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    info = {}
    with open(meminfo) as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("MemTotal", "MemAvailable"):
                info[name] = int(rest.split()[0]) * 1024
                if len(info) == 2:
                    break
    return Usage(cpu_ns, max(0, info.get("MemTotal", 0) - info.get("MemAvailable", 0)))
