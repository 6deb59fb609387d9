"""``portside up`` and ``portside down``: start the all-in-one control plane, and stop it.

``up`` runs in the foreground until SIGTERM or SIGINT, or with ``-d`` detaches: a child runs the server with its
log in ``DATA_DIR/portside.log`` and the parent returns once the API answers, printing the same ready line.
``down`` signals the pid in ``DATA_DIR/portside.pid`` and waits for it to finish its orderly stop; pods keep
running, for the next ``up`` to adopt. ``down --purge`` then removes the cluster from the node (see ``purge.py``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

from portside.cli.flags import HelpRequested, Parser, flag
from portside.runtime.errors import InvalidArgument

DEFAULT_DATA_DIR = "/var/lib/portside-cluster"
DETACH_TIMEOUT_S = 60.0

UP = Parser("up", "[OPTIONS]", [
    flag("--data-dir", "data_dir", "value", "cluster state: store, certificates, kubeconfig", "DIR"),
    flag("--port", "port", "value", "API port (default 6443)", "PORT"),
    flag("--address", "address", "value", "address to listen on (default 127.0.0.1); one other hosts' agents "
                                          "can reach is all a server needs to be joined", "IP"),
    flag("--tls-san", "tls_san", "list", "another IP or DNS name the serving certificate carries (repeatable, or "
                                        "comma-separated)", "NAME"),
    flag("--node-ip", "node_ip", "value", "this server's own node address, when it is not --address", "IP"),
    flag("--cluster-cidr", "cluster_cidr", "value", "the pod range, one /24 per node (default 10.42.0.0/16)",
         "CIDR"),
    flag("--node-monitor-grace", "node_monitor_grace", "value", "seconds a node may go without renewing its "
                                                                  "Lease before it is NotReady (default 5)", "SECONDS"),
    flag("--default-eviction-timeout", "eviction_timeout", "value", "seconds a new pod tolerates a NotReady or "
                                                                    "unreachable node before it is evicted "
                                                                    "(default 10)", "SECONDS"),
    flag("--node-eviction-rate", "eviction_rate", "value", "lost nodes a second whose pods may start to be evicted "
                                                           "(default 1)", "RATE"),
    flag("--insecure-http", "insecure_http", help="serve plain HTTP (loopback only)"),
    flag("--store", "store", "value", "store URL (default sqlite://DATA_DIR/state.db)", "URL"),
    flag("--disable", "disable", "list", "a component not to run here, e.g. agent or scheduler (repeatable, or "
                                        "comma-separated)", "NAME"),
    flag("--leader-elect", "leader_elect", "value", "true: run the cluster-wide controllers and the scheduler only "
         "while this server holds the Lease kube-system/portside-controllers, so several servers can share one "
         "store (default: true with an etcd store, false with SQLite)", "BOOL"),
    flag("--leader-elect-lease-duration", "lease_duration", "value", "seconds (default 3)", "SECONDS"),
    flag("--leader-elect-renew-deadline", "renew_deadline", "value", "seconds (default 2)", "SECONDS"),
    flag("--leader-elect-retry-period", "retry_period", "value", "seconds (default 0.5)", "SECONDS"),
    flag("--metrics-period", "metrics_period", "value", "seconds between the agent's usage samples (default 10)",
         "SECONDS"),
    flag("--horizontal-pod-autoscaler-sync-period", "hpa_sync_period", "value", "how often each autoscaler reads its "
         "metrics and scales (seconds or a duration such as 15s; default 15s)", "DURATION"),
    flag("--horizontal-pod-autoscaler-downscale-stabilization", "hpa_downscale_stabilization", "value",
         "how long a scale-down waits for every recent recommendation to agree, for autoscalers whose behavior sets "
         "no window of their own (default 5m)", "DURATION"),
    flag("--horizontal-pod-autoscaler-tolerance", "hpa_tolerance", "value", "the usage-to-target ratio's distance "
         "from 1 below which an autoscaler does not act (default 0.1)", "RATIO"),
    flag("--authorization-mode", "authorization_mode", "value", "the authorizers, in order (default Node,RBAC; "
                                                                "AlwaysAllow lets every authenticated user do "
                                                                "anything)", "MODES"),
    flag("--token-auth-file", "token_auth_file", "value", "static bearer tokens, one user a line in Kubernetes' CSV "
                                                          "form: token,user,uid[,\"group1,group2\"]", "FILE"),
    flag("--encryption-provider-config", "encryption_config", "value", "which resources to encrypt in the store "
                                                                       "and with which keys (an "
                                                                       "EncryptionConfiguration)", "FILE"),
    flag("--resolv-conf", "resolv_conf", "value", "the node's resolver settings: the cluster DNS forwards names "
                                                  "outside the cluster to its nameservers, and pods of dnsPolicy "
                                                  "Default get it (default /etc/resolv.conf)", "FILE"),
    flag("--pod-security-config", "pod_security_config", "value", "a PodSecurityConfiguration (or an "
         "AdmissionConfiguration holding one): Pod Security defaults for unlabelled namespaces and exempt users, "
         "namespaces and runtime classes (default: privileged, nothing exempt)", "FILE"),
    flag("--docker-socket", "docker_socket", "optional", "also serve the Docker Engine API for this node's engine, "
         "on unix:///run/portside/docker.sock or the URL given", "URL"),
    flag("-d --detach", "detach", help="run in the background; return once the API is ready"),
], interspersed=True)
DOWN = Parser("down", "[OPTIONS]", [
    flag("--data-dir", "data_dir", "value", "the data directory 'up' was started with", "DIR"),
    flag("--timeout", "timeout", "value", "seconds to wait for an orderly stop (default 30)", "SECONDS"),
    flag("--purge", "purge", help="then kill and remove the cluster's pods on this node (containers, network "
                                  "namespaces, veths, addresses, volume directories) and delete its data "
                                  "directory; also when it is already stopped"),
], interspersed=True)


def _fail(message: str, code: int = 125) -> int:
    sys.stderr.write(f"portside: {message}\n")
    return code


def _data_dir(opts: dict) -> str:
    return os.path.abspath(opts["data_dir"] or os.environ.get("PORTSIDE_DATA_DIR") or DEFAULT_DATA_DIR)


def kubeconfig_path(opts: dict) -> str:
    """The kubeconfig a cluster command uses: ``--kubeconfig``, else ``$KUBECONFIG`` (unless ``--data-dir`` is
    given), else the one ``portside up`` wrote in its data directory."""
    if opts.get("kubeconfig"):
        return opts["kubeconfig"]
    if os.environ.get("KUBECONFIG") and not opts.get("data_dir"):
        return os.environ["KUBECONFIG"]
    return os.path.join(_data_dir(opts), "kubeconfig.yaml")


def _port(value: str | None) -> int:
    if value is None:
        return 6443
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise InvalidArgument(f"up: --port: expected a port number 1-65535, got {value!r}")
    return int(value)


def _check_store(url: str | None) -> None:
    from portside.store import BACKENDS
    scheme, sep, _ = (url or "").partition("://")
    if url and sep and scheme not in BACKENDS:
        raise InvalidArgument(f"up: --store: unknown scheme {scheme!r} in {url!r} (expected one of "
                              f"{', '.join(sorted(BACKENDS))})")


def _disabled(values: list[str]) -> tuple[str, ...]:
    """Component names from repeated or comma-separated ``--disable``; the API server itself cannot be disabled."""
    from portside.supervisor import COMPONENTS
    names = tuple(n.strip() for v in values for n in v.split(",") if n.strip())
    optional = sorted(c.name for c in COMPONENTS if c.name != "apiserver")
    for name in names:
        if name not in optional:
            raise InvalidArgument(f"up: --disable: unknown component {name!r} (expected one of "
                                  f"{', '.join(optional)})")
    return names


def _ip(value: str, flag: str) -> str:
    import ipaddress
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidArgument(f"up: {flag}: expected an IP address, got {value!r}") from None


def _sans(values: list[str]) -> tuple[str, ...]:
    """``--tls-san``: IP addresses or DNS names (RFC 1123), repeated or comma-separated."""
    import re
    names = tuple(n.strip() for v in values for n in v.split(",") if n.strip())
    for name in names:
        if not re.fullmatch(r"[0-9a-fA-F:.]+|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*"
                            r"[A-Za-z0-9])?)*", name):
            raise InvalidArgument(f"up: --tls-san: {name!r} is neither an IP address nor a DNS name")
    return names


def _election(opts: dict) -> tuple[bool | None, dict[str, float]]:
    """``--leader-elect`` (None: decided by the store) and the Lease timings given, checked together."""
    from portside.client.leaderelection import ElectionConfig
    value = opts["leader_elect"]
    if value not in (None, "true", "false"):
        raise InvalidArgument(f"up: --leader-elect: expected true or false, got {value!r}")
    timings = {}
    for dest in ("lease_duration", "renew_deadline", "retry_period"):
        if opts[dest] is not None:
            try:
                timings[dest] = float(opts[dest])
            except ValueError:
                raise InvalidArgument(f"up: --leader-elect-{dest.replace('_', '-')}: expected seconds, got "
                                      f"{opts[dest]!r}") from None
    try:
        ElectionConfig(identity="check", **timings)
    except ValueError as exc:
        raise InvalidArgument(f"up: {exc}") from None
    return (None if value is None else value == "true"), timings


def _cidr(value: str | None) -> None:
    if value:
        from portside.controllers.nodeipam import parse_range
        try:
            parse_range(value)
        except ValueError as exc:
            raise InvalidArgument(f"up: {exc}") from None


def resolv_conf(value: str | None, command: str) -> str:
    """``--resolv-conf``: a readable file, as an absolute path (a detached process runs elsewhere)."""
    if value is None:
        return "/etc/resolv.conf"
    if not os.path.isfile(value) or not os.access(value, os.R_OK):
        raise InvalidArgument(f"{command}: --resolv-conf: {value!r} is not a readable file")
    return os.path.abspath(value)


def pod_security_config(value: str | None) -> str:
    """``--pod-security-config``: a file that loads, as an absolute path (a detached process runs elsewhere)."""
    if value is None:
        return ""
    from portside.api.podsecurity import ConfigError
    from portside.apiserver.podsecurity import load_config_file
    try:
        load_config_file(value)
    except ConfigError as exc:
        raise InvalidArgument(f"up: --pod-security-config: {exc}") from None
    return os.path.abspath(value)


def metrics_period(value: str | None, command: str) -> float:
    """``--metrics-period``: positive seconds (at most an hour: the 5-minute rollups need several samples)."""
    if value is None:
        return 10.0
    try:
        period = float(value)
    except ValueError:
        period = -1.0
    if not 0 < period <= 3600:
        raise InvalidArgument(f"{command}: --metrics-period: expected seconds between 0 and 3600, got {value!r}")
    return period


def _number(value: str | None, flag: str, default: float, integer: bool = False) -> float:
    """A non-negative number of seconds (or a rate); ``default`` when the flag is absent."""
    if value is None:
        return default
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        number = -1
    if number < 0 or number != number or number == float("inf"):
        kind = "a whole number of seconds" if integer else "a non-negative number"
        raise InvalidArgument(f"up: {flag}: expected {kind}, got {value!r}")
    return number


def _lifecycle(opts: dict) -> dict:
    grace = _number(opts["node_monitor_grace"], "--node-monitor-grace", 5.0)
    if grace <= 0:
        raise InvalidArgument("up: --node-monitor-grace: expected more than 0 seconds")
    return {"node_monitor_grace": grace,
            "eviction_timeout": int(_number(opts["eviction_timeout"], "--default-eviction-timeout", 10, True)),
            "eviction_rate": _number(opts["eviction_rate"], "--node-eviction-rate", 1.0)}


_DURATION = re.compile(r"((\d+(\.\d*)?|\.\d+)(h|m|s|ms))+")


def _duration(value: str | None, flag: str, default: float) -> float:
    """Seconds, or a Go duration as kube-controller-manager takes it (``15s``, ``5m``, ``1m30s``)."""
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        from portside.controllers.hpametrics import duration
        seconds = duration(value) if _DURATION.fullmatch(value) else -1.0
    if not 0 <= seconds < float("inf"):
        raise InvalidArgument(f"up: {flag}: expected seconds or a duration such as 15s or 5m, got {value!r}")
    return seconds


def _autoscaler(opts: dict) -> dict:
    period = _duration(opts["hpa_sync_period"], "--horizontal-pod-autoscaler-sync-period", 15.0)
    if period <= 0:
        raise InvalidArgument("up: --horizontal-pod-autoscaler-sync-period: expected more than 0 seconds")
    tolerance = _number(opts["hpa_tolerance"], "--horizontal-pod-autoscaler-tolerance", 0.1)
    return {"hpa_sync_period": period, "hpa_tolerance": tolerance,
            "hpa_downscale_stabilization": _duration(opts["hpa_downscale_stabilization"],
                                                     "--horizontal-pod-autoscaler-downscale-stabilization", 300.0)}


def cmd_up(argv: list[str], root: str) -> int:
    try:
        opts, args = UP.parse(argv)
        if args:
            raise InvalidArgument(f"up: unexpected argument {args[0]!r} (up takes only options)")
        port = _port(opts["port"])
        _check_store(opts["store"])
        disabled = _disabled(opts["disable"])
        sans = _sans(opts["tls_san"])
        node_ip = _ip(opts["node_ip"], "--node-ip") if opts["node_ip"] else ""
        address = _ip(opts["address"], "--address") if opts["address"] else "127.0.0.1"
        _cidr(opts["cluster_cidr"])
        period = metrics_period(opts["metrics_period"], "up")
        lifecycle = {**_lifecycle(opts), **_autoscaler(opts)}
        leader_elect, timings = _election(opts)
        access = _access(opts)
        resolv = resolv_conf(opts["resolv_conf"], "up")
        docker_socket = _docker_socket(opts["docker_socket"])
        security = pod_security_config(opts["pod_security_config"])
    except HelpRequested:
        return 0
    except InvalidArgument as exc:
        return _fail(str(exc), 2)
    data_dir = _data_dir(opts)
    if opts["detach"]:
        return _detach(argv, root, data_dir)
    from portside.cli import up
    return up.run(up.UpOptions(data_dir, port, address, opts["insecure_http"], opts["store"] or "", root, disabled,
                               sans, node_ip, opts["cluster_cidr"] or "", leader_elect=leader_elect, lease_timings=timings,
                               metrics_period=period, resolv_conf=resolv, pod_security_config=security,
                               docker_socket=docker_socket, **lifecycle, **access))


def _docker_socket(value: str | None) -> str:
    """``--docker-socket[=URL]``: the unix socket to serve the Docker API on ("" when not asked), checked now."""
    if value is None:
        return ""
    from portside.cli.system import listeners_from
    from portside.dockerapi.server import DEFAULT_SOCKET

    url = value or f"unix://{DEFAULT_SOCKET}"
    try:
        listeners_from(url)
    except InvalidArgument as exc:
        raise InvalidArgument(f"up: --docker-socket: {exc}") from None
    return url


def _access(opts: dict) -> dict:
    """``--authorization-mode``, ``--token-auth-file`` and ``--encryption-provider-config``, checked here so that a
    mistake is named before anything starts."""
    from portside.apiserver.authz.chain import DEFAULT_MODES, parse_modes
    try:
        modes = parse_modes(opts["authorization_mode"]) if opts["authorization_mode"] else DEFAULT_MODES
    except ValueError as exc:
        raise InvalidArgument(f"up: {exc}") from None
    out = {"authorization_modes": modes}
    for key, flag_name in (("token_auth_file", "--token-auth-file"), ("encryption_config",
                                                                       "--encryption-provider-config")):
        if opts[key]:
            if not os.path.isfile(opts[key]):
                raise InvalidArgument(f"up: {flag_name}: {opts[key]}: no such file")
            out[key] = os.path.abspath(opts[key])
    if "encryption_config" in out:
        from portside.apiserver.encryption import ConfigError
        from portside.apiserver.encryption import load as load_encryption
        try:
            load_encryption(out["encryption_config"])
        except (ConfigError, OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"up: --encryption-provider-config: {exc}") from None
    if "token_auth_file" in out:
        from portside.apiserver.tokenfile import TokenFileError, load
        try:
            load(out["token_auth_file"])
        except (TokenFileError, OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"up: --token-auth-file: {exc}") from None
    return out


def spawn_detached(args: list[str], root: str, log_path: str) -> subprocess.Popen:
    """``portside --root ROOT ARGS`` in a session of its own, stderr to ``log_path``; its stdout is a pipe whose
    first line says it is ready (a detached ``up`` or ``agent`` writes it, then closes it)."""
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "portside", "--root", root, *args], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=log, start_new_session=True,
                                env={**os.environ, "PORTSIDE_UP_DETACHED": "1"})


def _detach(argv: list[str], root: str, data_dir: str) -> int:
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    child_argv = [a for a in argv if a not in ("-d", "--detach")]
    proc = spawn_detached(["up", "--data-dir", data_dir, *child_argv], root, os.path.join(data_dir, "portside.log"))
    line = proc.stdout.readline().decode()
    hint = proc.stdout.readline().decode() if line else ""  # how to join, when the server can be joined
    proc.stdout.close()
    if not line:
        proc.wait(timeout=DETACH_TIMEOUT_S)
        return _fail(f"up exited with status {proc.returncode}; see {os.path.join(data_dir, 'portside.log')}", 1)
    sys.stdout.write(line + hint)
    return 0


def cmd_down(argv: list[str], root: str) -> int:
    try:
        opts, args = DOWN.parse(argv)
        if args:
            raise InvalidArgument(f"down: unexpected argument {args[0]!r} (down takes only options)")
        timeout = float(opts["timeout"] or 30)
    except HelpRequested:
        return 0
    except (InvalidArgument, ValueError) as exc:
        return _fail(str(exc) if isinstance(exc, InvalidArgument) else "down: --timeout: expected seconds", 2)
    from portside.cli import up
    data_dir = _data_dir(opts)
    pid = up.running_pid(data_dir)
    if pid is None and not opts["purge"]:
        return _fail(f"no portside up is running for {data_dir}", 1)
    if pid is not None:
        code = _stop(data_dir, pid, timeout)
        if code != 0 or not opts["purge"]:
            return code
    from portside.cli.purge import purge
    return purge(data_dir, up.engine_root(data_dir, root))


def _stop(data_dir: str, pid: int, timeout: float) -> int:
    from portside.cli import up
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if up.running_pid(data_dir) != pid and not up.alive(pid):
            sys.stdout.write(f"portside: stopped (pid {pid})\n")
            return 0
        time.sleep(0.05)
    return _fail(f"pid {pid} did not stop within {timeout:.0f} s (it is still running)", 1)
