"""The engine's container record, typed: what was asked for (``ContainerRecord``, written once at create) and
what is happening (``ContainerState``, rewritten by the engine and the monitor).

On disk both keep the shape they always had, docker's inspect field names (``container.json``,
``state.json``), so containers created before these types existed load unchanged: ``from_json`` reads that
shape, with docker's defaults for fields an older record lacks, and ``to_json`` writes it back. Docker's JSON
for users is made in one place, ``inspect.py``; everything else in the engine reads these attributes.

Value classes (``Plain``), not dataclasses: this module is on ``portside run``'s path (see ``plain.py``).
"""

from __future__ import annotations

from portside.runtime.plain import Plain
from portside.runtime.restart import RestartPolicy

# typing itself costs the run path ~2 ms to import; type checkers treat a module's own TYPE_CHECKING alike
TYPE_CHECKING = False
if TYPE_CHECKING:  # the health types load only for a container that has a healthcheck (see ``_health``)
    from portside.runtime.health import Health, HealthConfig

ZERO_TIME = "0001-01-01T00:00:00Z"
ATTACH = ("stdin", "stdout", "stderr")
LIVE = ("running", "restarting", "paused")  # statuses with a monitor (and usually a process) behind them


class PortBinding(Plain):
    """One published port: ``host_port`` 0 asks for any free port, resolved in the running state's copy."""

    __slots__ = ("host_ip", "host_port", "container_port", "protocol")

    def __init__(self, host_ip: str, host_port: int, container_port: int, protocol: str = "tcp") -> None:
        self.host_ip, self.host_port, self.container_port, self.protocol = host_ip, host_port, container_port, protocol

    @classmethod
    def from_json(cls, d: dict) -> PortBinding:
        return cls(d.get("HostIp", ""), int(d.get("HostPort", 0)), int(d["ContainerPort"]), d.get("Protocol", "tcp"))

    def to_json(self) -> dict:
        return {"HostIp": self.host_ip, "HostPort": self.host_port, "ContainerPort": self.container_port,
                "Protocol": self.protocol}


class VolumeMount(Plain):
    """A ``-v``: a named volume (``name`` set, ``source`` under the engine's volumes) or a bind of a host path."""

    __slots__ = ("type", "name", "source", "destination", "rw")

    def __init__(self, type: str, name: str, source: str, destination: str, rw: bool = True) -> None:
        self.type, self.name, self.source, self.destination, self.rw = type, name, source, destination, rw

    @classmethod
    def from_json(cls, d: dict) -> VolumeMount:
        return cls(d.get("Type", "bind"), d.get("Name", ""), d["Source"], d["Destination"], d.get("RW", True))

    def to_json(self) -> dict:
        return {"Type": self.type, "Name": self.name, "Source": self.source, "Destination": self.destination,
                "RW": self.rw}


class ProcessConfig(Plain):
    """docker's ``Config``: the process and its environment, the image's defaults merged with the flags."""

    __slots__ = ("image", "cmd", "entrypoint", "env", "working_dir", "user", "hostname", "labels", "stop_signal",
                 "open_stdin", "stdin_once", "tty", "healthcheck", "stop_timeout", "exposed_ports", "attach")

    def __init__(self, image: str, cmd: list[str], entrypoint: list[str] | None, env: list[str], working_dir: str,
                 user: str, hostname: str, labels: dict[str, str], stop_signal: str = "SIGTERM",
                 open_stdin: bool = False, stdin_once: bool = False, tty: bool = False,
                 healthcheck: HealthConfig | None = None, stop_timeout: int | None = None,
                 exposed_ports: tuple[str, ...] = (), attach: tuple[str, ...] = ()) -> None:
        self.image, self.cmd, self.entrypoint, self.env = image, cmd, entrypoint, env
        self.working_dir, self.user, self.hostname = working_dir, user, hostname
        self.labels, self.stop_signal = labels, stop_signal
        self.open_stdin, self.stdin_once, self.tty = open_stdin, stdin_once, tty
        self.healthcheck = healthcheck  # the image's HEALTHCHECK merged with run --health-*; None: none at all
        self.stop_timeout = stop_timeout  # seconds a stop waits before SIGKILL when the caller names none
        self.exposed_ports = tuple(exposed_ports)  # "80/tcp": the image's EXPOSE and --expose
        self.attach = tuple(attach)  # the streams a client said it would attach to ("stdin", "stdout", "stderr")

    @classmethod
    def from_json(cls, d: dict) -> ProcessConfig:
        check = d.get("Healthcheck")
        return cls(d.get("Image", ""), list(d.get("Cmd") or []), d.get("Entrypoint"), list(d.get("Env") or []),
                   d.get("WorkingDir", ""), d.get("User", ""), d.get("Hostname", ""), dict(d.get("Labels") or {}),
                   d.get("StopSignal") or "SIGTERM", d.get("OpenStdin", False), d.get("StdinOnce", False),
                   d.get("Tty", False), _health().HealthConfig.from_json(check) if check else None,
                   d.get("StopTimeout"), tuple(d.get("ExposedPorts") or ()),
                   tuple(s for s in ATTACH if d.get("Attach" + s.capitalize())))

    def to_json(self) -> dict:
        """The stream flags and later additions only when set: a record of a plain container keeps the shape older
        engines wrote."""
        streams = {"OpenStdin": self.open_stdin, "StdinOnce": self.stdin_once, "Tty": self.tty,
                   **{"Attach" + s.capitalize(): True for s in self.attach}}
        out = {"Image": self.image, "Cmd": self.cmd, "Entrypoint": self.entrypoint, "Env": self.env,
               "WorkingDir": self.working_dir, "User": self.user, "Hostname": self.hostname, "Labels": self.labels,
               "StopSignal": self.stop_signal, **{k: v for k, v in streams.items() if v}}
        if self.healthcheck is not None:
            out["Healthcheck"] = self.healthcheck.to_json()
        if self.stop_timeout is not None:
            out["StopTimeout"] = self.stop_timeout
        if self.exposed_ports:
            out["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        return out


class LogConfig(Plain):
    """docker's ``HostConfig.LogConfig``: the json-file driver and its options (``max-size``, ``max-file``), the
    engine's defaults merged in at create, as docker does."""

    __slots__ = ("type", "config")

    def __init__(self, type: str = "json-file", config: dict[str, str] | None = None) -> None:
        self.type, self.config = type, dict(config or {})

    def __hash__(self) -> int:
        return hash((self.type, tuple(sorted(self.config.items()))))

    @classmethod
    def from_json(cls, d: dict) -> LogConfig:
        return cls(d.get("Type") or "json-file", d.get("Config") or {})

    def to_json(self) -> dict:
        return {"Type": self.type, "Config": dict(self.config)}


class HostConfig(Plain):
    """docker's ``HostConfig``: limits, restart policy, network, ports, volumes as given, privileges."""

    __slots__ = ("memory", "nano_cpus", "cpu_shares", "pids_limit", "restart", "network_mode", "port_bindings",
                 "binds", "cap_add", "cap_drop", "privileged", "security_opt", "readonly_rootfs", "auto_remove",
                 "log_config", "cpu_quota", "cpu_period", "tmpfs", "extra_hosts", "publish_all_ports", "isolation")

    def __init__(self, *, memory: int = 0, nano_cpus: int = 0, cpu_shares: int = 0, pids_limit: int = 0,
                 restart: RestartPolicy = RestartPolicy(), network_mode: str = "bridge",
                 port_bindings: tuple[PortBinding, ...] = (), binds: tuple[str, ...] = (),
                 cap_add: tuple[str, ...] = (), cap_drop: tuple[str, ...] = (), privileged: bool = False,
                 security_opt: tuple[str, ...] = (), readonly_rootfs: bool = False, auto_remove: bool = False,
                 log_config: LogConfig = LogConfig(), cpu_quota: int = 0, cpu_period: int = 0,
                 tmpfs: dict[str, str] | None = None, extra_hosts: tuple[str, ...] = (),
                 publish_all_ports: bool = False, isolation: str = "") -> None:
        self.memory, self.nano_cpus, self.cpu_shares, self.pids_limit = memory, nano_cpus, cpu_shares, pids_limit
        self.restart, self.network_mode, self.port_bindings = restart, network_mode, tuple(port_bindings)
        self.binds, self.cap_add, self.cap_drop = tuple(binds), tuple(cap_add), tuple(cap_drop)
        self.privileged, self.security_opt = privileged, tuple(security_opt)
        self.readonly_rootfs, self.auto_remove, self.log_config = readonly_rootfs, auto_remove, log_config
        self.cpu_quota, self.cpu_period = cpu_quota, cpu_period  # CFS microseconds (docker's --cpu-quota/-period)
        self.tmpfs = dict(tmpfs or {})  # container path -> mount options ("size=64m,mode=1777")
        self.extra_hosts = tuple(extra_hosts)  # "NAME:IP" lines added to /etc/hosts (--add-host)
        self.publish_all_ports = publish_all_ports  # -P: every exposed port on a free host port
        self.isolation = isolation  # "" or "default", as the caller spelled it (Linux has no other)

    def __hash__(self) -> int:
        return hash((self.memory, self.network_mode, self.port_bindings, self.binds))

    @property
    def bridged(self) -> bool:
        return self.network_mode == "bridge"

    @property
    def user_network(self) -> bool:
        """Its first network is a user-defined one (``network_mode`` is then that network's name)."""
        return self.network_mode not in ("bridge", "host", "none") and not self.network_mode.startswith("ns:")

    @classmethod
    def from_json(cls, d: dict) -> HostConfig:
        policy = d.get("RestartPolicy") or {}
        return cls(memory=d.get("Memory", 0), nano_cpus=d.get("NanoCpus", 0), cpu_shares=d.get("CpuShares", 0),
                   pids_limit=d.get("PidsLimit", 0),
                   restart=RestartPolicy(policy.get("Name") or "no", policy.get("MaximumRetryCount", 0)),
                   network_mode=d.get("NetworkMode", "bridge"),
                   port_bindings=tuple(PortBinding.from_json(p) for p in d.get("PortBindings") or ()),
                   binds=d.get("Binds") or (), cap_add=d.get("CapAdd") or (), cap_drop=d.get("CapDrop") or (),
                   privileged=d.get("Privileged", False), security_opt=d.get("SecurityOpt") or (),
                   readonly_rootfs=d.get("ReadonlyRootfs", False), auto_remove=d.get("AutoRemove", False),
                   log_config=LogConfig.from_json(d.get("LogConfig") or {}), cpu_quota=d.get("CpuQuota", 0),
                   cpu_period=d.get("CpuPeriod", 0), tmpfs=d.get("Tmpfs"), extra_hosts=d.get("ExtraHosts") or (),
                   publish_all_ports=d.get("PublishAllPorts", False), isolation=d.get("Isolation", ""))

    def to_json(self) -> dict:
        return {"Memory": self.memory, "NanoCpus": self.nano_cpus, "CpuShares": self.cpu_shares,
                "PidsLimit": self.pids_limit,
                "RestartPolicy": {"Name": self.restart.name, "MaximumRetryCount": self.restart.max_retries},
                "NetworkMode": self.network_mode, "PortBindings": [p.to_json() for p in self.port_bindings],
                "Binds": list(self.binds), "CapAdd": list(self.cap_add), "CapDrop": list(self.cap_drop),
                "Privileged": self.privileged, "SecurityOpt": list(self.security_opt),
                "ReadonlyRootfs": self.readonly_rootfs, "AutoRemove": self.auto_remove,
                **({"LogConfig": self.log_config.to_json()} if self.log_config != LogConfig() else {}),
                **{k: v for k, v in (("CpuQuota", self.cpu_quota), ("CpuPeriod", self.cpu_period),
                                     ("Tmpfs", self.tmpfs), ("ExtraHosts", list(self.extra_hosts)),
                                     ("PublishAllPorts", self.publish_all_ports), ("Isolation", self.isolation)) if v}}


class SecurityConfig(Plain):
    """The checked ``--security-opt``: ``seccomp`` is "default", "unconfined" or a profile's absolute path."""

    __slots__ = ("seccomp", "no_new_privileges")

    def __init__(self, seccomp: str = "default", no_new_privileges: bool = False) -> None:
        self.seccomp, self.no_new_privileges = seccomp, no_new_privileges

    @classmethod
    def from_json(cls, d: dict) -> SecurityConfig:
        return cls(d.get("seccomp", "default"), d.get("no_new_privileges", False))

    def to_json(self) -> dict:
        return {"seccomp": self.seccomp, "no_new_privileges": self.no_new_privileges}


class EndpointConfig(Plain):
    """A user-defined network the container joins at each start (an entry of docker's ``EndpointsConfig``):
    its first network (``--network``) or one it was connected to, with the aliases and address asked for."""

    __slots__ = ("network", "network_id", "aliases", "ipv4")

    def __init__(self, network: str, network_id: str, aliases: tuple[str, ...] = (), ipv4: str = "") -> None:
        self.network, self.network_id, self.aliases, self.ipv4 = network, network_id, tuple(aliases), ipv4

    @classmethod
    def from_json(cls, network: str, d: dict) -> EndpointConfig:
        return cls(network, d.get("NetworkID", ""), tuple(d.get("Aliases") or ()),
                   (d.get("IPAMConfig") or {}).get("IPv4Address", ""))

    def to_json(self) -> dict:
        return {"NetworkID": self.network_id, "Aliases": list(self.aliases),
                "IPAMConfig": {"IPv4Address": self.ipv4} if self.ipv4 else None}


class ContainerRecord(Plain):
    """What was asked for (``container.json``): fixed at create, but for the networks that ``network connect``
    and ``disconnect`` change (``networks``, in docker's ``NetworkingConfig`` shape)."""

    __slots__ = ("id", "name", "created", "image", "path", "args", "config", "host", "security", "mounts",
                 "networks")

    def __init__(self, id: str, name: str, created: str, image: str, path: str, args: list[str],
                 config: ProcessConfig, host: HostConfig, security: SecurityConfig,
                 mounts: tuple[VolumeMount, ...] = (), networks: tuple[EndpointConfig, ...] = ()) -> None:
        self.id, self.name, self.created, self.image, self.path, self.args = id, name, created, image, path, args
        self.config, self.host, self.security, self.mounts = config, host, security, tuple(mounts)
        self.networks = tuple(networks)

    def published_ports(self) -> tuple[PortBinding, ...]:
        """What a start publishes: ``-p``'s bindings, then with ``-P`` every other exposed TCP or UDP port on a
        free host port (docker's HostConfig keeps only the former; the latter are chosen at each start)."""
        if not self.host.publish_all_ports:
            return self.host.port_bindings
        taken = {f"{b.container_port}/{b.protocol}" for b in self.host.port_bindings}
        extra = []
        for port in self.config.exposed_ports:
            number, _, protocol = port.partition("/")
            if port not in taken and protocol in ("tcp", "udp"):
                extra.append(PortBinding("0.0.0.0", 0, int(number), protocol))
        return self.host.port_bindings + tuple(extra)

    def endpoint(self, network_id: str) -> EndpointConfig | None:
        return next((e for e in self.networks if e.network_id == network_id), None)

    @property
    def argv(self) -> list[str]:
        return [self.path, *self.args]

    @classmethod
    def from_json(cls, d: dict) -> ContainerRecord:
        return cls(d["Id"], d["Name"], d.get("Created", ZERO_TIME), d["Image"], d.get("Path", ""),
                   list(d.get("Args") or []), ProcessConfig.from_json(d.get("Config") or {}),
                   HostConfig.from_json(d.get("HostConfig") or {}), SecurityConfig.from_json(d.get("Security") or {}),
                   tuple(VolumeMount.from_json(m) for m in d.get("Mounts") or ()),
                   tuple(EndpointConfig.from_json(name, e) for name, e in
                         ((d.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).items()))

    def to_json(self) -> dict:
        out = {"Id": self.id, "Name": self.name, "Created": self.created, "Image": self.image, "Path": self.path,
               "Args": self.args, "Config": self.config.to_json(), "HostConfig": self.host.to_json(),
               "Security": self.security.to_json(), "Mounts": [m.to_json() for m in self.mounts]}
        if self.networks:
            out["NetworkingConfig"] = {"EndpointsConfig": {e.network: e.to_json() for e in self.networks}}
        return out


class NetworkState(Plain):
    """A running container's place on the bridge, with its published ports as bound (any host port 0 resolved)."""

    __slots__ = ("ip", "gateway", "prefixlen", "mac", "ports")

    def __init__(self, ip: str = "", gateway: str = "", prefixlen: int = 0, mac: str = "",
                 ports: tuple[PortBinding, ...] = ()) -> None:
        self.ip, self.gateway, self.prefixlen, self.mac, self.ports = ip, gateway, prefixlen, mac, tuple(ports)

    @classmethod
    def from_json(cls, d: dict) -> NetworkState:
        return cls(d.get("IPAddress", ""), d.get("Gateway", ""), d.get("IPPrefixLen", 0), d.get("MacAddress", ""),
                   tuple(PortBinding.from_json(p) for p in d.get("Ports") or ()))

    def to_json(self) -> dict:
        if self == NO_NETWORK:
            return {}
        return {"IPAddress": self.ip, "Gateway": self.gateway, "IPPrefixLen": self.prefixlen, "MacAddress": self.mac,
                "Ports": [p.to_json() for p in self.ports]}


NO_NETWORK = NetworkState()


class Endpoint(Plain):
    """A running container's place on one user-defined network: its address there, its interface, and the names
    it answers to (``names``: its name, short id and aliases, docker's ``DNSNames``)."""

    __slots__ = ("network", "network_id", "ip", "gateway", "prefixlen", "mac", "aliases", "names", "ifname")

    def __init__(self, network: str, network_id: str, ip: str, gateway: str, prefixlen: int, mac: str,
                 aliases: tuple[str, ...] = (), names: tuple[str, ...] = (), ifname: str = "eth0") -> None:
        self.network, self.network_id, self.ip, self.gateway = network, network_id, ip, gateway
        self.prefixlen, self.mac, self.aliases, self.names = prefixlen, mac, tuple(aliases), tuple(names)
        self.ifname = ifname

    @classmethod
    def from_json(cls, d: dict) -> Endpoint:
        return cls(d["Network"], d.get("NetworkID", ""), d.get("IPAddress", ""), d.get("Gateway", ""),
                   d.get("IPPrefixLen", 0), d.get("MacAddress", ""), tuple(d.get("Aliases") or ()),
                   tuple(d.get("DNSNames") or ()), d.get("Interface", "eth0"))

    def to_json(self) -> dict:
        return {"Network": self.network, "NetworkID": self.network_id, "IPAddress": self.ip, "Gateway": self.gateway,
                "IPPrefixLen": self.prefixlen, "MacAddress": self.mac, "Aliases": list(self.aliases),
                "DNSNames": list(self.names), "Interface": self.ifname}


class ContainerState(Plain):
    """What is happening (``state.json``). ``monitor_pid`` with ``monitor_start`` (its start time in clock ticks)
    names the monitor process even after pid reuse. Changed copies come from ``replace``."""

    __slots__ = ("status", "pid", "exit_code", "oom_killed", "error", "started_at", "finished_at", "restart_count",
                 "monitor_pid", "monitor_start", "network", "endpoints", "health")

    def __init__(self, status: str = "created", pid: int = 0, exit_code: int = 0, oom_killed: bool = False,
                 error: str = "", started_at: str = ZERO_TIME, finished_at: str = ZERO_TIME, restart_count: int = 0,
                 monitor_pid: int = 0, monitor_start: str = "", network: NetworkState = NO_NETWORK,
                 endpoints: tuple[Endpoint, ...] = (), health: Health | None = None) -> None:
        self.status, self.pid, self.exit_code, self.oom_killed, self.error = status, pid, exit_code, oom_killed, error
        self.started_at, self.finished_at, self.restart_count = started_at, finished_at, restart_count
        self.monitor_pid, self.monitor_start, self.network = monitor_pid, monitor_start, network
        self.endpoints = tuple(endpoints)  # its user networks while it runs, in the order they were attached
        self.health = health  # written by its monitor's prober; None without a healthcheck or before a start

    @property
    def live(self) -> bool:
        """Running, or between two runs of its restart policy: a monitor holds it."""
        return self.status in LIVE

    @classmethod
    def from_json(cls, d: dict) -> ContainerState:
        return cls(d.get("Status", "created"), d.get("Pid", 0), d.get("ExitCode", 0), d.get("OOMKilled", False),
                   d.get("Error", ""), d.get("StartedAt", ZERO_TIME), d.get("FinishedAt", ZERO_TIME),
                   d.get("RestartCount", 0), d.get("MonitorPid") or 0, d.get("MonitorStart", ""),
                   NetworkState.from_json(d.get("Network") or {}),
                   tuple(Endpoint.from_json(e) for e in d.get("Endpoints") or ()),
                   _health().Health.from_json(d["Health"]) if d.get("Health") else None)

    def to_json(self) -> dict:
        out = {"Status": self.status, "Pid": self.pid, "ExitCode": self.exit_code, "OOMKilled": self.oom_killed,
               "Error": self.error, "StartedAt": self.started_at, "FinishedAt": self.finished_at,
               "RestartCount": self.restart_count, "MonitorPid": self.monitor_pid,
               "MonitorStart": self.monitor_start, "Network": self.network.to_json()}
        if self.endpoints:
            out["Endpoints"] = [e.to_json() for e in self.endpoints]
        if self.health is not None:
            out["Health"] = self.health.to_json()
        return out


class Container(Plain):
    """One container as the engine sees it at one moment: its record and its (reconciled) state."""

    __slots__ = ("record", "state")

    def __init__(self, record: ContainerRecord, state: ContainerState) -> None:
        self.record, self.state = record, state


def _health():
    """``runtime.health``, imported when a record or state has a healthcheck: most containers have none, and
    this module is on every container's start path."""
    from portside.runtime import health

    return health
