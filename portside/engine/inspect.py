"""``inspect`` output: docker's field names, so scripts written against ``docker inspect`` read it unchanged."""

from __future__ import annotations

ZERO_TIME = "0001-01-01T00:00:00Z"


def inspect(record: dict, state: dict) -> dict:
    status = state.get("Status", "created")
    net = state.get("Network", {}) if status == "running" else {}
    return {
        "Id": record["Id"], "Name": "/" + record["Name"], "Created": record["Created"], "Image": record["Image"],
        "Path": record["Path"], "Args": record["Args"],
        "State": {
            "Status": status, "Running": status == "running", "Paused": False,
            "Restarting": status == "restarting", "OOMKilled": state.get("OOMKilled", False), "Dead": False,
            "Pid": state.get("Pid", 0) if status == "running" else 0, "ExitCode": state.get("ExitCode", 0),
            "Error": state.get("Error", ""), "StartedAt": state.get("StartedAt", ZERO_TIME),
            "FinishedAt": state.get("FinishedAt", ZERO_TIME),
        },
        "RestartCount": state.get("RestartCount", 0),
        "Config": record["Config"], "HostConfig": record["HostConfig"],
        "Mounts": record["Mounts"],
        "NetworkSettings": {
            "IPAddress": net.get("IPAddress", ""), "Gateway": net.get("Gateway", ""),
            "IPPrefixLen": net.get("IPPrefixLen", 0), "MacAddress": net.get("MacAddress", ""),
            "Ports": ports(net.get("Ports", [])),
        },
    }


def ports(mappings: list[dict]) -> dict:
    """Docker's shape: {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18080"}]}."""
    out: dict[str, list[dict]] = {}
    for m in mappings:
        out.setdefault(f"{m['ContainerPort']}/{m['Protocol']}", []).append(
            {"HostIp": m["HostIp"] or "0.0.0.0", "HostPort": str(m["HostPort"])})
    return out
