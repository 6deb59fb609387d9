"""The API's listeners: a unix socket (root's, mode 0660, as dockerd's), and when asked a TCP port on loopback,
always with TLS (dockerd's plain TCP is a root shell for anyone who can reach the port).

The modules with handlers are listed in ``MODULES``; each has a ``routes`` table (``routing.Routes``).
"""

from __future__ import annotations

import asyncio
import grp
import importlib
import ipaddress
import logging
import os
import signal
import socket
import ssl
from pathlib import Path

from aiohttp import web

from portside.dockerapi.backend import BACKEND, Backend
from portside.dockerapi.errors import docker_errors
from portside.dockerapi.routing import check_version
from portside.engine import Engine
from portside.runtime.errors import InvalidArgument
from portside.runtime.plain import Plain

log = logging.getLogger("portside.dockerapi")

DEFAULT_SOCKET = "/run/portside/docker.sock"
MODULES = ("system", "containers", "containerfiles", "containerstats", "images", "build", "volumes", "networks",
           "events", "swarm", "streams", "execs")
SOCKET_MODE = 0o660
MAX_JSON_BODY = 64 * 1024 * 1024  # build contexts and image tarballs are streamed, never read whole


class Listener(Plain):
    """Where the API listens: ``unix:///path`` or ``tcp://127.0.0.1:PORT`` (TLS files required for tcp)."""

    __slots__ = ("url", "tlscert", "tlskey", "tlscacert")

    def __init__(self, url: str, tlscert: str = "", tlskey: str = "", tlscacert: str = "") -> None:
        self.url, self.tlscert, self.tlskey, self.tlscacert = url, tlscert, tlskey, tlscacert

    @property
    def is_unix(self) -> bool:
        return self.url.startswith("unix://") or "://" not in self.url

    @property
    def path(self) -> str:
        return self.url.removeprefix("unix://")

    def address(self) -> tuple[str, int]:
        """The tcp listener's (host, port), refused unless the host is a loopback address."""
        hostport = self.url.removeprefix("tcp://")
        host, _, port = hostport.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        if host == "localhost":
            host = "127.0.0.1"
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise InvalidArgument(f"{self.url}: the Docker API listens on TCP only on a loopback address "
                                  "(127.0.0.1 or ::1); reach it from elsewhere through an SSH tunnel")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidArgument(f"{self.url}: expected tcp://HOST:PORT with a port from 1 to 65535")
        return host, int(port)

    def check(self) -> None:
        if self.url.startswith("tcp://"):
            self.address()
            if not (self.tlscert and self.tlskey):
                raise InvalidArgument(f"{self.url}: a TCP listener needs --tlscert and --tlskey (and --tlscacert "
                                      "to require client certificates)")
        elif not self.is_unix:
            raise InvalidArgument(f"{self.url}: expected unix:///PATH or tcp://127.0.0.1:PORT")

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.tlscert, self.tlskey)
        if self.tlscacert:
            ctx.load_verify_locations(self.tlscacert)
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def make_app(engine: Engine, threads: int = 32) -> web.Application:
    app = web.Application(middlewares=[docker_errors, check_version], client_max_size=MAX_JSON_BODY)
    app[BACKEND] = Backend(engine, threads)
    for name in MODULES:
        routes = importlib.import_module(f"portside.dockerapi.{name}").routes
        routes.add_to(app.router)
        app.on_shutdown.extend(routes.shutdown_hooks)

    async def close_backend(app: web.Application) -> None:
        app[BACKEND].close()
    app.on_cleanup.append(close_backend)
    return app


async def start(app: web.Application, listeners: list[Listener]) -> web.AppRunner:
    """Every listener up, or none (a failure closes the ones already open)."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        for listener in listeners:
            listener.check()
            if listener.is_unix:
                await _unix_site(runner, Path(listener.path))
            else:
                host, port = listener.address()
                await web.TCPSite(runner, host, port, ssl_context=listener.ssl_context()).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def _unix_site(runner: web.AppRunner, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o117)  # the socket is born 0660: no moment where others may connect
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chown(path, 0, _group())
    await web.SockSite(runner, sock).start()


def _group() -> int:
    """dockerd's ``docker`` group may use the socket when it exists, as with dockerd; root's group otherwise."""
    try:
        return grp.getgrnam("docker").gr_gid
    except KeyError:
        return 0


def _clear_stale(path: Path) -> None:
    """A socket file left by a server that died is removed; one that still answers is someone else's."""
    if not path.exists() and not path.is_symlink():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        path.unlink(missing_ok=True)
        return
    except OSError as exc:
        raise InvalidArgument(f"{path}: cannot listen there ({exc.strerror})") from None
    finally:
        probe.close()
    raise InvalidArgument(f"{path}: another server is already listening on it")


async def serve(engine: Engine, listeners: list[Listener], ready=None, owner: int = 0) -> None:
    """Serve until SIGTERM or SIGINT, or until process ``owner`` ends (when given); the unix sockets are removed
    on the way out."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if owner:
        try:
            owner_fd = os.pidfd_open(owner)
        except ProcessLookupError:
            raise InvalidArgument(f"--owner: no process {owner}") from None
        loop.add_reader(owner_fd, stop.set)
    runner = await start(make_app(engine), listeners)
    if ready is not None:
        ready()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        for listener in listeners:
            if listener.is_unix:
                Path(listener.path).unlink(missing_ok=True)
