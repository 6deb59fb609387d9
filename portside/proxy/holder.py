"""Host ports that nftables serves, held by sockets of the proxy's own (as kube-proxy holds node ports).

A LoadBalancer port served in the kernel is a DNAT rule, not a listening socket: without a holder, any program
could bind the same port and never see its traffic (the rule takes it first), and two Services could not be told
apart from a free port. A socket bound on each such port (never listening, so it accepts nothing) makes the port
taken for every other program, and a port that another program holds already is a conflict the Service reports,
as in the userspace plane.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable

from portside.proxy.model import ServicePort

__all__ = ["PortHolder"]

_KINDS = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}


class PortHolder:
    def __init__(self, address: str) -> None:
        self.address = address
        self.held: dict[str, tuple[int, socket.socket]] = {}  # ServicePort.key -> (port, socket)

    def sync(self, ports: Iterable[ServicePort]) -> dict[str, str]:
        """Hold exactly the ports of ``ports``; returns {key: reason} for those another program holds."""
        wanted = {sp.key: sp for sp in ports}
        for key, (port, sock) in list(self.held.items()):
            if key not in wanted or wanted[key].port != port:
                sock.close()
                del self.held[key]
        conflicts: dict[str, str] = {}
        for key, sp in wanted.items():
            if key not in self.held:
                try:
                    self.held[key] = (sp.port, self._bind(sp))
                except OSError as err:
                    conflicts[key] = self._reason(sp, err)
        return conflicts

    def _bind(self, sp: ServicePort) -> socket.socket:
        sock = socket.socket(socket.AF_INET, _KINDS.get(sp.protocol, socket.SOCK_STREAM))
        try:
            sock.bind((self.address, sp.port))
        except OSError:
            sock.close()
            raise
        return sock

    def _reason(self, sp: ServicePort, err: OSError) -> str:
        where = f"port {sp.port}/{sp.protocol.upper()} on {self.address}"
        if err.errno == errno.EADDRINUSE:
            return f"{where} is already in use by another program or Service"
        return f"cannot hold {where}: {err.strerror}"

    def close(self) -> None:
        for _, sock in self.held.values():
            sock.close()
        self.held.clear()
