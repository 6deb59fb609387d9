"""``inspect`` output: docker's field names, so scripts written against ``docker inspect`` read it unchanged.

The one place the engine's typed record becomes docker's JSON (``ps``, the agent and the Docker API read this).
"""

from __future__ import annotations

from portside.engine.model import ContainerRecord, ContainerState, PortBinding


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
        },
        "RestartCount": state.restart_count,
        "Config": {**saved["Config"], "OpenStdin": record.config.open_stdin, "StdinOnce": record.config.stdin_once,
                   "Tty": record.config.tty},
        "HostConfig": saved["HostConfig"], "Mounts": saved["Mounts"],
        "NetworkSettings": {
            "IPAddress": net.ip if net else "", "Gateway": net.gateway if net else "",
            "IPPrefixLen": net.prefixlen if net else 0, "MacAddress": net.mac if net else "",
            "Ports": ports(net.ports if net else ()),
        },
    }


def ports(bindings: tuple[PortBinding, ...]) -> dict:
    """Docker's shape: {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18080"}]}."""
    out: dict[str, list[dict]] = {}
    for b in bindings:
        out.setdefault(f"{b.container_port}/{b.protocol}", []).append(
            {"HostIp": b.host_ip or "0.0.0.0", "HostPort": str(b.host_port)})
    return out
