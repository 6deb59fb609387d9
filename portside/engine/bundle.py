"""The OCI bundle of one start: config.json from the record, plus the /etc files docker bind-mounts.

Written at every start (not at create) because the network attachment, and so /etc/hosts and the namespace
path, are new each time. The default seccomp profile resolved for a capability set is cached under the engine
root: it is the same for every start on this kernel, and building it costs more than the rest of the bundle.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

from portside.engine.model import ContainerRecord, HostConfig, VolumeMount
from portside.engine.records import Paths, write_atomic
from portside.runtime import spec


def process_env(env: list[str], hostname: str, tty: bool) -> list[str]:
    """The process's environment from the container's ``Env``, as dockerd makes it: HOSTNAME (and TERM on a
    terminal) first, overridden by ``Env``'s ``KEY=VALUE`` entries; a bare ``KEY`` (kept as given in the record,
    where it also hid the image's ``KEY``) sets nothing and unsets those defaults."""
    defaults = [f"HOSTNAME={hostname}"] + (["TERM=xterm"] if tty else [])
    merged = {item.split("=", 1)[0]: item for item in defaults}
    for item in env:
        key, eq, _ = item.partition("=")
        if eq:
            merged[key] = item
        else:
            merged.pop(key, None)
    return list(merged.values())


def write_bundle(paths: Paths, record: ContainerRecord, *, netns: str | None, ip: str, cgroups_path: str,
                 seccomp_cache: Path, nameserver: str = "", resolv_source: str = "/etc/resolv.conf") -> None:
    """``nameserver``: the DNS responder's address for a container on a user network (else the host's
    resolvers, from ``resolv_source``)."""
    cfg = record.config
    uid, gid, groups = spec.resolve_user(paths.rootfs, cfg.user)
    cwd = cfg.working_dir or "/"
    (paths.rootfs / cwd.lstrip("/")).mkdir(parents=True, exist_ok=True)  # docker creates a missing WORKDIR
    env = process_env(cfg.env, cfg.hostname, cfg.tty)
    proc = spec.Process(args=record.argv, env=env, cwd=cwd, uid=uid, gid=gid, additional_gids=groups,
                        terminal=cfg.tty)
    security = _security(record, seccomp_cache)
    resolv = None if record.host.network_mode == "none" else resolv_conf(nameserver, resolv_source)
    mounts = (_etc_mounts(paths, cfg.hostname, ip, resolv, record.host.extra_hosts) + _volume_mounts(record.mounts)
              + _tmpfs_mounts(record.host.tmpfs))
    config = spec.build_config(paths.rootfs, proc, hostname=cfg.hostname, cgroups_path=cgroups_path,
                               limits=limits(record.host), security=security, mounts=mounts, netns=netns)
    paths.bundle.mkdir(exist_ok=True)
    write_atomic(paths.bundle / "config.json", config, durable=False)


def limits(host: HostConfig) -> spec.Limits:
    """--cpus as a quota per docker's 100 ms period; or --cpu-quota and --cpu-period as given."""
    if host.nano_cpus:
        quota, period = int(host.nano_cpus * spec.CPU_PERIOD / 1e9), spec.CPU_PERIOD
    else:
        quota, period = (host.cpu_quota if host.cpu_quota > 0 else None), host.cpu_period or spec.CPU_PERIOD
    return spec.Limits(memory=host.memory or None, cpu_quota=quota, cpu_period=period,
                       cpu_shares=host.cpu_shares or None, pids=host.pids_limit if host.pids_limit > 0 else None)


def _security(record: ContainerRecord, cache: Path) -> spec.Security:
    host, sec = record.host, record.security
    base = spec.Security(cap_add=host.cap_add, cap_drop=host.cap_drop, privileged=host.privileged,
                         no_new_privileges=sec.no_new_privileges, readonly_rootfs=host.readonly_rootfs)
    caps = spec.capabilities(base)
    if sec.seccomp == "unconfined" or host.privileged:
        return base
    if sec.seccomp != "default":
        from portside.runtime.seccomp import load_profile

        return base.replace(seccomp=load_profile(Path(sec.seccomp), caps))
    return base.replace(seccomp=_default_profile(caps, cache))


def _default_profile(caps: list[str], cache: Path) -> dict:
    uname = os.uname()
    key = json.dumps([caps, uname.release, uname.machine]).encode()
    path = cache / f"default-{zlib.crc32(key):08x}-{len(key)}.json"  # crc32: hashlib costs 3 ms to import
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        profile = spec.default_seccomp(caps)
        cache.mkdir(parents=True, exist_ok=True)
        write_atomic(path, profile, durable=False)
        return profile


def resolv_conf(nameserver: str, source: str = "/etc/resolv.conf") -> str | None:
    """The host's resolv.conf as it is; or, on a user network, ``nameserver`` with the host's search domains and
    options, and ``ndots:0`` as docker writes it (a single-label name, a container's, is asked as it is first)."""
    try:
        text = Path(source).read_text()
    except OSError:
        text = None
    if not nameserver:
        return text
    from portside.runtime.net.resolvconf import ResolvConf, parse

    host = parse(text or "")
    options = tuple(o for o in host.options if not o.startswith("ndots:")) + ("ndots:0",)
    return ResolvConf((nameserver,), host.searches, options).render()


def _etc_mounts(paths: Paths, hostname: str, ip: str, resolv: str | None,
                extra_hosts: tuple[str, ...] = ()) -> list[spec.Mount]:
    extra = "".join(f"{address}\t{name}\n" for name, _, address in (h.partition(":") for h in extra_hosts))
    files = {"hostname": f"{hostname}\n",
             "hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" + extra
                      + (f"{ip}\t{hostname}\n" if ip else "")}
    if resolv is not None:
        files["resolv.conf"] = resolv
    mounts = []
    for name, text in files.items():
        (paths.dir / name).write_text(text)
        mounts.append(spec.Mount(f"/etc/{name}", str(paths.dir / name)))
    return mounts


def _tmpfs_mounts(tmpfs: dict[str, str]) -> list[spec.Mount]:
    """docker's --tmpfs: nosuid, nodev and noexec unless the options say otherwise."""
    out = []
    for path, options in tmpfs.items():
        given = [o for o in options.split(",") if o]
        defaults = [d for d, opposite in (("nosuid", "suid"), ("nodev", "dev"), ("noexec", "exec"))
                    if opposite not in given and d not in given]
        out.append(spec.Mount(path, "tmpfs", "tmpfs", tuple(defaults + given)))
    return out


def _volume_mounts(mounts: tuple[VolumeMount, ...]) -> list[spec.Mount]:
    out = []
    for m in mounts:
        if not os.path.lexists(m.source):
            Path(m.source).mkdir(parents=True)  # docker creates a missing bind source; a file is bound as it is
        options = ("rbind", "rprivate") + (() if m.rw else ("ro",))
        out.append(spec.Mount(m.destination, m.source, "bind", options))
    return out
