"""``inspect`` output: docker's field names, so scripts written against ``docker inspect`` read it unchanged.

The one place the engine's typed record becomes docker's JSON (``ps``, the agent and the Docker API read this).
"""

from __future__ import annotations

from portside.engine.model import ContainerRecord, ContainerState, Endpoint, NetworkState, PortBinding


def inspect(record: ContainerRecord, state: ContainerState) -> dict:
    saved = record.to_json()  # Config, HostConfig and Mounts are stored in docker's shape already
    running = state.status == "running"
    net = state.network if running else None
    return {
        "Id": record.id, "Name": "/" + record.name, "Created": record.created, "Image": record.image,
        "Path": record.path, "Args": record.args,
        "State": {
            "Status": state.status, "Running": running, "Paused": False,
            "Restarting": state.status == "restarting", "OOMKilled": state.oom_killed, "Dead": False,
            "Pid": state.pid if running else 0, "ExitCode": state.exit_code, "Error": state.error,
            "StartedAt": state.started_at, "FinishedAt": state.finished_at,
            **({"Health": state.health.to_json()} if state.health is not None else {}),
        },
        "RestartCount": state.restart_count,
        "Config": {**saved["Config"], "OpenStdin": record.config.open_stdin, "StdinOnce": record.config.stdin_once,
                   "Tty": record.config.tty},
        "HostConfig": {**saved["HostConfig"], "LogConfig": record.host.log_config.to_json()},
        "Mounts": saved["Mounts"],
        "NetworkSettings": {
            **_first_network(net if record.host.bridged else None),
            "Ports": ports(net.ports if net else ()),
            "Networks": networks(record, state),
        },
    }


def _first_network(net: NetworkState | None) -> dict:
    """docker's top-level address fields: the default bridge's only (empty on user networks, as docker's)."""
    return {"IPAddress": net.ip if net else "", "Gateway": net.gateway if net else "",
            "IPPrefixLen": net.prefixlen if net else 0, "MacAddress": net.mac if net else ""}


def networks(record: ContainerRecord, state: ContainerState) -> dict:
    """docker's ``NetworkSettings.Networks``: each network with the container's address on it while it runs
    (its configured networks, with empty addresses, while it does not)."""
    running = state.status == "running"
    out: dict[str, dict] = {}
    mode = record.host.network_mode
    if mode in ("bridge", "host", "none"):
        out[mode] = {"IPAMConfig": None, "Aliases": None, "NetworkID": "", "EndpointID": "", "DNSNames": None,
                     **_first_network(state.network if running and mode == "bridge" else None)}
    live = {e.network_id: e for e in state.endpoints} if running else {}
    for wanted in record.networks:
        e = live.pop(wanted.network_id, None)
        out[wanted.network] = _endpoint(wanted.network_id, wanted.aliases, wanted.ipv4, e)
    for e in live.values():  # connected while it ran and since disconnected from the record: still there
        out[e.network] = _endpoint(e.network_id, e.aliases, "", e)
    return out


def _endpoint(network_id: str, aliases: tuple[str, ...], ipv4: str, e: Endpoint | None) -> dict:
    return {"IPAMConfig": {"IPv4Address": ipv4} if ipv4 else None, "Aliases": list(aliases) or None,
            "NetworkID": network_id, "EndpointID": f"{network_id[:32]}{e.mac.replace(':', '')}" if e else "",
            "Gateway": e.gateway if e else "", "IPAddress": e.ip if e else "",
            "IPPrefixLen": e.prefixlen if e else 0, "MacAddress": e.mac if e else "",
            "DNSNames": list(e.names) if e else None}


def ports(bindings: tuple[PortBinding, ...]) -> dict:
    """Docker's shape: {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18080"}]}."""
    out: dict[str, list[dict]] = {}
    for b in bindings:
        out.setdefault(f"{b.container_port}/{b.protocol}", []).append(
            {"HostIp": b.host_ip or "0.0.0.0", "HostPort": str(b.host_port)})
    return out
