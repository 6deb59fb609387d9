"""``update``: new limits for an existing container, checked as docker checks them, then applied to the running
container's cgroups (``runc update``) and recorded for every later start.

A restart policy changed here holds from the container's next exit: its monitor reads the record's policy
whenever the container ends.
"""

from __future__ import annotations

from portside.engine.config import MIN_MEMORY, Resources, parse_restart
from portside.engine.model import HostConfig
from portside.runtime import spec
from portside.runtime.errors import InvalidArgument
from portside.runtime.restart import RestartPolicy


def apply(host: HostConfig, change: Resources) -> HostConfig:
    """The record's HostConfig with ``change`` applied; InvalidArgument naming the field for what docker refuses."""
    if change.empty:
        raise InvalidArgument("update: nothing to change (give --memory, --cpus, --cpu-shares, --cpu-quota, "
                              "--cpu-period, --pids-limit or --restart)")
    fields = {"memory": _memory(host, change.memory), "cpu_shares": _shares(host, change.cpu_shares),
              "pids_limit": host.pids_limit if change.pids_limit is None else max(change.pids_limit, 0),
              "restart": _restart(host, change.restart)}
    fields.update(_cpu(host, change))
    return host.replace(**fields)


def _memory(host: HostConfig, memory: int | None) -> int:
    if memory is None or memory == 0:
        return host.memory  # docker: 0 leaves the limit as it is
    if 0 < memory < MIN_MEMORY:
        raise InvalidArgument(f"invalid memory {memory}: the minimum memory limit is 6m")
    return max(memory, 0)


def _shares(host: HostConfig, shares: int | None) -> int:
    if shares is None or shares == 0:
        return host.cpu_shares
    if shares < 2:
        raise InvalidArgument(f"invalid cpu-shares {shares}: the minimum is 2")
    return shares


def _cpu(host: HostConfig, change: Resources) -> dict:
    """--cpus replaces a quota and period, and the other way round; docker refuses switching from one to the
    other while the first is set, and so does this."""
    if change.cpus:
        if host.cpu_quota > 0 or host.cpu_period:
            raise InvalidArgument("conflicting options: CPU quota and period cannot be replaced by --cpus while they "
                                  "are set (--cpu-quota -1 lifts the quota)")
        return {"nano_cpus": int(round(change.cpus * 1e9))}
    quota = host.cpu_quota if change.cpu_quota is None else change.cpu_quota
    period = host.cpu_period if change.cpu_period is None else change.cpu_period
    if (change.cpu_quota or change.cpu_period) and host.nano_cpus:
        raise InvalidArgument("conflicting options: --cpu-quota and --cpu-period cannot be set while --cpus is set")
    if period and not 1000 <= period <= 1_000_000:
        raise InvalidArgument(f"invalid cpu-period {period}: it must be from 1000 to 1000000 microseconds")
    if quota > 0 and quota < 1000:
        raise InvalidArgument(f"invalid cpu-quota {quota}: it must be at least 1000 microseconds (1ms)")
    return {"cpu_quota": max(quota, 0), "cpu_period": period}


def _restart(host: HostConfig, text: str | None) -> RestartPolicy:
    if text is None:
        return host.restart
    name, retries = parse_restart(text)
    if name != "no" and host.auto_remove:
        raise InvalidArgument("restart policy cannot be updated because AutoRemove is enabled for the container")
    return RestartPolicy(name, retries)


def to_cgroup(runc, cid: str, old: HostConfig, new: HostConfig) -> None:
    """What changed, written to the running container's cgroups (-1: no limit any more)."""
    quota = period = None
    if (new.nano_cpus, new.cpu_quota, new.cpu_period) != (old.nano_cpus, old.cpu_quota, old.cpu_period):
        if new.nano_cpus:
            quota, period = int(new.nano_cpus * spec.CPU_PERIOD / 1e9), spec.CPU_PERIOD
        else:
            quota, period = new.cpu_quota or -1, new.cpu_period or spec.CPU_PERIOD
    runc.update(cid, memory=_changed(old.memory, new.memory), cpu_quota=quota, cpu_period=period,
                cpu_shares=new.cpu_shares if new.cpu_shares != old.cpu_shares and new.cpu_shares else None,
                pids=_changed(old.pids_limit, new.pids_limit))


def _changed(old: int, new: int) -> int | None:
    if old == new:
        return None
    return new if new > 0 else -1
