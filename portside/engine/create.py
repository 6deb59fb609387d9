"""From a ``ContainerConfig`` and an image to the container's record: every check happens here, before anything
is written, so bad input leaves nothing behind.

The record is a typed ``ContainerRecord`` (``model.py``); ``inspect`` renders docker's JSON from it.
"""

from __future__ import annotations

import os
from pathlib import Path

from portside.engine.config import (
    ContainerConfig,
    check_name,
    check_network,
    check_tmpfs,
    log_limits,
    parse_extra_host,
    parse_port,
    parse_restart,
    parse_signal,
    parse_volume,
)
from portside.engine.model import (
    ContainerRecord,
    EndpointConfig,
    HostConfig,
    LogConfig,
    PortBinding,
    ProcessConfig,
    SecurityConfig,
    VolumeMount,
)
from portside.runtime import spec
from portside.runtime.errors import InvalidArgument
from portside.runtime.restart import RestartPolicy


def command(cfg: ContainerConfig, image_config: dict) -> tuple[list[str], list[str]]:
    """Docker's rule: --entrypoint replaces the image's and drops its Cmd; a given CMD replaces the image's."""
    if cfg.entrypoint is not None:
        entrypoint, cmd = [a for a in cfg.entrypoint if a], list(cfg.cmd or [])
    else:
        entrypoint = list(image_config.get("Entrypoint") or [])
        cmd = list(cfg.cmd) if cfg.cmd else list(image_config.get("Cmd") or [])
    if not entrypoint + cmd:
        raise InvalidArgument("no command specified: the image has no Cmd or Entrypoint; give one after the image")
    return entrypoint, cmd


def healthcheck(cfg: ContainerConfig, image_config: dict):
    """docker's merge: the image's HEALTHCHECK, each field the caller gave replacing the image's; ``NONE``
    turns it off. Refused: a test of an unknown kind, a duration under 1 ms, negative retries."""
    image = image_config.get("Healthcheck") or None
    given = cfg.healthcheck
    if given is None and not image:
        return None
    from portside.runtime.health import HealthConfig

    if given is None:
        return HealthConfig.from_json(image)
    if list(given.get("Test") or ()) == ["NONE"]:
        return HealthConfig(("NONE",))
    check = HealthConfig.from_json({**(image or {}), **{k: v for k, v in given.items() if v}})
    if not check.test:
        raise InvalidArgument("--health-* options given, but neither --health-cmd nor the image's HEALTHCHECK says "
                              "what to run")
    if check.test[0] not in ("CMD", "CMD-SHELL", "NONE") or (check.test[0] != "NONE" and len(check.test) < 2):
        raise InvalidArgument(f"invalid healthcheck test {list(check.test)!r}: expected [\"CMD\", ARG...], "
                              "[\"CMD-SHELL\", COMMAND] or [\"NONE\"]")
    for name, value in (("interval", check.interval), ("timeout", check.timeout),
                        ("start-period", check.start_period), ("start-interval", check.start_interval)):
        if value < 0 or 0 < value < 1_000_000:
            raise InvalidArgument(f"invalid --health-{name}: it must be at least 1ms (or 0 for the default)")
    if check.retries < 0:
        raise InvalidArgument("invalid --health-retries: it must not be negative")
    return check


def security(cfg: ContainerConfig) -> SecurityConfig:
    """Validate --security-opt, --cap-add/--cap-drop now; the profile itself is loaded at each start."""
    for cap in cfg.cap_add + cfg.cap_drop:
        spec.normalize_cap(cap)
    seccomp, no_new_privileges = "default", False
    for opt in cfg.security_opt:
        key, eq, value = opt.partition("=")
        if not eq:  # docker also takes "no-new-privileges:true"
            key, eq, value = opt.partition(":")
        if key == "no-new-privileges" and value in ("", "true", "false"):
            no_new_privileges = value != "false"
        elif key == "seccomp" and eq and value:
            seccomp = value if value == "unconfined" else _profile_path(value)
        else:
            raise InvalidArgument(f"invalid --security-opt {opt!r}: expected seccomp=unconfined, seccomp=FILE "
                                  "or no-new-privileges")
    return SecurityConfig(seccomp, no_new_privileges)


def _profile_path(value: str) -> str:
    from portside.runtime.seccomp import load_profile

    path = Path(value).resolve()
    load_profile(path)  # refuse a bad profile at create time, naming the file and field
    return str(path)


def port_bindings(cfg: ContainerConfig, endpoints: tuple[EndpointConfig, ...]) -> tuple[PortBinding, ...]:
    """``-p`` as given (``-P``'s ports are chosen at each start: ``ContainerRecord.published_ports``)."""
    if not cfg.publish:
        return ()
    if cfg.network != "bridge" and not endpoints:
        raise InvalidArgument(f"-p cannot be used with --network {cfg.network}: ports are published only "
                              "on the bridge network and user-defined networks")
    from portside.runtime.network import parse_publish

    return tuple(PortBinding(m.host_ip, m.host_port, m.container_port, m.protocol)
                 for p in cfg.publish for m in parse_publish(p))


def exposed_ports(cfg: ContainerConfig, image_config: dict) -> tuple[str, ...]:
    """docker's ``Config.ExposedPorts``: the image's EXPOSE, ``--expose`` and every port ``-p`` publishes."""
    ports = [parse_port(p, "the image's ExposedPorts") for p in image_config.get("ExposedPorts") or {}]
    ports += [parse_port(p) for p in cfg.expose]
    if cfg.publish:  # the network package is not imported by a run that publishes nothing (12 ms)
        from portside.runtime.network import parse_publish

        ports += [f"{m.container_port}/{m.protocol}" for p in cfg.publish for m in parse_publish(p)]
    return tuple(sorted(dict.fromkeys(ports), key=lambda p: (int(p.split("/")[0]), p)))


def tmpfs(cfg: ContainerConfig) -> dict[str, str]:
    for path, options in cfg.tmpfs.items():
        check_tmpfs(path, options, f"--tmpfs {path}")
    return {os.path.normpath(path): options for path, options in cfg.tmpfs.items()}


def cpu_limits(cfg: ContainerConfig) -> tuple[int, int, int]:
    """(nano CPUs, CFS quota, CFS period): docker's rules, --cpus or --cpu-quota/--cpu-period but not both."""
    nano = int(round((cfg.cpus or 0) * 1e9))
    quota, period = cfg.cpu_quota or 0, cfg.cpu_period or 0
    if nano and (quota or period):
        raise InvalidArgument("conflicting options: --cpus and --cpu-quota/--cpu-period cannot both be set")
    if period and not 1000 <= period <= 1_000_000:
        raise InvalidArgument(f"invalid --cpu-period {period}: it must be from 1000 to 1000000 microseconds")
    if quota and quota != -1 and quota < 1000:
        raise InvalidArgument(f"invalid --cpu-quota {quota}: it must be at least 1000 microseconds (1ms)")
    return nano, quota, period


def mounts(cfg: ContainerConfig, volumes_root: Path) -> tuple[VolumeMount, ...]:
    out = []
    for text in cfg.volumes:
        vol = parse_volume(text)
        source = vol.source or str(volumes_root / vol.name / "_data")
        out.append(VolumeMount("volume" if vol.name else "bind", vol.name, source, vol.destination,
                               not vol.read_only))
    return tuple(out)


def networks(cfg: ContainerConfig, network_id: str) -> tuple[EndpointConfig, ...]:
    """The endpoint of a container whose ``--network`` is a user-defined network (``network_id`` its id, ""
    for the others, which take neither aliases nor an address)."""
    if not network_id:
        if cfg.network_aliases:
            raise InvalidArgument("network-scoped aliases are supported only for containers in user-defined "
                                  "networks (--network-alias)")
        if cfg.ip:
            raise InvalidArgument("a user specified IP address is supported only on user-defined networks (--ip)")
        return ()
    for alias in cfg.network_aliases:
        check_name(alias, "network alias")
    return (EndpointConfig(cfg.network, network_id, tuple(dict.fromkeys(cfg.network_aliases)), cfg.ip),)


def log_config(cfg: ContainerConfig, defaults: dict[str, str]) -> LogConfig:
    """The container's ``--log-opt``s over the engine's (``log_opts`` in engine.json), checked."""
    opts = {**defaults, **cfg.log_opts}
    log_limits(cfg.log_driver, opts)
    return LogConfig(cfg.log_driver, opts)


def build_record(cid: str, name: str, created: str, cfg: ContainerConfig, image, volumes_root: Path,
                 network_id: str = "", log_defaults: dict[str, str] | None = None) -> ContainerRecord:
    """The whole record; raises InvalidArgument naming the flag for anything malformed. ``network_id``: the id
    of the user-defined network ``cfg.network`` names (the engine looked it up); ``log_defaults``: the engine's
    log options."""
    check_network(cfg.network)
    check_name(name)
    endpoints = networks(cfg, network_id)
    restart, retries = parse_restart(cfg.restart)
    if restart != "no" and cfg.autoremove:
        raise InvalidArgument("conflicting options: --restart and --rm")
    if cfg.workdir and not cfg.workdir.startswith("/"):
        raise InvalidArgument(f"invalid -w value {cfg.workdir!r}: the working directory must be absolute")
    entrypoint, cmd = command(cfg, image.config)
    argv = entrypoint + cmd
    env = spec.default_env(image.config.get("Env") or [], [e for e in cfg.env if e])
    nano_cpus, cpu_quota, cpu_period = cpu_limits(cfg)
    exposed = exposed_ports(cfg, image.config)
    if cfg.stop_timeout is not None and cfg.stop_timeout < -1:
        raise InvalidArgument(f"invalid --stop-timeout {cfg.stop_timeout}: expected seconds, or -1 to wait forever")
    host = HostConfig(
        memory=cfg.memory or 0, nano_cpus=nano_cpus, cpu_shares=cfg.cpu_shares or 0,
        pids_limit=cfg.pids_limit or 0, restart=RestartPolicy(restart, retries), network_mode=cfg.network,
        port_bindings=port_bindings(cfg, endpoints), binds=cfg.volumes, cap_add=cfg.cap_add,
        cap_drop=cfg.cap_drop, privileged=cfg.privileged, security_opt=cfg.security_opt, readonly_rootfs=cfg.read_only,
        auto_remove=cfg.autoremove, log_config=log_config(cfg, log_defaults or {}), cpu_quota=cpu_quota,
        cpu_period=cpu_period, tmpfs=tmpfs(cfg), extra_hosts=tuple(parse_extra_host(h) for h in cfg.extra_hosts),
        publish_all_ports=cfg.publish_all, isolation=cfg.isolation)
    config = ProcessConfig(
        image=cfg.image, cmd=cmd, entrypoint=entrypoint or None, env=env,
        working_dir=cfg.workdir or image.config.get("WorkingDir") or "",
        user=cfg.user or image.config.get("User") or "", hostname=cfg.hostname or cid[:12],
        labels={**(image.config.get("Labels") or {}), **cfg.labels},
        stop_signal=parse_signal(cfg.stop_signal) if cfg.stop_signal else image.config.get("StopSignal") or "SIGTERM",
        open_stdin=cfg.open_stdin, stdin_once=cfg.stdin_once and cfg.open_stdin, tty=cfg.tty,
        healthcheck=healthcheck(cfg, image.config), stop_timeout=cfg.stop_timeout, exposed_ports=exposed,
        attach=tuple(s for s in ("stdin", "stdout", "stderr") if s in cfg.attach))
    return ContainerRecord(cid, name, created, image.id, argv[0], argv[1:], config, host, security(cfg),
                           mounts(cfg, volumes_root), endpoints)


def new_id() -> str:
    return os.urandom(32).hex()
