"""What the probes of a pod's running containers currently say: ready, started, unhealthy. One ``Prober`` task
per running run feeds it; the pod worker reads it when it decides and when it computes the status."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from portside.agent.model import Run
from portside.agent.probes import Kind, Tally
from portside.agent.probing import Exec, Failed, Prober
from portside.api.models import Container, ContainerStatus


class Health:
    def __init__(self, wake: Callable[[], None], failed: Failed) -> None:
        self.wake, self.failed = wake, failed  # ``failed`` hears every failed probe, with its output
        self.ready: dict[str, bool] = {}  # a readiness probe's verdict (absent: no probe)
        self.started: dict[str, bool] = {}  # a startup probe's verdict (absent: no probe)
        self.unhealthy: set[str] = set()  # a liveness or startup probe asks for a restart
        self.failed_probe: dict[str, Kind] = {}  # which probe made a container unhealthy (the Killing Event says)
        self.probers: dict[str, asyncio.Task] = {}  # run id -> its prober

    def begin(self, run: Run, container: Container, ip: str, exec_: Exec) -> None:
        """A new run starts with Kubernetes' initial verdicts, and its probes start probing."""
        name = run.container
        self.unhealthy.discard(name)
        self.ready.pop(name, None)
        self.started.pop(name, None)
        if container.readiness_probe is not None:
            self.ready[name] = False
        if container.startup_probe is not None:
            self.started[name] = False
        if container.readiness_probe or container.liveness_probe or container.startup_probe:
            prober = Prober(container, ip, exec_, self.verdict, self.failed)
            self.probers[run.cid] = asyncio.ensure_future(prober.run())

    def carry_over(self, name: str, reported: ContainerStatus) -> None:
        """An adopted run keeps the readiness its pod's status shows until its probes decide."""
        if name in self.ready:
            self.ready[name] = bool(reported.ready)
        if name in self.started:
            self.started[name] = bool(reported.started)

    def verdict(self, name: str, kind: Kind, tally: Tally) -> None:
        if kind is Kind.READINESS:
            self.ready[name] = tally.verdict
        elif kind is Kind.STARTUP and tally.verdict:
            self.started[name] = True
        elif not tally.verdict:
            self.unhealthy.add(name)
            self.failed_probe[name] = kind
        self.wake()

    def end(self, cid: str) -> None:
        task = self.probers.pop(cid, None)
        if task is not None:
            task.cancel()

    def stop(self) -> None:
        for task in self.probers.values():
            task.cancel()
        self.probers.clear()
