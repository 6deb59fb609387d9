"""What a container uses now (``stats``) and which processes it runs (``top``): its cgroup's counters, its
network namespace's, the host's CPU time to set them against, and ``ps`` over the cgroup's processes."""

from __future__ import annotations

import re
import subprocess

from portside.engine.model import ContainerState
from portside.runtime import cgroups
from portside.runtime.errors import Conflict, InvalidArgument, PortsideError
from portside.runtime.logfile import rfc3339
from portside.runtime.net.counters import InterfaceCounters, interface_counters
from portside.runtime.plain import Plain


class Sample(Plain):
    """One reading: ``read`` (RFC 3339, ns), the cgroup's ``stats``, the interfaces' counters (none without a
    network namespace of its own), and the host's CPU time and online CPUs at the same moment. ``stats`` is
    None when the container does not run."""

    __slots__ = ("read", "stats", "networks", "system_cpu_ns", "online_cpus")

    def __init__(self, read: str, stats: cgroups.Stats | None, networks: dict[str, InterfaceCounters],
                 system_cpu_ns: int, online_cpus: int) -> None:
        self.read, self.stats, self.networks = read, stats, networks
        self.system_cpu_ns, self.online_cpus = system_cpu_ns, online_cpus


def sample(cgroup_path: str, state: ContainerState, network_mode: str) -> Sample:
    if state.status != "running":
        return Sample(rfc3339(), None, {}, 0, 0)
    stats = cgroups.Cgroup(cgroup_path).stats()
    system_ns, cpus = cgroups.host_cpu()
    own_netns = network_mode not in ("host",) and not network_mode.startswith(("ns:", "container:"))
    return Sample(rfc3339(), stats, interface_counters(state.pid) if own_netns else {}, system_ns, cpus)


class Top(Plain):
    """``ps``'s column titles and one row of columns per process of the container."""

    __slots__ = ("titles", "processes")

    def __init__(self, titles: list[str], processes: list[list[str]]) -> None:
        self.titles, self.processes = titles, processes


def top(cid: str, cgroup_path: str, state: ContainerState, ps_args: str = "") -> Top:
    """docker's ``top``: the host's ``ps`` with ``ps_args`` (default ``-ef``), kept to the rows of the
    processes in the container's cgroup (and, with thread options, their threads' rows)."""
    ps_args = ps_args or "-ef"
    _check_ps_args(ps_args)
    if state.status != "running":
        raise Conflict(f"Container {cid} is not running")  # dockerd's words
    pids = cgroups.Cgroup(cgroup_path).procs()
    args = ps_args.split(" ")
    output = _ps(args + ["-q" + ",".join(map(str, pids))]) if pids else None
    if output is None:
        output = _ps(args, fail=True)  # some options (f, for one) refuse -q: filter the whole list instead
    return parse_ps(output, set(pids))


def _check_ps_args(ps_args: str) -> None:
    """docker refuses renaming a PID column (``-o user=PID``): the rows would be filtered by the wrong one."""
    for key, value in re.findall(r"\s+([^\s]*)=\s*(PID[^\s]*)", ps_args):
        if key != "pid":
            raise InvalidArgument(f'specifying "{key}={value}" is not allowed')


def _ps(args: list[str], fail: bool = False) -> str | None:
    proc = subprocess.run(["ps", *args], capture_output=True, text=True, errors="replace")
    if proc.returncode == 0:
        return proc.stdout
    if not fail:
        return None
    first = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[0]
    raise PortsideError(f"ps: {first}")


def parse_ps(output: str, pids: set[int]) -> Top:
    """The rows of ``pids`` (and the thread rows, PID ``-``, that follow one of them); the last column keeps
    its spaces (a command line)."""
    lines = output.split("\n")
    titles = lines[0].split()
    if "PID" not in titles:
        raise InvalidArgument("Couldn't find PID field in ps output")
    at = titles.index("PID")
    rows, keep = [], False
    for line in lines[1:]:
        fields = line.split()
        if not fields:
            continue
        if fields[at] == "-":
            if keep:
                rows.append(_row(fields, len(titles)))
            continue
        try:
            keep = int(fields[at]) in pids
        except ValueError:
            raise PortsideError(f"Unexpected pid '{fields[at]}' in ps output") from None
        if keep:
            rows.append(_row(fields, len(titles)))
    return Top(titles, rows)


def _row(fields: list[str], columns: int) -> list[str]:
    return fields[:columns - 1] + [" ".join(fields[columns - 1:])]
