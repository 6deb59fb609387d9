"""Published ports: parsing docker's ``-p`` forms and holding host ports while a container lives.

A published port is forwarded by nftables DNAT, which never touches a socket; so nothing would stop another
program (or another container) from binding the same host port and silently losing its traffic. Portside therefore
binds a socket on every published host port, like docker's proxy and podman's conmon do, and the caller keeps
those sockets open for the container's lifetime. The bind is also the conflict check: whoever holds the port first
wins, whether a container or any other program.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass, replace

from portside.runtime.errors import InvalidArgument, PortInUse

PROTOCOLS = ("tcp", "udp")
ANY_IP = "0.0.0.0"


@dataclass(frozen=True)
class PortMapping:
    """One host port forwarded to one container port; ``host_port`` 0 means "any free port" until reserved."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"

    def __str__(self) -> str:
        return f"{self.host_ip}:{self.host_port}->{self.container_port}/{self.protocol}"


def parse_publish(spec: str) -> list[PortMapping]:
    """Parse one ``-p`` value: ``[IP:][HOST:]CONTAINER[/PROTO]``, where HOST and CONTAINER may be ranges."""
    body, _, protocol = spec.partition("/")
    protocol = protocol or "tcp"
    if protocol not in PROTOCOLS:
        raise _bad(spec, f'protocol "{protocol}" is not tcp or udp')
    host_ip, host_part, container_part = _split_fields(spec, body)
    containers = _port_range(spec, "container port", container_part)
    hosts = _port_range(spec, "host port", host_part) if host_part else [0] * len(containers)
    if len(hosts) != len(containers):
        raise _bad(spec, f'host range "{host_part}" and container range "{container_part}" differ in length')
    return [PortMapping(host_ip, h, c, protocol) for h, c in zip(hosts, containers)]


def _split_fields(spec: str, body: str) -> tuple[str, str, str]:
    parts = body.split(":")
    if len(parts) > 3 or not parts[-1]:
        raise _bad(spec, "expected [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]")
    if len(parts) == 3:
        return _host_ip(spec, parts[0]), parts[1], parts[2]
    if len(parts) == 2:
        return ANY_IP, parts[0], parts[1]
    return ANY_IP, "", parts[0]


def _host_ip(spec: str, text: str) -> str:
    if not text:
        return ANY_IP
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise _bad(spec, f'host IP "{text}" is not an IPv4 address') from None


def _port_range(spec: str, what: str, text: str) -> list[int]:
    first, dash, last = text.partition("-")
    low = _port(spec, what, first)
    high = _port(spec, what, last) if dash else low
    if high < low:
        raise _bad(spec, f'{what} range "{text}" ends before it starts')
    return list(range(low, high + 1))


def _port(spec: str, what: str, text: str) -> int:
    if text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    raise _bad(spec, f'{what} "{text}" is not a number 1-65535')


def _bad(spec: str, why: str) -> InvalidArgument:
    return InvalidArgument(f'invalid -p "{spec}": {why}')


def reserve(mappings: list[PortMapping]) -> tuple[list[PortMapping], list[socket.socket]]:
    """Bind every host port; return the mappings with ports 0 resolved, and the sockets that hold them.

    All or nothing: on a conflict the sockets bound so far are closed and ``PortInUse`` names the port.
    """
    held: list[socket.socket] = []
    resolved: list[PortMapping] = []
    try:
        for mapping in mappings:
            sock = _bind(mapping)
            held.append(sock)
            resolved.append(replace(mapping, host_port=sock.getsockname()[1]))
    except BaseException:
        release(held)
        raise
    return resolved, held


def reclaim(mappings: list[PortMapping]) -> list[socket.socket]:
    """Bind again the host ports a container already publishes (its holder died): each that is still free."""
    held = []
    for mapping in mappings:
        try:
            held.append(_bind(mapping))
        except (PortInUse, InvalidArgument):
            pass  # taken meanwhile, or the address is gone: the container's DNAT stays; nothing holds the port
    return held


def _bind(mapping: PortMapping) -> socket.socket:
    kind = socket.SOCK_STREAM if mapping.protocol == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    # TCP: SO_REUSEADDR so that TIME-WAIT leftovers of an earlier user of the port do not refuse it, and listen so
    # that no other socket can bind the port, whatever its options (Linux refuses a bind beside a listener). The
    # listener never sees a connection: DNAT rewrites them before the socket lookup. UDP: a plain bind holds it.
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("" if mapping.host_ip == ANY_IP else mapping.host_ip, mapping.host_port))
        if kind == socket.SOCK_STREAM:
            sock.listen(1)
    except OSError as err:
        sock.close()
        raise _bind_error(mapping, err) from None
    return sock


def _bind_error(mapping: PortMapping, err: OSError) -> Exception:
    if err.errno == errno.EADDRINUSE:
        return PortInUse(mapping.host_ip, mapping.host_port, mapping.protocol)
    if err.errno == errno.EADDRNOTAVAIL:
        return InvalidArgument(f"host IP {mapping.host_ip} in -p {mapping} is not an address of this host")
    return InvalidArgument(f"cannot bind host port {mapping}: {err.strerror}")


def release(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()
