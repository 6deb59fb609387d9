"""``portside system service``: the Docker Engine API on a socket, for the docker CLI, docker-py and compose."""

from __future__ import annotations

import sys
from pathlib import Path

from portside.cli.flags import HelpRequested, Parser, flag
from portside.runtime.errors import InvalidArgument

USAGE = """usage: portside system COMMAND

Commands:
  service   serve the Docker Engine API (DOCKER_HOST=unix:///run/portside/docker.sock docker ps)
"""


def cmd_system(argv: list[str], root: str) -> int:
    from portside.cli.main import fail
    from portside.runtime.errors import PortsideError

    try:
        return _system(argv, root)
    except PortsideError as exc:
        return fail(str(exc), exc.exit_code)


def _system(argv: list[str], root: str) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 1
    if argv[0] != "service":
        raise InvalidArgument(f"system: unknown command {argv[0]!r} (expected service)")
    return _service(argv[1:], root)


def _service(argv: list[str], root: str) -> int:
    from portside.dockerapi.server import DEFAULT_SOCKET

    parser = Parser("system service", "[OPTIONS]", [
        flag("--socket", "socket", "value", f"unix socket to serve (default unix://{DEFAULT_SOCKET})", "URL"),
        flag("--tcp", "tcp", "value", "also serve tcp://127.0.0.1:PORT (loopback only, TLS required)", "URL"),
        flag("--tlscert", "tlscert", "value", "the TCP listener's certificate (PEM)", "FILE"),
        flag("--tlskey", "tlskey", "value", "its private key (PEM)", "FILE"),
        flag("--tlscacert", "tlscacert", "value", "require client certificates signed by this CA", "FILE"),
        flag("--log-level", "log_level", "value", "debug, info (default) or warning"),
        flag("--owner", "owner", "value", "stop when this process ends (portside up passes its own)", "PID"),
    ])
    try:
        opts, args = parser.parse(argv)
    except HelpRequested:
        return 0
    if args:
        raise InvalidArgument(f"system service: takes no arguments, got {args[0]!r}")
    listeners = listeners_from(opts["socket"] or f"unix://{DEFAULT_SOCKET}", opts["tcp"] or "", opts["tlscert"] or "",
                               opts["tlskey"] or "", opts["tlscacert"] or "")
    level = (opts["log_level"] or "info").upper()
    if level not in ("DEBUG", "INFO", "WARNING"):
        raise InvalidArgument(f"system service --log-level: expected debug, info or warning, got {opts['log_level']!r}")
    owner = opts["owner"]
    if owner is not None and not (owner.isdigit() and int(owner) > 0):
        raise InvalidArgument(f"system service --owner: expected a process id, got {owner!r}")
    return run_service(root, listeners, level, int(owner) if owner else 0)


def listeners_from(socket: str, tcp: str = "", tlscert: str = "", tlskey: str = "", tlscacert: str = "") -> list:
    from portside.dockerapi import Listener

    if not (socket.startswith("unix://") or socket.startswith("/")):
        raise InvalidArgument(f"--socket: expected unix:///PATH, got {socket!r}")
    listeners = [Listener(socket if socket.startswith("unix://") else f"unix://{socket}")]
    if tcp:
        if not tcp.startswith("tcp://"):
            raise InvalidArgument(f"--tcp: expected tcp://127.0.0.1:PORT, got {tcp!r}")
        listeners.append(Listener(tcp, tlscert, tlskey, tlscacert))
    elif tlscert or tlskey or tlscacert:
        raise InvalidArgument("--tlscert, --tlskey and --tlscacert apply to --tcp, which was not given")
    for listener in listeners:
        listener.check()
    return listeners


def run_service(root: str, listeners: list, level: str = "INFO", owner: int = 0) -> int:
    import asyncio
    import logging

    from portside.dockerapi import serve
    from portside.engine import Engine

    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    def ready() -> None:
        where = ", ".join(listener.url for listener in listeners)
        sys.stderr.write(f"portside system service: serving the Docker API on {where}\n")
        sys.stderr.flush()
    asyncio.run(serve(Engine(Path(root)), listeners, ready, owner))
    return 0
