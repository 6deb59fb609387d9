"""Docker's container create body (``Config`` at the top, ``HostConfig``, ``NetworkingConfig``) as the engine's
``ContainerConfig``.

Every field the engine implements is translated; every field it cannot honour is refused with a 400 naming it,
when the client set it to anything but its zero value (clients send many fields at their zero value, and those
ask for nothing). Nothing a client asked for is dropped in silence: a value the kernel here cannot apply (a swap
limit) comes back as one of docker's ``Warnings``.
"""

from __future__ import annotations

import os

from portside.dockerapi.errors import bad_parameter
from portside.engine.config import (
    DOCKER_LOG_DRIVERS,
    MIN_MEMORY,
    ContainerConfig,
    check_isolation,
    check_log_driver,
    check_tmpfs,
    log_limits,
    parse_restart,
)

# HostConfig fields the engine has no notion of: refused unless at their zero value
UNSUPPORTED_HOST = {
    "Devices": "devices cannot be passed into containers",
    "DeviceRequests": "device requests (GPUs) are not supported",
    "DeviceCgroupRules": "device cgroup rules are not supported",
    "Links": "legacy container links are not supported; put the containers on a user-defined network",
    "VolumesFrom": "volumes-from is not supported; name the volumes instead",
    "Dns": "per-container DNS servers are not supported",
    "DnsOptions": "per-container DNS options are not supported",
    "DnsSearch": "per-container DNS search domains are not supported",
    "GroupAdd": "additional groups are not supported",
    "Sysctls": "sysctls are not supported",
    "Ulimits": "ulimits are not supported",
    "CpusetCpus": "CPU sets are not supported",
    "CpusetMems": "memory node sets are not supported",
    "CpuCount": "CPU counts are a Windows option",
    "CpuPercent": "CPU percent is a Windows option",
    "CpuRealtimePeriod": "realtime CPU scheduling is not supported",
    "CpuRealtimeRuntime": "realtime CPU scheduling is not supported",
    "BlkioWeight": "block IO weights are not supported",
    "BlkioWeightDevice": "block IO weights are not supported",
    "BlkioDeviceReadBps": "block IO limits are not supported",
    "BlkioDeviceWriteBps": "block IO limits are not supported",
    "BlkioDeviceReadIOps": "block IO limits are not supported",
    "BlkioDeviceWriteIOps": "block IO limits are not supported",
    "IOMaximumIOps": "IO limits are a Windows option",
    "IOMaximumBandwidth": "IO limits are a Windows option",
    "KernelMemory": "kernel memory limits are not supported",
    "KernelMemoryTCP": "kernel memory limits are not supported",
    "MemoryReservation": "memory reservations (soft limits) are not supported",
    "OomKillDisable": "disabling the OOM killer is not supported",
    "OomScoreAdj": "OOM score adjustments are not supported",
    "CgroupParent": "the cgroup parent is the engine's (cgroup_parent in engine.json)",
    "ShmSize": "the /dev/shm size is fixed at 64 MiB",
    "StorageOpt": "storage options are not supported",
    "Init": "an init process in the container is not supported",
    "Capabilities": "the capability set is given by CapAdd and CapDrop",
    "MaskedPaths": "masked paths are docker's defaults and cannot be changed",
    "ReadonlyPaths": "read-only paths are docker's defaults and cannot be changed",
    "Annotations": "annotations are not supported",
    "Cgroup": "joining another cgroup is not supported",
    "VolumeDriver": "only the local volume driver is supported",
}
# modes whose only accepted values are their defaults
HOST_MODES = {"IpcMode": ("", "private"), "PidMode": ("",), "UTSMode": ("",), "UsernsMode": ("",),
              "CgroupnsMode": ("", "host"), "Runtime": ("", "runc")}
UNSUPPORTED_CONFIG = {"Domainname": "domain names are not supported", "MacAddress": "MAC addresses are assigned "
                      "by the engine"}
SHM_DEFAULT = 64 << 20


class Created:
    """The engine's config, the user networks to connect after create (beyond the first), the warnings, and the
    anonymous volumes to make first (names the body's mounts were given)."""

    def __init__(self, config: ContainerConfig, connect: list[tuple[str, list[str], str]], warnings: list[str],
                 anonymous: list[str]):
        self.config, self.connect, self.warnings, self.anonymous = config, connect, warnings, anonymous


def parse(body: dict, name: str, allow_privileged: bool, platform: str = "") -> Created:
    """The whole body; an ApiError (400) naming the field for the first thing that is wrong or unsupported."""
    check_platform(platform)
    host = _object(body.get("HostConfig"), "HostConfig")
    _refuse_unsupported(body, host)
    image = body.get("Image")
    if not isinstance(image, str) or not image:
        raise bad_parameter("Config.Image: an image is required")
    if _bool(host, "Privileged", "HostConfig") and not allow_privileged:
        raise bad_parameter("HostConfig.Privileged: privileged containers are refused by this engine's Docker API "
                            "(they get every capability, no seccomp filter and no masked paths); set "
                            '"allow_privileged": true in the engine root\'s engine.json to allow them')
    warnings: list[str] = []
    anonymous: list[str] = []
    network, (aliases, address), connect = networking(body, host)
    config = ContainerConfig(image=image, name=name, network=network, network_aliases=aliases, ip=address,
                             **_process(body), **_resources(host, warnings), **_host(body, host, network, anonymous))
    return Created(config, connect, warnings, anonymous)


def _process(body: dict) -> dict:
    """The process and its streams (docker's Config)."""
    from portside.engine.config import parse_signal

    stop_signal = _str(body, "StopSignal", "Config")
    if stop_signal:
        _checked("Config.StopSignal", parse_signal, stop_signal, "stop signal")
    return {"cmd": _strings(body, "Cmd", "Config", allow_str=True, none=True),
            "entrypoint": _strings(body, "Entrypoint", "Config", allow_str=True, none=True),
            "env": _env(body), "workdir": _str(body, "WorkingDir", "Config"), "user": _str(body, "User", "Config"),
            "hostname": _str(body, "Hostname", "Config"), "labels": _labels(body),
            "open_stdin": _bool(body, "OpenStdin", "Config"), "stdin_once": _bool(body, "StdinOnce", "Config"),
            "tty": _bool(body, "Tty", "Config"), "healthcheck": healthcheck(body), "stop_signal": stop_signal,
            "stop_timeout": _int(body, "StopTimeout", "Config", minimum=-1),
            "attach": [s for s in ("stdin", "stdout", "stderr") if _bool(body, "Attach" + s.capitalize(), "Config")]}


def _resources(host: dict, warnings: list[str]) -> dict:
    """Memory, CPU and pids limits (docker's HostConfig resources)."""
    return {"memory": _memory(host, warnings), "cpus": _nano_cpus(host),
            "cpu_shares": _int(host, "CpuShares", "HostConfig", minimum=0) or None, "pids_limit": _pids(host),
            "cpu_quota": _int(host, "CpuQuota", "HostConfig", minimum=-1) or None,
            "cpu_period": _int(host, "CpuPeriod", "HostConfig", minimum=0) or None}


def _host(body: dict, host: dict, network: str, anonymous: list[str]) -> dict:
    """Ports, mounts, privileges, restart policy and logging (the rest of HostConfig); the names given to
    anonymous volumes are added to ``anonymous``."""
    from portside.engine.config import parse_extra_host, parse_port
    from portside.runtime.spec import normalize_cap

    publish = port_bindings(host)
    if publish and network in ("none", "host"):
        raise bad_parameter(f"HostConfig.PortBindings: ports cannot be published with NetworkMode {network!r} "
                            "(only on the bridge network and user-defined networks)")
    cap_add, cap_drop = _strings(host, "CapAdd", "HostConfig"), _strings(host, "CapDrop", "HostConfig")
    for field, caps in (("HostConfig.CapAdd", cap_add), ("HostConfig.CapDrop", cap_drop)):
        for cap in caps:
            _checked(field, normalize_cap, cap)
    extra_hosts = _strings(host, "ExtraHosts", "HostConfig")
    for item in extra_hosts:
        _checked("HostConfig.ExtraHosts", parse_extra_host, item)
    expose = list(_object(body.get("ExposedPorts"), "Config.ExposedPorts"))
    for port in expose:
        _checked("Config.ExposedPorts", parse_port, port, "port")
    volumes, tmpfs = mounts(body, host, anonymous)
    log_driver, log_opts = log_config(host)
    return {"publish": publish, "volumes": volumes, "tmpfs": tmpfs, "restart": restart_policy(host),
            "cap_add": cap_add, "cap_drop": cap_drop, "privileged": _bool(host, "Privileged", "HostConfig"),
            "security_opt": _strings(host, "SecurityOpt", "HostConfig"),
            "read_only": _bool(host, "ReadonlyRootfs", "HostConfig"),
            "autoremove": _bool(host, "AutoRemove", "HostConfig"), "log_driver": log_driver, "log_opts": log_opts,
            "extra_hosts": extra_hosts, "expose": expose,
            "publish_all": _bool(host, "PublishAllPorts", "HostConfig"),
            "isolation": _checked("HostConfig.Isolation", check_isolation, _str(host, "Isolation", "HostConfig"))}


def check_platform(platform: str) -> None:
    """``platform`` (``os[/arch[/variant]]``): containers run natively only, on this machine's."""
    if not platform:
        return
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    parts = platform.lower().split("/")
    if parts[0] != "linux" or (len(parts) > 1 and parts[1] != arch):
        raise bad_parameter(f"platform: {platform!r} cannot run here: containers run natively, as linux/{arch}")


# -- the checks of one field ----------------------------------------------------------------------------------

def _zero(value) -> bool:
    return value in (None, "", 0, False, [], {}) or value == [0, 0]


def _refuse_unsupported(body: dict, host: dict) -> None:
    for key, why in UNSUPPORTED_HOST.items():
        value = host.get(key)
        if key == "ShmSize" and value == SHM_DEFAULT:
            continue
        if not _zero(value) and not (key in ("KernelMemory", "MemoryReservation") and value == -1):
            raise bad_parameter(f"HostConfig.{key}: {why}")
    for key, allowed in HOST_MODES.items():
        value = host.get(key) or ""
        if value not in allowed:
            raise bad_parameter(f"HostConfig.{key}: {value!r} is not supported (expected "
                                f"{' or '.join(repr(a) for a in allowed if a) or 'none'})")
    for key, why in UNSUPPORTED_CONFIG.items():
        if not _zero(body.get(key)):
            raise bad_parameter(f"Config.{key}: {why}")


def _object(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_parameter(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _str(d: dict, key: str, where: str) -> str:
    value = d.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_parameter(f"{where}.{key}: expected a string, got {type(value).__name__}")
    return value


def _bool(d: dict, key: str, where: str) -> bool:
    value = d.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_parameter(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _int(d: dict, key: str, where: str, minimum: int | None = None) -> int | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_parameter(f"{where}.{key}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise bad_parameter(f"{where}.{key}: must be at least {minimum}, got {value}")
    return value


def _strings(d: dict, key: str, where: str, allow_str: bool = False, none: bool = False) -> list[str] | None:
    """A list of strings (docker's strslice also takes one string); None when absent and ``none``."""
    value = d.get(key)
    if value is None:
        return None if none else []
    if allow_str and isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_parameter(f"{where}.{key}: expected a list of strings")
    return value


def _env(body: dict) -> list[str]:
    env = _strings(body, "Env", "Config") or []
    for item in env:  # a bare KEY is kept as given: it unsets KEY in the container (as dockerd)
        if not item.partition("=")[0]:
            raise bad_parameter(f"Config.Env: {item!r} has no variable name (expected KEY=VALUE or KEY)")
    return env


def _labels(body: dict) -> dict[str, str]:
    labels = _object(body.get("Labels"), "Config.Labels")
    if not all(isinstance(v, str) for v in labels.values()):
        raise bad_parameter("Config.Labels: expected an object of string values")
    return labels


def _memory(host: dict, warnings: list[str]) -> int | None:
    memory = _int(host, "Memory", "HostConfig", minimum=0)
    if memory and memory < MIN_MEMORY:
        raise bad_parameter(f"HostConfig.Memory: the minimum memory limit allowed is 6MB ({MIN_MEMORY} bytes), got "
                            f"{memory}")
    swap = _int(host, "MemorySwap", "HostConfig", minimum=-1)
    if swap not in (None, 0, -1):
        if not memory:
            raise bad_parameter("HostConfig.MemorySwap: a swap limit needs a memory limit (HostConfig.Memory)")
        if swap < memory:
            raise bad_parameter("HostConfig.MemorySwap: must be at least HostConfig.Memory (memory plus swap)")
        warnings.append("Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
                        "Memory limited without swap.")
    swappiness = host.get("MemorySwappiness")
    if swappiness not in (None, -1):
        raise bad_parameter("HostConfig.MemorySwappiness: setting swappiness is not supported")
    return memory or None


def _nano_cpus(host: dict) -> float | None:
    nano = _int(host, "NanoCpus", "HostConfig", minimum=0)
    if not nano:
        return None
    ncpu = os.cpu_count() or 1
    if not 10_000_000 <= nano <= ncpu * 1_000_000_000:
        raise bad_parameter(f"HostConfig.NanoCpus: the range of CPUs is from 0.01 to {ncpu:.2f}, as there are only "
                            f"{ncpu} CPUs available")
    return nano / 1e9


def _pids(host: dict) -> int | None:
    pids = _int(host, "PidsLimit", "HostConfig")
    return pids if pids and pids > 0 else None


def restart_policy(host: dict) -> str:
    policy = _object(host.get("RestartPolicy"), "HostConfig.RestartPolicy")
    name = policy.get("Name") or "no"
    retries = _int(policy, "MaximumRetryCount", "HostConfig.RestartPolicy", minimum=0) or 0
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise bad_parameter(f"HostConfig.RestartPolicy.Name: invalid restart policy {name!r} (expected no, always, "
                            "unless-stopped or on-failure)")
    if retries and name != "on-failure":
        raise bad_parameter(f"HostConfig.RestartPolicy.MaximumRetryCount: maximum retry count cannot be used with "
                            f"restart policy {name!r}")
    if name != "no" and _bool(host, "AutoRemove", "HostConfig"):
        raise bad_parameter("HostConfig.AutoRemove: can't create 'AutoRemove' container with restart policy")
    text = f"{name}:{retries}" if retries else name
    parse_restart(text)
    return text


def log_config(host: dict) -> tuple[str, dict[str, str]]:
    """The driver ("" is json-file) and its options, checked by the engine's rules (dockerd's words for a driver
    it does not know either) before anything is made for the container."""
    log = _object(host.get("LogConfig"), "HostConfig.LogConfig")
    driver = log.get("Type") or "json-file"
    if not isinstance(driver, str):
        raise bad_parameter("HostConfig.LogConfig.Type: expected a string")
    opts = _object(log.get("Config"), "HostConfig.LogConfig.Config")
    for key, value in opts.items():
        if not isinstance(value, str):
            raise bad_parameter(f"HostConfig.LogConfig.Config.{key}: expected a string")
    if driver not in DOCKER_LOG_DRIVERS:
        check_log_driver(driver)  # dockerd's own words, as they are: docker's clients look for them
    _checked("HostConfig.LogConfig.Type", check_log_driver, driver)
    _checked("HostConfig.LogConfig.Config", log_limits, driver, opts)
    return driver, dict(opts)


def healthcheck(body: dict) -> dict | None:
    check = body.get("Healthcheck")
    if check is None:
        return None
    check = _object(check, "Config.Healthcheck")
    test = check.get("Test")
    if test is not None and (not isinstance(test, list) or not all(isinstance(t, str) for t in test)):
        raise bad_parameter("Config.Healthcheck.Test: expected a list of strings, e.g. [\"CMD-SHELL\", \"curl -f "
                            "http://localhost/\"]")
    for key in ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
        _int(check, key, "Config.Healthcheck", minimum=0)
    known = {"Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"}
    return {k: v for k, v in check.items() if k in known and v is not None} or None


def port_bindings(host: dict) -> list[str]:
    """``{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`` as ``-p`` values (an empty HostPort: any free port)."""
    out = []
    for port, bindings in _object(host.get("PortBindings"), "HostConfig.PortBindings").items():
        number, _, proto = port.partition("/")
        if bindings is not None and not isinstance(bindings, list):
            raise bad_parameter(f"HostConfig.PortBindings[{port!r}]: expected a list of bindings")
        for b in bindings or ():
            b = _object(b, f"HostConfig.PortBindings[{port!r}]")
            ip, host_port = b.get("HostIp") or "", b.get("HostPort") or ""
            if ":" in ip:
                raise bad_parameter(f"HostConfig.PortBindings[{port!r}].HostIp: IPv6 addresses are not supported")
            out.append(f"{ip}:{host_port}:{number}/{proto or 'tcp'}")
    return out


def networking(body: dict, host: dict) -> tuple[str, tuple[list[str], str], list[tuple[str, list[str], str]]]:
    """(the first network, (its aliases, its address), the other networks to connect: name, aliases, address)."""
    mode = host.get("NetworkMode") or "default"
    if body.get("NetworkDisabled"):
        mode = "none"
    if mode == "default":
        mode = "bridge"
    if mode.startswith("container:"):
        raise bad_parameter("HostConfig.NetworkMode: joining another container's network (container:NAME) is not "
                            "supported")
    endpoints = _object(_object(body.get("NetworkingConfig"), "NetworkingConfig").get("EndpointsConfig"),
                        "NetworkingConfig.EndpointsConfig")
    first: tuple[list[str], str] = ([], "")
    others = []
    for network, endpoint in endpoints.items():
        endpoint = _object(endpoint, f"NetworkingConfig.EndpointsConfig[{network!r}]")
        aliases, address = _endpoint(network, endpoint)
        if network == mode:
            first = (aliases, address)
        else:
            others.append((network, aliases, address))
    return mode, first, others


def _endpoint(network: str, endpoint: dict) -> tuple[list[str], str]:
    where = f"NetworkingConfig.EndpointsConfig[{network!r}]"
    if not _zero(endpoint.get("Links")):
        raise bad_parameter(f"{where}.Links: legacy links are not supported; containers on a user-defined network "
                            "reach each other by name")
    ipam = _object(endpoint.get("IPAMConfig"), f"{where}.IPAMConfig")
    if ipam.get("IPv6Address"):
        raise bad_parameter(f"{where}.IPAMConfig.IPv6Address: IPv6 addresses are not supported")
    if ipam.get("LinkLocalIPs"):
        raise bad_parameter(f"{where}.IPAMConfig.LinkLocalIPs: link-local addresses are not supported")
    if endpoint.get("DriverOpts"):
        raise bad_parameter(f"{where}.DriverOpts: endpoint driver options are not supported")
    return _strings(endpoint, "Aliases", where) or [], ipam.get("IPv4Address") or ""


# -- mounts ---------------------------------------------------------------------------------------------------

def mounts(body: dict, host: dict, anonymous: list[str]) -> tuple[list[str], dict[str, str]]:
    """Binds, Mounts and Config.Volumes as ``-v`` values, and the tmpfs mounts (HostConfig.Tmpfs and Mounts of
    type tmpfs); a Config.Volumes path nothing else mounts gets an anonymous volume, as with docker (its name,
    64 random hex digits as docker's, is added to ``anonymous``)."""
    def new_volume() -> str:
        anonymous.append(os.urandom(32).hex())
        return anonymous[-1]
    volumes = [_bind(b, new_volume) for b in _strings(host, "Binds", "HostConfig") or []]
    tmpfs = dict(_object(host.get("Tmpfs"), "HostConfig.Tmpfs"))
    for path, options in tmpfs.items():
        if not isinstance(options, str):
            raise bad_parameter(f"HostConfig.Tmpfs[{path!r}]: expected a string of mount options")
        _checked(f"HostConfig.Tmpfs[{path!r}]", check_tmpfs, path, options, "tmpfs")
    mount_list = host.get("Mounts") or []
    if not isinstance(mount_list, list):
        raise bad_parameter("HostConfig.Mounts: expected a list")
    for i, m in enumerate(mount_list):
        kind, value = _mount(_object(m, f"HostConfig.Mounts[{i}]"), i, new_volume)
        if kind == "tmpfs":
            tmpfs[value[0]] = value[1]
        else:
            volumes.append(value)
    taken = {v.split(":")[1] for v in volumes if ":" in v} | set(tmpfs)
    for path in _object(body.get("Volumes"), "Config.Volumes"):
        if os.path.normpath(path) not in {os.path.normpath(t) for t in taken}:
            volumes.append(f"{new_volume()}:{path}")
    return volumes, tmpfs


def _bind(text: str, new_volume) -> str:
    """A Binds entry as ``-v`` takes it: SELinux relabelling (z, Z) and the default propagation dropped, since
    they change nothing here; an anonymous volume (a path alone) named as docker names them."""
    parts = text.split(":")
    if len(parts) == 1:
        return f"{new_volume()}:{text}"
    if len(parts) == 3:
        modes = [o for o in parts[2].split(",") if o]
        for option in modes:
            if option not in ("ro", "rw", "z", "Z", "rprivate", "private", "nocopy"):
                raise bad_parameter(f"HostConfig.Binds: {text!r}: the mount option {option!r} is not supported "
                                    "(expected ro, rw, z, Z or rprivate)")
        return f"{parts[0]}:{parts[1]}" + (":ro" if "ro" in modes else "")
    return text


def _mount(m: dict, i: int, new_volume) -> tuple[str, object]:
    where = f"HostConfig.Mounts[{i}]"
    kind, source, target = m.get("Type") or "", m.get("Source") or "", m.get("Target") or ""
    if not target.startswith("/"):
        raise bad_parameter(f"{where}.Target: expected an absolute path in the container, got {target!r}")
    read_only = bool(m.get("ReadOnly"))
    if kind == "bind":
        propagation = (m.get("BindOptions") or {}).get("Propagation") or ""
        if propagation not in ("", "rprivate", "private"):
            raise bad_parameter(f"{where}.BindOptions.Propagation: {propagation!r} is not supported (rprivate only)")
        if not source.startswith("/"):
            raise bad_parameter(f"{where}.Source: a bind mount's source must be an absolute path, got {source!r}")
        if not os.path.exists(source):
            raise bad_parameter(f'invalid mount config for type "bind": bind source path does not exist: {source}')
        return "bind", f"{source}:{target}" + (":ro" if read_only else "")
    if kind == "volume":
        driver = ((m.get("VolumeOptions") or {}).get("DriverConfig") or {}).get("Name") or "local"
        if driver != "local":
            raise bad_parameter(f"{where}.VolumeOptions.DriverConfig.Name: only the local volume driver is "
                                f"supported, got {driver!r}")
        return "volume", f"{source or new_volume()}:{target}" + (":ro" if read_only else "")
    if kind == "tmpfs":
        if source:
            raise bad_parameter(f"{where}.Source: a tmpfs mount takes no source")
        opts = m.get("TmpfsOptions") or {}
        options = [f"size={opts['SizeBytes']}"] if opts.get("SizeBytes") else []
        options += [f"mode={opts['Mode']:o}"] if opts.get("Mode") else []
        options += ["ro"] if read_only else []
        return "tmpfs", (target, ",".join(options))
    raise bad_parameter(f"{where}.Type: {kind!r} is not supported (expected bind, volume or tmpfs)")


def _checked(field: str, check, *args):
    """``check(*args)``'s value, its refusal as a 400 that names ``field`` first."""
    from portside.runtime.errors import InvalidArgument

    try:
        return check(*args)
    except InvalidArgument as exc:
        raise bad_parameter(f"{field}: {exc}") from None
