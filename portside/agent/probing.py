"""Running probes and lifecycle hooks against a live container: httpGet and tcpSocket from the host to the
pod's address (the bridge routes to it), exec through the engine. ``Prober`` drives one container run's probes
and reports every verdict change through a callback; the counting itself is ``probes.py``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable

from portside.agent import probes
from portside.agent.probes import Kind, Tally, Timing
from portside.api.models import Container, HTTPGetAction, TCPSocketAction

Exec = Callable[[list[str], float], Awaitable[int]]
Report = Callable[[str, Kind, Tally], None]


def resolve_port(port: int | str, container: Container) -> int:
    """A number, or the name of one of the container's ports."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in container.ports or []:
        if p.name == port:
            return p.container_port
    raise ValueError(f"container {container.name} has no port named {port!r}")


async def http_get(action: HTTPGetAction, ip: str, container: Container, timeout: float) -> bool:
    """Kubernetes counts 200-399 as success; anything else, a refusal or a timeout, as failure."""
    host, port = action.host or ip, resolve_port(action.port, container)
    tls = ssl._create_unverified_context() if (action.scheme or "HTTP").upper() == "HTTPS" else None
    headers = "".join(f"{h.name}: {h.value}\r\n" for h in action.http_headers or [])
    request = f"GET {action.path or '/'} HTTP/1.0\r\nHost: {host}:{port}\r\n{headers}\r\n".encode()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=tls), timeout)
    try:
        writer.write(request)
        line = await asyncio.wait_for(reader.readline(), timeout)
        code = int(line.split()[1]) if len(line.split()) > 1 else 0
        return 200 <= code < 400
    finally:
        writer.close()


async def tcp_socket(action: TCPSocketAction, ip: str, container: Container, timeout: float) -> bool:
    _, writer = await asyncio.wait_for(asyncio.open_connection(action.host or ip, resolve_port(
        action.port, container)), timeout)
    writer.close()
    return True


async def run_handler(handler, ip: str, container: Container, timeout: float, exec_: Exec) -> bool:
    """One probe or hook handler; any error is a failure."""
    try:
        if handler.exec is not None:
            return await exec_(list(handler.exec.command or []), timeout) == 0
        if handler.http_get is not None:
            return await http_get(handler.http_get, ip, container, timeout)
        if handler.tcp_socket is not None:
            return await tcp_socket(handler.tcp_socket, ip, container, timeout)
        if getattr(handler, "sleep", None) is not None:
            await asyncio.sleep(handler.sleep.seconds)
            return True
    except (TimeoutError, OSError, ValueError, IndexError):
        return False
    return False


class Prober:
    """The probes of one container run: startup first, then liveness and readiness side by side."""

    def __init__(self, container: Container, ip: str, exec_: Exec, report: Report) -> None:
        self.container, self.ip, self.exec, self.report = container, ip, exec_, report

    async def run(self) -> None:
        c = self.container
        if c.startup_probe is not None and not await self._loop(Kind.STARTUP, c.startup_probe):
            return
        loops = [self._loop(k, p) for k, p in ((Kind.LIVENESS, c.liveness_probe),
                                                 (Kind.READINESS, c.readiness_probe)) if p is not None]
        await asyncio.gather(*loops)

    async def _loop(self, kind: Kind, probe) -> bool:
        """Probe until the verdict is final (startup passed, or a restart is due); True when startup passed."""
        timing = Timing.of(probe)
        await asyncio.sleep(timing.initial_delay)
        tally, reported = probes.start(kind), None  # the first verdict is always reported (adoption)
        while True:
            ok = await run_handler(probe, self.ip, self.container, timing.timeout, self.exec)
            tally = probes.record(tally, ok, timing)
            if tally.verdict != reported or probes.restarts_container(kind, tally, timing):
                self.report(self.container.name, kind, tally)
                reported = tally.verdict
            if probes.restarts_container(kind, tally, timing):
                return False
            if kind is Kind.STARTUP and tally.verdict:
                return True
            await asyncio.sleep(timing.period)
