"""Read a container's cgroup: memory, CPU time, pids, block I/O and the OOM-kill counter, on cgroup v1 or v2.

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
    """Everything docker's stats report of a cgroup, on either version (v2 has no per-CPU times and no peak
    memory: those stay empty). CPU times in ns, memory in bytes; ``io`` as (major, minor, op, bytes) entries."""

    __slots__ = ("memory_usage", "memory_limit", "cpu_usage_ns", "pids", "oom_kills", "cpu_user_ns",
                 "cpu_system_ns", "cpu_percpu_ns", "throttling", "memory_max_usage", "memory_failcnt",
                 "memory_stat", "pids_limit", "io_bytes", "io_ops")

    def __init__(self, memory_usage: int, memory_limit: int | None, cpu_usage_ns: int, pids: int,
                 oom_kills: int, cpu_user_ns: int = 0, cpu_system_ns: int = 0,
                 cpu_percpu_ns: tuple[int, ...] = (), throttling: Throttling | None = None,
                 memory_max_usage: int = 0, memory_failcnt: int = 0, memory_stat: dict[str, int] | None = None,
                 pids_limit: int = 0, io_bytes: tuple[IoEntry, ...] = (), io_ops: tuple[IoEntry, ...] = ()) -> None:
        self.memory_usage, self.memory_limit, self.cpu_usage_ns = memory_usage, memory_limit, cpu_usage_ns
        self.pids, self.oom_kills = pids, oom_kills
        self.cpu_user_ns, self.cpu_system_ns, self.cpu_percpu_ns = cpu_user_ns, cpu_system_ns, tuple(cpu_percpu_ns)
        self.throttling = throttling or Throttling(0, 0, 0)
        self.memory_max_usage, self.memory_failcnt = memory_max_usage, memory_failcnt
        self.memory_stat = memory_stat or {}
        self.pids_limit, self.io_bytes, self.io_ops = pids_limit, tuple(io_bytes), tuple(io_ops)

    @property
    def memory_working_set(self) -> int:
        """Usage less the inactive file cache (what docker's ``stats`` shows as MEM USAGE)."""
        inactive = self.memory_stat.get("total_inactive_file", self.memory_stat.get("inactive_file", 0))
        return self.memory_usage - inactive if inactive < self.memory_usage else self.memory_usage


class Throttling(Plain):
    """CFS bandwidth control: periods elapsed, periods in which the cgroup was throttled, time throttled (ns)."""

    __slots__ = ("periods", "throttled_periods", "throttled_ns")

    def __init__(self, periods: int, throttled_periods: int, throttled_ns: int) -> None:
        self.periods, self.throttled_periods, self.throttled_ns = periods, throttled_periods, throttled_ns


class IoEntry(Plain):
    """One block device's count for one operation (docker's ``blkio_stats`` entries)."""

    __slots__ = ("major", "minor", "op", "value")

    def __init__(self, major: int, minor: int, op: str, value: int) -> None:
        self.major, self.minor, self.op, self.value = major, minor, op, value


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
        """Every counter docker's stats show, read now."""
        return Stats(self.memory_usage(), self.memory_limit(), self.cpu_usage_ns(), self.pids(), self.oom_kills(),
                     **(self._cpu_v2() if self.v2 else self._cpu_v1()), **self._memory_detail(),
                     pids_limit=_limit(self._read("pids", "pids.max")), **self._io())

    def procs(self) -> list[int]:
        """The processes in the cgroup (not their threads)."""
        return [int(p) for p in self._read("pids", "cgroup.procs").split()]

    def _cpu_v1(self) -> dict:
        ticks = _flat(self._read("cpuacct", "cpuacct.stat"))
        per_tick = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
        throttle = _flat(self._read("cpu", "cpu.stat"))
        return {"cpu_user_ns": ticks.get("user", 0) * per_tick, "cpu_system_ns": ticks.get("system", 0) * per_tick,
                "cpu_percpu_ns": tuple(int(v) for v in self._read("cpuacct", "cpuacct.usage_percpu").split()),
                "throttling": Throttling(throttle.get("nr_periods", 0), throttle.get("nr_throttled", 0),
                                         throttle.get("throttled_time", 0))}

    def _cpu_v2(self) -> dict:
        cpu = _flat(self._read("cpu", "cpu.stat"))
        return {"cpu_user_ns": cpu.get("user_usec", 0) * 1000, "cpu_system_ns": cpu.get("system_usec", 0) * 1000,
                "throttling": Throttling(cpu.get("nr_periods", 0), cpu.get("nr_throttled", 0),
                                         cpu.get("throttled_usec", 0) * 1000)}

    def _memory_detail(self) -> dict:
        if self.v2:
            return {"memory_stat": _flat(self._read("memory", "memory.stat")),
                    "memory_failcnt": _keyed(self._read("memory", "memory.events"), "oom")}
        return {"memory_stat": _flat(self._read("memory", "memory.stat")),
                "memory_max_usage": int(self._read("memory", "memory.max_usage_in_bytes") or 0),
                "memory_failcnt": int(self._read("memory", "memory.failcnt") or 0)}

    def _io(self) -> dict:
        """Bytes and operations per device: v2's io.stat, or v1's blkio files (the CFQ ones when the scheduler
        keeps them, else the throttling layer's, which every v1 kernel counts)."""
        if self.v2:
            return _io_v2(self._read("io", "io.stat"))
        out = {}
        for key, name in (("io_bytes", "io_service_bytes_recursive"), ("io_ops", "io_serviced_recursive")):
            text = self._read("blkio", f"blkio.{name}")
            if not _io_v1(text):
                text = self._read("blkio", f"blkio.throttle.{name}")
            out[key] = _io_v1(text)
        return out

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


def _flat(text: str) -> dict[str, int]:
    """A flat-keyed cgroup file ("name value" lines) whole."""
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[name] = int(value)
    return out


def _limit(raw: str) -> int:
    """A limit file's value; 0 for none ("max", or v1's huge "unlimited")."""
    return int(raw) if raw.isdigit() and int(raw) < 1 << 62 else 0


def _io_v1(text: str) -> tuple[IoEntry, ...]:
    """``8:0 Read 4096`` lines (the per-device ``Total`` lines and the last, device-less one are left out)."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and ":" in fields[0] and fields[1] != "Total":
            major, _, minor = fields[0].partition(":")
            out.append(IoEntry(int(major), int(minor), fields[1], int(fields[2])))
    return tuple(out)


def _io_v2(text: str) -> dict:
    """``8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...`` lines, as v1's entries with docker's lower-case ops."""
    io_bytes, io_ops = [], []
    for line in text.splitlines():
        device, *pairs = line.split()
        major, _, minor = device.partition(":")
        values = dict(p.split("=", 1) for p in pairs if "=" in p)
        for op, prefix in (("read", "r"), ("write", "w")):
            io_bytes.append(IoEntry(int(major), int(minor), op, int(values.get(prefix + "bytes", 0))))
            io_ops.append(IoEntry(int(major), int(minor), op, int(values.get(prefix + "ios", 0))))
    return {"io_bytes": tuple(io_bytes), "io_ops": tuple(io_ops)}


def _keyed(text: str, key: str) -> int:
    """A value from a flat-keyed cgroup file ("oom_kill 3" lines)."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def host_cpu(stat: str = "/proc/stat") -> tuple[int, int]:
    """The host's CPU time in every state, idle included (ns), and its online CPUs: docker's
    ``system_cpu_usage`` and ``online_cpus``, against which a container's CPU share is computed."""
    total, cpus = 0, 0
    with open(stat) as f:
        for line in f:
            if not line.startswith("cpu"):
                break
            if line.startswith("cpu "):
                total = sum(int(v) for v in line.split()[1:8]) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
            else:
                cpus += 1
    return total, cpus


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
