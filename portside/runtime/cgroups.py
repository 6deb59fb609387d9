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

    def stats(self) -> Stats:
        return Stats(self.memory_usage(), self.memory_limit(), self.cpu_usage_ns(), self.pids(), self.oom_kills())

    def _read(self, controller: str, name: str) -> str:
        try:
            with open(self.dir(controller) / name) as f:
                return f.read().strip()
        except OSError:
            return ""


def _keyed(text: str, key: str) -> int:
    """A value from a flat-keyed cgroup file ("oom_kill 3" lines)."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def host_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
