"""What a caller asks for when it creates a container, and the parsers for docker's value syntaxes.

The parsers live here, not in the CLI, because every front end (the CLI, the node agent, a docker-compatible API)
must accept and refuse exactly the same values, with the same one-line messages naming the field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from portside.runtime.errors import InvalidArgument
from portside.runtime.plain import Plain

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
MIN_MEMORY = 6 << 20  # docker's floor: below it a container cannot even start its init
NETWORKS = ("bridge", "none", "host")


class VolumeSpec(Plain):
    """One ``-v``: a host path bind (``source`` absolute) or a named volume (``name`` set)."""

    __slots__ = ("source", "destination", "read_only", "name")

    def __init__(self, source: str, destination: str, read_only: bool = False, name: str = "") -> None:
        self.source, self.destination, self.read_only, self.name = source, destination, read_only, name


class ContainerConfig(Plain):
    """What a caller asks for; list fields are copied, so a caller's lists are never shared with the config."""

    __slots__ = ("image", "cmd", "entrypoint", "env", "workdir", "user", "name", "hostname", "publish", "volumes",
                 "memory", "cpus", "cpu_shares", "pids_limit", "restart", "network", "cap_add", "cap_drop",
                 "privileged", "security_opt", "read_only", "autoremove", "labels", "open_stdin", "stdin_once",
                 "tty", "network_aliases", "ip", "healthcheck", "log_driver", "log_opts", "tmpfs", "stop_signal",
                 "stop_timeout", "cpu_quota", "cpu_period", "extra_hosts", "expose", "publish_all", "attach",
                 "isolation")

    def __init__(self, image: str, cmd: list[str] | None = None, entrypoint: list[str] | None = None,
                 env: Sequence[str] = (), workdir: str = "", user: str = "", name: str = "", hostname: str = "",
                 publish: Sequence[str] = (), volumes: Sequence[str] = (), memory: int | None = None,
                 cpus: float | None = None, cpu_shares: int | None = None, pids_limit: int | None = None,
                 restart: str = "no", network: str = "bridge", cap_add: Sequence[str] = (),
                 cap_drop: Sequence[str] = (), privileged: bool = False, security_opt: Sequence[str] = (),
                 read_only: bool = False, autoremove: bool = False, labels: dict[str, str] | None = None,
                 open_stdin: bool = False, stdin_once: bool = False, tty: bool = False,
                 network_aliases: Sequence[str] = (), ip: str = "", healthcheck: dict | None = None,
                 log_driver: str = "json-file", log_opts: dict[str, str] | None = None,
                 tmpfs: dict[str, str] | None = None, stop_signal: str = "", stop_timeout: int | None = None,
                 cpu_quota: int | None = None, cpu_period: int | None = None, extra_hosts: Sequence[str] = (),
                 expose: Sequence[str] = (), publish_all: bool = False, attach: Sequence[str] = (),
                 isolation: str = "") -> None:
        self.image = image
        self.cmd = cmd                # None: the image's Cmd
        self.entrypoint = entrypoint  # None: the image's Entrypoint; [] clears it
        self.env, self.workdir, self.user, self.name, self.hostname = list(env), workdir, user, name, hostname
        self.publish = list(publish)  # raw -p values; parsed by the network layer
        self.volumes = list(volumes)  # raw -v values; see parse_volume
        self.memory, self.cpus, self.cpu_shares, self.pids_limit = memory, cpus, cpu_shares, pids_limit
        self.restart, self.network, self.privileged = restart, network, privileged
        self.cap_add, self.cap_drop, self.security_opt = list(cap_add), list(cap_drop), list(security_opt)
        self.read_only, self.autoremove, self.labels = read_only, autoremove, dict(labels or {})
        self.open_stdin = open_stdin  # docker's -i: stdin stays open for attachments, nobody attached or not
        self.stdin_once = stdin_once  # the first attachment's end of input ends it for good
        self.tty = tty                # a terminal for stdio (docker's -t)
        self.network_aliases = list(network_aliases)  # names on its user network besides its name and short id
        self.ip = ip                  # the address wanted on its user network (docker's --ip); else the lowest free
        # docker's Config.Healthcheck ({"Test": [...], "Interval": ns, ...}): merged over the image's HEALTHCHECK,
        # field by field; {"Test": ["NONE"]} turns it off; None keeps the image's
        self.healthcheck = dict(healthcheck) if healthcheck is not None else None
        # docker's --log-driver (json-file only) and --log-opt KEY=VALUE (max-size, max-file), over the engine's
        self.log_driver, self.log_opts = log_driver, dict(log_opts or {})
        self.tmpfs = dict(tmpfs or {})  # --tmpfs PATH[:OPTIONS]: container path -> tmpfs mount options
        self.stop_signal = stop_signal  # "": the image's STOPSIGNAL, else SIGTERM
        self.stop_timeout = stop_timeout  # seconds before SIGKILL when stop names none (None: 10)
        self.cpu_quota, self.cpu_period = cpu_quota, cpu_period  # CFS microseconds; --cpus is the usual spelling
        self.extra_hosts = list(extra_hosts)  # --add-host NAME:IP
        self.expose = list(expose)  # --expose PORT[/PROTO]: exposed besides the image's, published by -P
        self.publish_all = publish_all  # -P: each exposed port on a free host port
        self.attach = list(attach)  # the streams a client will attach to (docker's AttachStdin/out/err)
        self.isolation = check_isolation(isolation)  # docker's --isolation: on Linux only "default" (or "")


class Resources(Plain):
    """What ``update`` changes (docker's ``update`` flags); None leaves a field as it is. ``pids_limit`` 0 or -1
    and ``cpu_quota`` -1 lift the limit."""

    __slots__ = ("memory", "cpus", "cpu_shares", "cpu_quota", "cpu_period", "pids_limit", "restart")

    def __init__(self, memory: int | None = None, cpus: float | None = None, cpu_shares: int | None = None,
                 cpu_quota: int | None = None, cpu_period: int | None = None, pids_limit: int | None = None,
                 restart: str | None = None) -> None:
        self.memory, self.cpus, self.cpu_shares, self.cpu_quota = memory, cpus, cpu_shares, cpu_quota
        self.cpu_period, self.pids_limit, self.restart = cpu_period, pids_limit, restart

    @property
    def empty(self) -> bool:
        return all(v is None for v in self._values())


def parse_size(text: str, flag: str) -> int:
    """Docker's sizes in bytes: ``128m``, ``1g``, ``512MiB``, ``1.5g``, plain bytes (units of 1024)."""
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise InvalidArgument(f"invalid {flag} value {text!r}: expected a size like 128m or 1g")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_memory(text: str, flag: str = "--memory") -> int:
    """Docker's sizes: ``128m``, ``1g``, ``512MiB``, ``1.5g``, plain bytes; at least 6 MiB."""
    size = parse_size(text, flag)
    if size < MIN_MEMORY:
        raise InvalidArgument(f"invalid {flag} value {text!r}: the minimum memory limit is 6m")
    return size


def parse_cpus(text: str) -> float:
    ncpu = os.cpu_count() or 1
    try:
        cpus = float(text)
    except ValueError:
        raise InvalidArgument(f"invalid --cpus value {text!r}: expected a number like 0.5") from None
    if not 0.01 <= cpus <= ncpu:
        raise InvalidArgument(f"invalid --cpus value {text!r}: the range of CPUs is from 0.01 to {ncpu:.2f}")
    return cpus


def parse_int(text: str, flag: str, minimum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidArgument(f"invalid {flag} value {text!r}: expected an integer") from None
    if minimum is not None and value < minimum:
        raise InvalidArgument(f"invalid {flag} value {text!r}: must be at least {minimum}")
    return value


def parse_duration(text: str, flag: str) -> int:
    """Go's durations (``30s``, ``1m30s``, ``500ms``) in nanoseconds, as docker stores them."""
    from portside.runtime import durations

    try:
        return durations.parse(text)
    except ValueError:
        raise InvalidArgument(f"invalid {flag} value {text!r}: expected a duration like 30s, 1m30s or 500ms") from None


def health_options(cmd: str | None = None, interval: str | None = None, timeout: str | None = None,
                   start_period: str | None = None, start_interval: str | None = None, retries: str | None = None,
                   none: bool = False) -> dict | None:
    """``run --health-*`` and ``--no-healthcheck`` as docker's ``Config.Healthcheck``; None when none is given."""
    given = {"Test": ["CMD-SHELL", cmd] if cmd else None,
             "Interval": parse_duration(interval, "--health-interval") if interval else None,
             "Timeout": parse_duration(timeout, "--health-timeout") if timeout else None,
             "StartPeriod": parse_duration(start_period, "--health-start-period") if start_period else None,
             "StartInterval": parse_duration(start_interval, "--health-start-interval") if start_interval else None,
             "Retries": parse_int(retries, "--health-retries", 0) if retries else None}
    given = {k: v for k, v in given.items() if v is not None}
    if none:
        if given:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    return given or None


def check_isolation(isolation: str) -> str:
    """docker's isolation technology: a Linux container has only its default one, kept as it was spelled."""
    if isolation and isolation.lower() != "default":
        raise InvalidArgument(f"invalid isolation {isolation!r} on linux (only 'default')")
    return isolation


LOG_OPTS = ("max-size", "max-file")
# the drivers dockerd has built in: a name among them is one portside does not support, any other is unknown
DOCKER_LOG_DRIVERS = ("json-file", "local", "none", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk",
                      "etwlogs", "gcplogs", "logentries")


def parse_log_opt(item: str) -> tuple[str, str]:
    """One ``--log-opt KEY=VALUE``."""
    key, eq, value = item.partition("=")
    if not eq or not key:
        raise InvalidArgument(f"invalid --log-opt {item!r}: expected KEY=VALUE, e.g. max-size=10m")
    return key, value


def check_log_driver(driver: str) -> None:
    """Only json-file; a name docker does not know either gets dockerd's own words."""
    if driver == "json-file":
        return
    if driver in DOCKER_LOG_DRIVERS:
        raise InvalidArgument(f"invalid --log-driver {driver!r}: only json-file is supported")
    raise InvalidArgument(f"logger: no log driver named '{driver}' is registered")


def log_limits(driver: str, opts: dict[str, str]) -> tuple[int, int]:
    """The json-file driver's options checked, as (max size in bytes, 0 for no limit; max files), docker's
    rules: ``max-size`` a size (``-1``: none), ``max-file`` at least 1. As dockerd's json-file logger,
    ``max-file`` without ``max-size`` is accepted and kept, and the log, never rotated, stays one file."""
    check_log_driver(driver)
    unknown = sorted(set(opts) - set(LOG_OPTS))
    if unknown:
        raise InvalidArgument(f"unknown log opt {unknown[0]!r} for the json-file log driver (expected max-size or "
                              "max-file)")
    size_text = opts.get("max-size", "-1")
    size = 0 if size_text == "-1" else parse_size(size_text, "--log-opt max-size")
    files = parse_int(opts.get("max-file", "1"), "--log-opt max-file", 1)
    return size, files


def parse_tmpfs(item: str) -> tuple[str, str]:
    """One ``--tmpfs PATH[:OPTIONS]`` (options as mount(8) takes them: ``size=64m,mode=1777``)."""
    path, _, options = item.partition(":")
    check_tmpfs(path, options, f"--tmpfs {item!r}")
    return os.path.normpath(path), options


TMPFS_OPTIONS = frozenset({"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "ro", "rw", "exec", "noexec",
                           "suid", "nosuid", "dev", "nodev", "atime", "noatime", "relatime", "strictatime",
                           "nodiratime", "diratime", "sync", "async", "mpol", "huge", "tmpcopyup", "notmpcopyup",
                           "rprivate", "private", "rshared", "shared", "rslave", "slave"})


def check_tmpfs(path: str, options: str, where: str) -> None:
    if not path.startswith("/"):
        raise InvalidArgument(f"invalid {where}: the mount point {path!r} is not an absolute path")
    if os.path.normpath(path) == "/":
        raise InvalidArgument(f"invalid {where}: a tmpfs cannot be mounted over /")
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        if key not in TMPFS_OPTIONS:
            raise InvalidArgument(f"invalid {where}: unknown tmpfs option {option!r}")
        if key == "size":
            parse_size(value, f"{where} size")


def parse_extra_host(item: str) -> str:
    """``--add-host NAME:IP`` (docker also takes ``NAME=IP``), as the ``NAME:IP`` it records."""
    import ipaddress

    sep = "=" if "=" in item else ":"
    name, _, address = item.partition(sep)
    try:
        ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        raise InvalidArgument(f"invalid --add-host {item!r}: expected NAME:IP with an IPv4 or IPv6 address") from None
    if not name or any(c.isspace() for c in name):
        raise InvalidArgument(f"invalid --add-host {item!r}: the host name is empty or has a space")
    return f"{name}:{address.strip('[]')}"


def parse_port(item: str, flag: str = "--expose") -> str:
    """``80``, ``80/udp`` -> ``80/tcp``, ``80/udp`` (docker's key for an exposed port)."""
    port, _, proto = item.partition("/")
    proto = proto or "tcp"
    if not port.isdigit() or not 0 < int(port) < 65536 or proto not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"invalid {flag} value {item!r}: expected PORT[/tcp|udp|sctp] with a port from 1 to "
                              "65535")
    return f"{int(port)}/{proto}"


SIGNALS = ("HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
           "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
           "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS")


def parse_signal(text: str, flag: str = "--stop-signal") -> str:
    """A signal by name (``SIGTERM``, ``TERM``, ``SIGRTMIN+3``) or number, as ``SIGNAME`` or the number."""
    name = text.upper().removeprefix("SIG")
    if text.isdigit() and 0 < int(text) < 65:
        return text
    if name in SIGNALS or re.fullmatch(r"RTM(IN(\+\d+)?|AX(-\d+)?)", name):
        return "SIG" + name
    raise InvalidArgument(f"invalid {flag} value {text!r}: expected a signal name like SIGTERM or a number")


def parse_restart(text: str) -> tuple[str, int]:
    """``no``, ``always``, ``unless-stopped``, ``on-failure[:N]`` -> (name, max retries)."""
    name, _, count = text.partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise InvalidArgument(f"invalid --restart value {text!r}: expected no, always, unless-stopped or "
                              "on-failure[:N]")
    if count and name != "on-failure":
        raise InvalidArgument(f"invalid --restart value {text!r}: only on-failure takes a retry count")
    return name, parse_int(count, "--restart retry count", 0) if count else 0


def parse_volume(text: str) -> VolumeSpec:
    """``HOSTPATH:PATH[:ro|rw]`` (absolute host path) or ``NAME:PATH[:ro|rw]`` (a named volume)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise InvalidArgument(f"invalid -v value {text!r}: expected HOSTPATH:PATH[:ro] or NAME:PATH[:ro]")
    source, dest = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise InvalidArgument(f"invalid -v value {text!r}: mode {mode!r} is not ro or rw")
    if not dest.startswith("/"):
        raise InvalidArgument(f"invalid -v value {text!r}: container path {dest!r} is not absolute")
    if source.startswith("/"):
        return VolumeSpec(os.path.normpath(source), os.path.normpath(dest), mode == "ro")
    check_name(source, "volume")
    return VolumeSpec("", os.path.normpath(dest), mode == "ro", name=source)


def parse_env_file(path: str) -> list[str]:
    """docker's --env-file: KEY=VALUE lines, # comments and blanks ignored; a bare KEY takes our value."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise InvalidArgument(f"--env-file {path}: {err.strerror}") from None
    env = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        env.append(parse_env(line, f"--env-file {path} line {number}"))
    return env


def parse_env(item: str, where: str = "-e") -> str:
    key, eq, _ = item.partition("=")
    if not key or " " in key:
        raise InvalidArgument(f"{where}: invalid variable {item!r}: expected KEY=VALUE")
    if not eq:  # docker: a bare name passes the caller's value through, or is dropped
        return f"{key}={os.environ[key]}" if key in os.environ else ""
    return item


def check_name(name: str, what: str = "container") -> str:
    if not _NAME.fullmatch(name):
        raise InvalidArgument(f"invalid {what} name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name


def check_network_name(name: str) -> str:
    """docker's network names: any text but an empty one (``test 01`` is fine), without ``/`` or control
    characters (a name is a file name under the engine root), and not ``.`` or ``..``."""
    if not name.strip() or name in (".", "..") or "/" in name or any(ord(c) < 32 for c in name) \
            or len(name.encode()) > 255:
        raise InvalidArgument(f"invalid network name {name!r}: expected a non-empty name without '/' or control "
                              "characters")
    return name


def _network_name(name: str) -> bool:
    try:
        return bool(check_network_name(name))
    except InvalidArgument:
        return False


def check_network(network: str) -> str:
    """``bridge``, ``none``, ``host``, the name of a user-defined network (whose existence the engine checks), or
    ``ns:PATH`` (podman's spelling), which joins an existing network namespace: a pod's containers share one."""
    if network.startswith("ns:"):
        if not network[3:].startswith("/"):
            raise InvalidArgument(f"invalid --network value {network!r}: ns: takes an absolute namespace path")
        return network
    if network not in NETWORKS and not _NAME.fullmatch(network) and not _network_name(network):
        raise InvalidArgument(f"invalid --network value {network!r}: expected bridge, none, host, a network's "
                              "name or ns:PATH")
    return network
