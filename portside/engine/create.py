"""From a ``ContainerConfig`` and an image to the container's record: every check happens here, before anything
is written, so bad input leaves nothing behind.

The record uses docker's inspect field names (``Config``, ``HostConfig``, ``Mounts``), so ``inspect`` is mostly the
record itself plus the live state.
"""

from __future__ import annotations

import os
from pathlib import Path

from portside.engine.config import ContainerConfig, check_name, check_network, parse_restart, parse_volume
from portside.runtime import spec
from portside.runtime.errors import InvalidArgument


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


def security(cfg: ContainerConfig) -> dict:
    """Validate --security-opt, --cap-add/--cap-drop now; the profile itself is loaded at each start."""
    for cap in cfg.cap_add + cfg.cap_drop:
        spec.normalize_cap(cap)
    out = {"seccomp": "default", "no_new_privileges": False}
    for opt in cfg.security_opt:
        key, eq, value = opt.partition("=")
        if not eq:  # docker also takes "no-new-privileges:true"
            key, eq, value = opt.partition(":")
        if key == "no-new-privileges" and value in ("", "true", "false"):
            out["no_new_privileges"] = value != "false"
        elif key == "seccomp" and eq and value:
            out["seccomp"] = value if value == "unconfined" else _profile_path(value)
        else:
            raise InvalidArgument(f"invalid --security-opt {opt!r}: expected seccomp=unconfined, seccomp=FILE "
                                  "or no-new-privileges")
    return out


def _profile_path(value: str) -> str:
    from portside.runtime.seccomp import load_profile

    path = Path(value).resolve()
    load_profile(path)  # refuse a bad profile at create time, naming the file and field
    return str(path)


def port_bindings(cfg: ContainerConfig) -> list[dict]:
    if not cfg.publish:
        return []
    if cfg.network != "bridge":
        raise InvalidArgument(f"-p cannot be used with --network {cfg.network}: ports are published only "
                              "on the bridge network")
    from portside.runtime.network import parse_publish

    return [{"HostIp": m.host_ip, "HostPort": m.host_port, "ContainerPort": m.container_port,
             "Protocol": m.protocol} for p in cfg.publish for m in parse_publish(p)]


def mounts(cfg: ContainerConfig, volumes_root: Path) -> list[dict]:
    out = []
    for text in cfg.volumes:
        vol = parse_volume(text)
        source = vol.source or str(volumes_root / vol.name / "_data")
        out.append({"Type": "volume" if vol.name else "bind", "Name": vol.name, "Source": source,
                    "Destination": vol.destination, "RW": not vol.read_only})
    return out


def build_record(cid: str, name: str, created: str, cfg: ContainerConfig, image, volumes_root: Path) -> dict:
    """The whole container.json; raises InvalidArgument naming the flag for anything malformed."""
    check_network(cfg.network)
    check_name(name)
    restart, retries = parse_restart(cfg.restart)
    if restart != "no" and cfg.autoremove:
        raise InvalidArgument("conflicting options: --restart and --rm")
    if cfg.workdir and not cfg.workdir.startswith("/"):
        raise InvalidArgument(f"invalid -w value {cfg.workdir!r}: the working directory must be absolute")
    entrypoint, cmd = command(cfg, image.config)
    argv = entrypoint + cmd
    env = spec.default_env(image.config.get("Env") or [], [e for e in cfg.env if e])
    host = {
        "Memory": cfg.memory or 0, "NanoCpus": int(round((cfg.cpus or 0) * 1e9)), "CpuShares": cfg.cpu_shares or 0,
        "PidsLimit": cfg.pids_limit or 0, "RestartPolicy": {"Name": restart, "MaximumRetryCount": retries},
        "NetworkMode": cfg.network, "PortBindings": port_bindings(cfg), "Binds": list(cfg.volumes),
        "CapAdd": list(cfg.cap_add), "CapDrop": list(cfg.cap_drop), "Privileged": cfg.privileged,
        "SecurityOpt": list(cfg.security_opt), "ReadonlyRootfs": cfg.read_only, "AutoRemove": cfg.autoremove,
    }
    return {
        "Id": cid, "Name": name, "Created": created, "Image": image.id, "Path": argv[0], "Args": argv[1:],
        "Config": {
            "Image": cfg.image, "Cmd": cmd, "Entrypoint": entrypoint or None, "Env": env,
            "WorkingDir": cfg.workdir or image.config.get("WorkingDir") or "",
            "User": cfg.user or image.config.get("User") or "", "Hostname": cfg.hostname or cid[:12],
            "Labels": {**(image.config.get("Labels") or {}), **cfg.labels},
            "StopSignal": image.config.get("StopSignal") or "SIGTERM",
        },
        "HostConfig": host, "Security": security(cfg), "Mounts": mounts(cfg, volumes_root),
    }


def new_id() -> str:
    return os.urandom(32).hex()
