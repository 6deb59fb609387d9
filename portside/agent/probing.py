"""Running probes and lifecycle hooks against a live container: httpGet and tcpSocket from the host to the
pod's address (the bridge routes to it), exec through the engine. ``Prober`` drives one container run's probes
and reports every verdict change through a callback; the counting itself is ``probes.py``. A failure carries the
kubelet's description of it (Go's error text for a refused dial, the command's output for exec), which the
Unhealthy Event shows.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from portside.agent import probes
from portside.agent.probes import Kind, Tally, Timing
from portside.api.models import Container, HTTPGetAction, TCPSocketAction

Exec = Callable[[list[str], float], Awaitable[tuple[int, str]]]  # argv, timeout -> exit code, output
Report = Callable[[str, Kind, Tally], None]
Failed = Callable[[str, Kind, str], None]  # container, probe, output


def resolve_port(port: int | str, container: Container) -> int:
    """A number, or the name of one of the container's ports."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in container.ports or []:
        if p.name == port:
            return p.container_port
    raise ValueError(f"container {container.name} has no port named {port!r}")


class Outcome(NamedTuple):
    """One probe's result, and on failure what the kubelet's Unhealthy Event says (the probe's output)."""

    ok: bool
    output: str = ""


def _dial_error(host: str, port: int, exc: BaseException) -> str:
    """Go's dial error text, which the kubelet's probe messages carry."""
    if isinstance(exc, TimeoutError):
        return f"dial tcp {host}:{port}: i/o timeout"
    code = getattr(exc, "errno", None)
    why = os.strerror(code).lower() if code else str(exc)  # asyncio's own wording hides the errno's
    return f"dial tcp {host}:{port}: connect: {why}"


async def http_get(action: HTTPGetAction, ip: str, container: Container, timeout: float) -> Outcome:
    """Kubernetes counts 200-399 as success; anything else, a refusal or a timeout, as failure."""
    host, port = action.host or ip, resolve_port(action.port, container)
    scheme = (action.scheme or "HTTP").upper()
    url = f"{scheme.lower()}://{host}:{port}{action.path or '/'}"
    tls = ssl._create_unverified_context() if scheme == "HTTPS" else None
    headers = "".join(f"{h.name}: {h.value}\r\n" for h in action.http_headers or [])
    request = f"GET {action.path or '/'} HTTP/1.0\r\nHost: {host}:{port}\r\n{headers}\r\n".encode()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=tls), timeout)
    except (OSError, TimeoutError) as exc:
        return Outcome(False, f'Get "{url}": {_dial_error(host, port, exc)}')
    try:
        writer.write(request)
        line = await asyncio.wait_for(reader.readline(), timeout)
        code = int(line.split()[1]) if len(line.split()) > 1 else 0
    except TimeoutError:
        return Outcome(False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting '
                              f'headers)')
    finally:
        writer.close()
    return Outcome(True) if 200 <= code < 400 else Outcome(False, f"HTTP probe failed with statuscode: {code}")


async def tcp_socket(action: TCPSocketAction, ip: str, container: Container, timeout: float) -> Outcome:
    host, port = action.host or ip, resolve_port(action.port, container)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        return Outcome(False, _dial_error(host, port, exc))
    writer.close()
    return Outcome(True)


async def exec_command(argv: list[str], timeout: float, exec_: Exec) -> Outcome:
    """The command's own output is the message, as the kubelet reports a failed exec probe."""
    try:
        code, output = await exec_(argv, timeout)
    except TimeoutError:
        return Outcome(False, f"command {json.dumps(' '.join(argv))} timed out")
    return Outcome(code == 0, output)


async def probe(handler, ip: str, container: Container, timeout: float, exec_: Exec) -> Outcome:
    """One probe or hook handler; any error is a failure, described."""
    try:
        if handler.exec is not None:
            return await exec_command(list(handler.exec.command or []), timeout, exec_)
        if handler.http_get is not None:
            return await http_get(handler.http_get, ip, container, timeout)
        if handler.tcp_socket is not None:
            return await tcp_socket(handler.tcp_socket, ip, container, timeout)
        if getattr(handler, "sleep", None) is not None:
            await asyncio.sleep(handler.sleep.seconds)
            return Outcome(True)
    except (TimeoutError, OSError, ValueError, IndexError) as exc:
        return Outcome(False, str(exc))
    return Outcome(False, "no handler")


async def run_handler(handler, ip: str, container: Container, timeout: float, exec_: Exec) -> bool:
    """Whether one probe or hook handler succeeded."""
    return (await probe(handler, ip, container, timeout, exec_)).ok


class Prober:
    """The probes of one container run: startup first, then liveness and readiness side by side.

    ``report`` hears every verdict change; ``failed`` every failed probe with its output, since the kubelet
    records an Unhealthy Event for each failure, not only for the one that crosses the threshold.
    """

    def __init__(self, container: Container, ip: str, exec_: Exec, report: Report, failed: Failed) -> None:
        self.container, self.ip, self.exec, self.report, self.failed = container, ip, exec_, report, failed

    async def run(self) -> None:
        c = self.container
        if c.startup_probe is not None and not await self._loop(Kind.STARTUP, c.startup_probe):
            return
        loops = [self._loop(k, p) for k, p in ((Kind.LIVENESS, c.liveness_probe),
                                                 (Kind.READINESS, c.readiness_probe)) if p is not None]
        await asyncio.gather(*loops)

    async def _loop(self, kind: Kind, spec) -> bool:
        """Probe until the verdict is final (startup passed, or a restart is due); True when startup passed."""
        timing = Timing.of(spec)
        await asyncio.sleep(timing.initial_delay)
        tally, reported = probes.start(kind), None  # the first verdict is always reported (adoption)
        while True:
            outcome = await probe(spec, self.ip, self.container, timing.timeout, self.exec)
            if not outcome.ok:
                self.failed(self.container.name, kind, outcome.output)
            tally = probes.record(tally, outcome.ok, timing)
            if tally.verdict != reported or probes.restarts_container(kind, tally, timing):
                self.report(self.container.name, kind, tally)
                reported = tally.verdict
            if probes.restarts_container(kind, tally, timing):
                return False
            if kind is Kind.STARTUP and tally.verdict:
                return True
            await asyncio.sleep(timing.period)
