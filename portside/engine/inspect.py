"""``inspect`` output: docker's field names and shape, so scripts written against ``docker inspect`` and clients of
the Docker API read it unchanged.

The one place the engine's typed record becomes docker's JSON (``ps``, the CLI and the Docker API read this).
Fields portside has no notion of (blkio weights, realtime CPU, SELinux labels) are rendered with the values dockerd
gives a container that does not set them, so the shape is dockerd's field for field.
"""

from __future__ import annotations

from portside.engine.model import ContainerRecord, ContainerState, Endpoint, NetworkState, PortBinding
from portside.engine.records import Paths
from portside.runtime import spec

DRIVER = "overlay"


def inspect(record: ContainerRecord, state: ContainerState, paths: Paths | None = None) -> dict:
    """``paths``: where the container's files are (its /etc files, log and layers); empty paths without."""
    running = state.status in ("running", "paused")
    net = state.network if running else None
    files = _files(record, state, paths)
    return {
        "Id": record.id, "Created": record.created, "Path": record.path, "Args": record.args,
        "State": _state(state), "Image": record.image, **files,
        "Name": "/" + record.name, "RestartCount": state.restart_count, "Driver": DRIVER, "Platform": "linux",
        "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": None,
        "HostConfig": host_config(record),
        "GraphDriver": _graph_driver(paths),
        "Mounts": mounts(record),
        "Config": config(record),
        "NetworkSettings": {
            "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0, "Ports": _ports(record, net),
            "SandboxKey": "", "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPv6Gateway": "",
            **_first_network(net if record.host.bridged else None),
            "Networks": networks(record, state),
        },
    }


def _state(state: ContainerState) -> dict:
    """docker's State: a paused container is still Running, as in dockerd."""
    running = state.status in ("running", "paused")
    return {"Status": state.status, "Running": running or state.status == "restarting",
            "Paused": state.status == "paused", "Restarting": state.status == "restarting",
            "OOMKilled": state.oom_killed, "Dead": False, "Pid": state.pid if running else 0,
            "ExitCode": state.exit_code, "Error": state.error, "StartedAt": state.started_at,
            "FinishedAt": state.finished_at,
            **({"Health": state.health.to_json()} if state.health is not None else {})}


def _files(record: ContainerRecord, state: ContainerState, paths: Paths | None) -> dict:
    """The container's /etc files exist once it has started (docker's are empty strings before too)."""
    started = paths is not None and state.started_at != "0001-01-01T00:00:00Z"
    where = paths.dir if paths is not None else None
    return {"ResolvConfPath": str(where / "resolv.conf") if started and record.host.network_mode != "none" else "",
            "HostnamePath": str(where / "hostname") if started else "",
            "HostsPath": str(where / "hosts") if started else "",
            "LogPath": str(paths.log) if started else ""}


def _graph_driver(paths: Paths | None) -> dict:
    if paths is None:
        return {"Data": None, "Name": DRIVER}
    return {"Data": {"MergedDir": str(paths.rootfs), "UpperDir": str(paths.dir / "upper"),
                     "WorkDir": str(paths.dir / "work")}, "Name": DRIVER}


def config(record: ContainerRecord) -> dict:
    """docker's Config: what the record keeps, with the fields it leaves out at dockerd's defaults."""
    c = record.config
    out = {"Hostname": c.hostname, "Domainname": "", "User": c.user,
           "AttachStdin": "stdin" in c.attach, "AttachStdout": "stdout" in c.attach,
           "AttachStderr": "stderr" in c.attach,
           **({"ExposedPorts": {p: {} for p in c.exposed_ports}} if c.exposed_ports else {}),
           "Tty": c.tty, "OpenStdin": c.open_stdin, "StdinOnce": c.stdin_once, "Env": c.env, "Cmd": c.cmd,
           **({"Healthcheck": c.healthcheck.to_json()} if c.healthcheck is not None else {}),
           "Image": c.image, "Volumes": None, "WorkingDir": c.working_dir, "Entrypoint": c.entrypoint,
           "OnBuild": None, "Labels": c.labels}
    if c.stop_signal != "SIGTERM":  # dockerd shows one only when the image or the caller named it
        out["StopSignal"] = c.stop_signal
    if c.stop_timeout is not None:
        out["StopTimeout"] = c.stop_timeout
    return out


def host_config(record: ContainerRecord) -> dict:
    """docker's HostConfig, field for field as dockerd renders it."""
    h = record.host
    return {
        "Binds": list(h.binds) or None, "ContainerIDFile": "", "LogConfig": h.log_config.to_json(),
        "NetworkMode": h.network_mode, "PortBindings": port_bindings(h.port_bindings),
        "RestartPolicy": {"Name": h.restart.name, "MaximumRetryCount": h.restart.max_retries},
        "AutoRemove": h.auto_remove, "VolumeDriver": "", "VolumesFrom": None,
        "CapAdd": list(h.cap_add) or None, "CapDrop": list(h.cap_drop) or None, "CgroupnsMode": "host",
        "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": list(h.extra_hosts) or None, "GroupAdd": None,
        "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "",
        "Privileged": h.privileged, "PublishAllPorts": h.publish_all_ports, "ReadonlyRootfs": h.readonly_rootfs,
        "SecurityOpt": list(h.security_opt) or None, **({"Tmpfs": dict(h.tmpfs)} if h.tmpfs else {}),
        "UTSMode": "", "UsernsMode": "", "ShmSize": 64 << 20, "Runtime": "runc", "ConsoleSize": [0, 0],
        "Isolation": h.isolation, "CpuShares": h.cpu_shares, "Memory": h.memory, "NanoCpus": h.nano_cpus,
        "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": None,
        "BlkioDeviceWriteBps": None, "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None,
        "CpuPeriod": h.cpu_period, "CpuQuota": h.cpu_quota, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
        "CpusetCpus": "", "CpusetMems": "", "Devices": [], "DeviceCgroupRules": None, "DeviceRequests": None,
        "KernelMemory": 0, "KernelMemoryTCP": 0, "MemoryReservation": 0, "MemorySwap": 0,
        "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": h.pids_limit or None, "Ulimits": None,
        "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
        "MaskedPaths": None if h.privileged else list(spec.MASKED_PATHS),
        "ReadonlyPaths": None if h.privileged else list(spec.READONLY_PATHS),
    }


def port_bindings(bindings: tuple[PortBinding, ...]) -> dict:
    """HostConfig.PortBindings as asked: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} ("" for any port)."""
    out: dict[str, list[dict]] = {}
    for b in bindings:
        out.setdefault(f"{b.container_port}/{b.protocol}", []).append(
            {"HostIp": "" if b.host_ip == "0.0.0.0" else b.host_ip, "HostPort": str(b.host_port or "")})
    return out


def mounts(record: ContainerRecord) -> list[dict]:
    """docker's mount points: binds with their propagation, named volumes with their driver."""
    out = []
    for m in record.mounts:
        if m.type == "volume":
            out.append({"Type": "volume", "Name": m.name, "Source": m.source, "Destination": m.destination,
                        "Driver": "local", "Mode": "z" if m.rw else "ro", "RW": m.rw, "Propagation": ""})
        else:
            out.append({"Type": "bind", "Source": m.source, "Destination": m.destination,
                        "Mode": "" if m.rw else "ro", "RW": m.rw, "Propagation": "rprivate"})
    return out


def _first_network(net: NetworkState | None) -> dict:
    """docker's top-level address fields: the default bridge's only (empty on user networks, as docker's)."""
    return {"Gateway": net.gateway if net else "", "IPAddress": net.ip if net else "",
            "IPPrefixLen": net.prefixlen if net else 0, "MacAddress": net.mac if net else ""}


def networks(record: ContainerRecord, state: ContainerState) -> dict:
    """docker's ``NetworkSettings.Networks``: each network with the container's address on it while it runs
    (its configured networks, with empty addresses, while it does not)."""
    running = state.status in ("running", "paused")
    out: dict[str, dict] = {}
    mode = record.host.network_mode
    if mode in ("bridge", "host", "none"):
        out[mode] = {"IPAMConfig": None, "Links": None, "Aliases": None, "NetworkID": "", "EndpointID": "",
                     **_first_network(state.network if running and mode == "bridge" else None),
                     **_no_ipv6(), "DriverOpts": None, "DNSNames": None}
    live = {e.network_id: e for e in state.endpoints} if running else {}
    for wanted in record.networks:
        e = live.pop(wanted.network_id, None)
        out[wanted.network] = _endpoint(wanted.network_id, wanted.aliases, wanted.ipv4, e)
    for e in live.values():  # connected while it ran and since disconnected from the record: still there
        out[e.network] = _endpoint(e.network_id, e.aliases, "", e)
    return out


def _no_ipv6() -> dict:
    return {"IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0}


def _endpoint(network_id: str, aliases: tuple[str, ...], ipv4: str, e: Endpoint | None) -> dict:
    return {"IPAMConfig": {"IPv4Address": ipv4} if ipv4 else None, "Links": None, "Aliases": list(aliases) or None,
            "NetworkID": network_id, "EndpointID": f"{network_id[:32]}{e.mac.replace(':', '')}" if e else "",
            "Gateway": e.gateway if e else "", "IPAddress": e.ip if e else "",
            "IPPrefixLen": e.prefixlen if e else 0, **_no_ipv6(), "MacAddress": e.mac if e else "",
            "DriverOpts": None, "DNSNames": list(e.names) if e else None}


def _ports(record: ContainerRecord, net: NetworkState | None) -> dict:
    """While it runs on a network that has ports: the published ones, and each other exposed port as null."""
    if net is None or record.host.network_mode in ("none", "host") or record.host.network_mode.startswith("ns:"):
        return {}
    return ports(net.ports, record.config.exposed_ports)


def ports(bindings: tuple[PortBinding, ...], exposed: tuple[str, ...] = ()) -> dict:
    """Docker's shape: {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18080"}], "9000/tcp": null}."""
    out: dict[str, list[dict] | None] = {port: None for port in exposed}
    for b in bindings:
        out[f"{b.container_port}/{b.protocol}"] = (out.get(f"{b.container_port}/{b.protocol}") or []) + [
            {"HostIp": b.host_ip or "0.0.0.0", "HostPort": str(b.host_port)}]
    return out
