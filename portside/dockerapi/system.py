"""``/_ping``, ``/version`` and ``/info``: what a client reads first, to negotiate its API version and learn what
kind of engine it talks to."""

from __future__ import annotations

import os
import platform
import socket

from aiohttp import web

from portside import __version__
from portside.dockerapi.backend import backend
from portside.dockerapi.params import reply
from portside.dockerapi.routing import API_VERSION, MIN_API_VERSION, Routes

routes = Routes()

PING_HEADERS = {"API-Version": API_VERSION, "Builder-Version": "1", "Docker-Experimental": "false",
                "OSType": "linux", "Swarm": "inactive", "Cache-Control": "no-cache, no-store, must-revalidate",
                "Pragma": "no-cache"}


@routes.get("/_ping")
async def ping(request: web.Request) -> web.Response:
    return web.Response(text="OK", headers=PING_HEADERS)


@routes.get("/version")
async def version(request: web.Request) -> web.Response:
    uname = os.uname()
    details = {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": _arch(),
               "KernelVersion": uname.release, "GitCommit": "", "GoVersion": f"python{platform.python_version()}",
               "BuildTime": ""}
    return reply({"Platform": {"Name": f"portside {__version__}"},
                  "Components": [{"Name": "Engine", "Version": __version__, "Details": details}],
                  "Version": __version__, **details})


def _arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


@routes.get("/info")
async def info(request: web.Request) -> web.Response:
    engine = backend(request).engine
    containers = await backend(request).call(engine.containers, all=True)
    images = await backend(request).call(engine.images.list)
    statuses = [c.state.status for c in containers]
    uname = os.uname()
    return reply({
        "ID": _engine_id(engine.root), "Name": socket.gethostname(),
        "Containers": len(containers), "ContainersRunning": statuses.count("running"),
        "ContainersPaused": statuses.count("paused"),
        "ContainersStopped": len(statuses) - statuses.count("running") - statuses.count("paused"),
        "Images": len(images), "Driver": "overlay", "DriverStatus": [],
        "DockerRootDir": str(engine.root), "SystemTime": _now(), "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs", "CgroupVersion": "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        else "1", "NEventsListener": 0, "KernelVersion": uname.release, "OperatingSystem": _os_name(),
        "OSType": "linux", "OSVersion": "", "Architecture": uname.machine, "NCPU": os.cpu_count() or 1,
        "MemTotal": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "IndexServerAddress": "",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": ["127.0.0.0/8"], "Mirrors": []},
        "ServerVersion": __version__, "Runtimes": {"runc": {"path": "runc"}}, "DefaultRuntime": "runc",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                  "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "", "SecurityOptions": ["name=seccomp,profile=builtin",
                                                                                           "name=cgroupns"],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": None,
                    "Log": ["json-file"]},
        "MemoryLimit": True, "SwapLimit": False, "CpuCfsPeriod": True, "CpuCfsQuota": True, "CPUShares": True,
        "PidsLimit": True, "IPv4Forwarding": True, "Debug": False, "Labels": [], "ExperimentalBuild": False,
        "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Warnings": []})


def _engine_id(root) -> str:
    """A stable id per engine root (docker's is a key fingerprint; clients only compare it)."""
    import hashlib

    return hashlib.sha256(str(root).encode()).hexdigest()[:48].upper()


def _now() -> str:
    from portside.runtime.logfile import rfc3339

    return rfc3339()


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        return fields.get("PRETTY_NAME", "Linux").strip('"')
    except OSError:
        return "Linux"
