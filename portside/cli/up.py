"""The ``portside up`` process: one per data directory (a lock), a pid file for ``down``, signals, the ready line.

SIGTERM and SIGINT set the stop event; the supervisor then cancels components in reverse order, each draining
under a timeout. The ready line is printed only after a real request to /readyz succeeded over the same TLS and
address a client will use.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pathlib
import signal
import sys
from dataclasses import dataclass, field

LOCK_FILE, PID_FILE = "portside.lock", "portside.pid"
ENGINE_ROOT_FILE = "engine-root"  # where this cluster's pods run, for ``down --purge``


@dataclass
class UpOptions:
    data_dir: str
    port: int
    address: str
    insecure_http: bool
    store: str
    engine_root: str
    disabled: tuple[str, ...] = ()
    tls_sans: tuple[str, ...] = ()
    node_ip: str = ""
    cluster_cidr: str = ""
    metrics_period: float = 10.0
    node_monitor_grace: float = 5.0
    eviction_timeout: int = 10
    eviction_rate: float = 1.0
    hpa_sync_period: float = 15.0
    hpa_downscale_stabilization: float = 300.0
    hpa_tolerance: float = 0.1
    leader_elect: bool | None = None  # None: on with an etcd store (several servers may share it), off with SQLite
    lease_timings: dict[str, float] = field(default_factory=dict)  # ElectionConfig's durations, when given
    authorization_modes: tuple[str, ...] = ("Node", "RBAC")
    token_auth_file: str = ""
    encryption_config: str = ""
    resolv_conf: str = "/etc/resolv.conf"
    pod_security_config: str = ""  # a PodSecurityConfiguration file (--pod-security-config)
    docker_socket: str = ""  # serve the Docker Engine API there (off when empty)


def running_pid(data_dir: str) -> int | None:
    """The pid of the ``up`` holding ``data_dir``'s lock, or None when none holds it."""
    try:
        fd = os.open(os.path.join(data_dir, LOCK_FILE), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    except BlockingIOError:
        return _recorded_pid(data_dir)
    finally:
        os.close(fd)


def _recorded_pid(data_dir: str) -> int | None:
    """The pid file's pid; None while there is none: an ``up`` that holds the lock writes it once it starts and
    removes it as it ends, so either way it has no pid to name yet, or any more."""
    try:
        with open(os.path.join(data_dir, PID_FILE)) as f:
            return int(f.read().strip() or 0) or None
    except FileNotFoundError:
        return None


def engine_root(data_dir: str, default: str) -> str:
    """The engine root the last ``up`` of ``data_dir`` ran its pods on, else ``default``."""
    try:
        with open(os.path.join(data_dir, ENGINE_ROOT_FILE)) as f:
            return f.read().strip() or default
    except FileNotFoundError:
        return default


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie has finished: only its parent's reaping is left)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _take_lock(data_dir: str) -> int | None:
    fd = os.open(os.path.join(data_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


async def _api_answers(url: str, ca_file: str | None) -> None:
    """One real request through the same client every component uses; raises if the API does not answer."""
    from portside.client import Client, ClientConfig
    ca = pathlib.Path(ca_file).read_bytes() if ca_file else None
    async with Client(ClientConfig(url, ca_data=ca)) as client:
        await client.request("GET", "/readyz")


async def _main(opts: UpOptions) -> None:
    from portside.apiserver import ServerConfig
    from portside.supervisor import COMPONENTS, Context, supervise
    sans = (*opts.tls_sans, opts.node_ip) if opts.node_ip else opts.tls_sans
    config = ServerConfig(opts.data_dir, opts.address, opts.port, opts.insecure_http, opts.store, tls_sans=sans,
                          default_toleration_seconds=opts.eviction_timeout,
                          pod_security_config=opts.pod_security_config, authorization_modes=opts.authorization_modes,
                          token_auth_file=opts.token_auth_file, encryption_config=opts.encryption_config)
    ctx = Context(config, opts.engine_root, node_ip=node_address(opts), cluster_cidr=opts.cluster_cidr,
                  node_monitor_grace=opts.node_monitor_grace, node_eviction_rate=opts.eviction_rate,
                  election=election(opts), metrics_period=opts.metrics_period,
                  hpa_sync_period=opts.hpa_sync_period, hpa_downscale_stabilization=opts.hpa_downscale_stabilization,
                  hpa_tolerance=opts.hpa_tolerance, cluster_dns="dns" not in opts.disabled, resolv_conf=opts.resolv_conf,
                  pods_here="agent" not in opts.disabled, docker_socket=opts.docker_socket)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def announce() -> None:
        ca = None if opts.insecure_http else os.path.join(opts.data_dir, "pki", "ca.crt")
        await _api_answers(config.url, ca)
        sys.stdout.write(f"portside: API ready at {config.url} (kubeconfig: {ctx.kubeconfig})\n")
        if not opts.insecure_http:
            sys.stdout.write(join_hint(config.url, opts.data_dir))
        sys.stdout.flush()
        if os.environ.get("PORTSIDE_UP_DETACHED"):  # the parent has read its line and gone
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)

    off = (*opts.disabled, *(() if opts.docker_socket else ("docker-api",)))
    await supervise(ctx, stop, announce, [c for c in COMPONENTS if c.name not in off])


def election(opts: UpOptions):
    """The leader election this server takes part in, or None when it runs every component itself."""
    on = opts.leader_elect if opts.leader_elect is not None else opts.store.startswith("etcd://")
    if not on:
        return None
    from portside.client.leaderelection import ElectionConfig, default_identity
    return ElectionConfig(identity=default_identity(f"{node_address(opts)}-{opts.port}"), **opts.lease_timings)


def node_address(opts: UpOptions) -> str:
    """The server's own node address: ``--node-ip``, else ``--address`` unless that is a wildcard."""
    if opts.node_ip:
        return opts.node_ip
    return opts.address if opts.address not in ("0.0.0.0", "::") else "127.0.0.1"


def join_hint(url: str, data_dir: str) -> str:
    """How another host joins; the token stays in its 0600 file rather than in a log."""
    token = os.path.join(data_dir, "node-token")
    return f"portside: to join a node: portside agent --server {url} --token \"$(cat {token})\"\n"


def _explain(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, OSError) and exc.errno == 98:
        return f"cannot listen: address already in use ({exc.strerror})"
    return f"{type(exc).__name__}: {exc}"


def run(opts: UpOptions) -> int:
    try:
        os.makedirs(opts.data_dir, mode=0o700, exist_ok=True)
        lock = _take_lock(opts.data_dir)
    except OSError as exc:
        sys.stderr.write(f"portside: cannot use data directory {opts.data_dir}: {exc.strerror}\n")
        return 1
    if lock is None:
        sys.stderr.write(f"portside: another portside up is running for {opts.data_dir} "
                         f"(pid {running_pid(opts.data_dir)})\n")
        return 1
    pid_path = os.path.join(opts.data_dir, PID_FILE)
    with open(pid_path, "w") as f:
        f.write(f"{os.getpid()}\n")
    with open(os.path.join(opts.data_dir, ENGINE_ROOT_FILE), "w") as f:
        f.write(f"{os.path.abspath(opts.engine_root)}\n")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    try:
        import uvloop
        uvloop.run(_main(opts))
        return 0
    except BaseException as exc:  # noqa: BLE001 - one line for the user, whatever the component failed with
        if isinstance(exc, KeyboardInterrupt):
            return 130
        logging.getLogger("portside.up").debug("up failed", exc_info=exc)
        sys.stderr.write(f"portside: up failed: {_explain(exc)}\n")
        return 1
    finally:
        os.unlink(pid_path)
        os.close(lock)
