"""Stopping one container run the Kubernetes way: the preStop hook, then the stop signal, then SIGKILL when the
grace period (which the hook's time counts against) is over."""

from __future__ import annotations

import asyncio
import logging
import time

from portside.agent.model import Run
from portside.agent.probing import run_handler
from portside.api.models import Container, Pod

log = logging.getLogger("portside.agent")
DEFAULT_GRACE_S = 30


def grace_of(pod: Pod) -> float:
    """The deletion's grace period when the pod is being deleted, else the spec's (30 s by default)."""
    grace = pod.metadata.deletion_grace_period_seconds
    if grace is None:
        grace = pod.spec.termination_grace_period_seconds
    return float(DEFAULT_GRACE_S if grace is None else grace)


async def pre_stop(engine, run: Run, container: Container, ip: str, budget: float) -> None:
    hook = container.lifecycle.pre_stop if container.lifecycle else None
    if hook is None:
        return
    try:
        await asyncio.wait_for(run_handler(hook, ip, container, budget,
                                           lambda argv, t: engine.exec(run.cid, argv, t)), budget)
    except TimeoutError:
        log.info("container %s: preStop hook still running when the grace period ended", container.name)


async def stop_run(engine, run: Run, container: Container, ip: str, grace: float) -> None:
    started = time.monotonic()
    await pre_stop(engine, run, container, ip, grace)
    try:
        await engine.stop(run.cid, max(0.0, grace - (time.monotonic() - started)))
    except TimeoutError:
        log.warning("container %s did not end after SIGKILL", container.name)
