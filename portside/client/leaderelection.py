"""Leader election over a ``coordination.k8s.io/v1`` Lease, as client-go's ``leaderelection`` package does it.

Theory of operation. Every candidate polls the Lease every ``retry_period``. The record names its holder and
how long the holder's claim lasts (``leaseDurationSeconds``); a candidate takes the Lease over only once the
record has not changed for that long *as measured on the candidate's own clock* from when it first saw the
record (its observed time), so no two hosts' clocks are ever compared. Every write is a compare-and-swap on the
Lease's resourceVersion: of two candidates that both see an expired Lease, one update wins and the other gets a
Conflict and keeps waiting.

The leader renews every ``retry_period``. If no renewal has succeeded for ``renew_deadline`` (counted from when
the last successful request was *sent*, which is no later than any other candidate's observed time of it), the
leader gives up: it cancels what it led before any other candidate may lead, because ``renew_deadline`` <
``lease_duration``; the difference is the time it has to stop. On an orderly stop it releases the Lease (no
holder, one second), so the next candidate leads at its next poll instead of after a whole lease duration.

The defaults (3 s lease, 2 s renew deadline, 0.5 s retry) are chosen for a failover under 5 s: after a leader
dies, another candidate leads at most ``lease_duration + retry_period`` = 3.5 s after the leader's last
renewal, leaving over a second to start its controllers. The renew deadline allows four renewal attempts (a
slow store or a busy event loop is not a lost leadership), and leaves a second between a cut-off leader
stopping and anyone else starting. client-go's 15/10/2 s trade slower failover for more tolerance of stalls.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from portside.api import models
from portside.client.client import Client
from portside.client.errors import AlreadyExists, Conflict, NotFound

log = logging.getLogger("portside.leaderelection")
JITTER = 0.2  # polls spread over [retry, retry * 1.2): client-go's factor is 1.2, which would slow failover
LEASES = "leases.coordination.k8s.io"


def default_identity(suffix: str = "") -> str:
    """Host name, what else tells this process apart (the API port), and a random part for restarts."""
    return "_".join(p for p in (socket.gethostname(), suffix, uuid.uuid4().hex[:8]) if p)


@dataclass(frozen=True)
class ElectionConfig:
    namespace: str = "kube-system"
    name: str = "portside-controllers"
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 3.0
    renew_deadline: float = 2.0
    retry_period: float = 0.5

    def __post_init__(self) -> None:
        if not self.renew_deadline < self.lease_duration:
            raise ValueError(f"leader election: renew deadline ({self.renew_deadline} s) must be shorter than the "
                             f"lease duration ({self.lease_duration} s), or two servers could lead at once")
        if not 0 < self.retry_period < self.renew_deadline:
            raise ValueError(f"leader election: retry period ({self.retry_period} s) must be positive and shorter "
                             f"than the renew deadline ({self.renew_deadline} s)")
        if not self.identity:
            raise ValueError("leader election: identity must not be empty")


def micro_time(at: dt.datetime | None = None) -> str:
    """A MicroTime as the API writes it."""
    return (at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(lease: models.Lease | None) -> tuple:
    """What a candidate compares to tell whether the holder is still renewing."""
    s = (lease.spec if lease else None) or models.LeaseSpec()
    return s.holder_identity, s.lease_duration_seconds, s.acquire_time, s.renew_time, s.lease_transitions


def claim(current: models.LeaseSpec | None, identity: str, duration: float, stamp: str) -> models.LeaseSpec:
    """The spec this candidate writes to hold the Lease: a renewal keeps acquireTime and transitions, a
    takeover counts one more transition."""
    if current is None:  # a new Lease
        return models.LeaseSpec(holder_identity=identity, lease_duration_seconds=max(1, round(duration)),
                                acquire_time=stamp, renew_time=stamp, lease_transitions=0)
    renewing = current.holder_identity == identity
    transitions = current.lease_transitions or 0
    return models.LeaseSpec(
        holder_identity=identity, lease_duration_seconds=max(1, round(duration)),
        acquire_time=current.acquire_time if renewing and current.acquire_time else stamp, renew_time=stamp,
        lease_transitions=transitions if renewing else transitions + 1)


class LeaderElector:
    """``await elector.run(lead)``: campaign; while leading, run ``lead()``; cancel it when the Lease is lost and
    campaign again. ``on_acquired`` runs each time this candidate starts to lead (logging, an Event)."""

    def __init__(self, client: Client, config: ElectionConfig,
                 on_acquired: Callable[[models.Lease], Awaitable[None]] | None = None) -> None:
        self.client, self.config, self.on_acquired = client, config, on_acquired
        self.lease: models.Lease | None = None
        self._observed: tuple = ()
        self._observed_at = 0.0
        self.sent = 0.0  # when the latest attempt's first request left
        self.leading = False
        self.decided = asyncio.Event()  # set once the first attempt knows whether this candidate leads

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        try:
            while True:
                await self.acquire()
                await self._lead(lead)
        finally:
            if self.leading:
                await asyncio.shield(self.release())

    async def acquire(self) -> None:
        """Return once this candidate holds the Lease."""
        logged = False
        while not await self._attempt():
            self.decided.set()
            if not logged and self.lease is not None:
                log.info("leader election: %s/%s is held by %s; waiting", self.config.namespace, self.config.name,
                         self.lease.spec.holder_identity if self.lease.spec else "nobody")
                logged = True
            await asyncio.sleep(self.config.retry_period * (1 + random.random() * JITTER))
        self.leading = True
        self.decided.set()
        log.info("leader election: %s acquired %s/%s", self.config.identity, self.config.namespace,
                 self.config.name)
        if self.on_acquired is not None:
            await self.on_acquired(self.lease)

    async def _lead(self, lead: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.create_task(lead(), name="leading")
        renewing = asyncio.create_task(self.renew_until_lost(), name="renewing")
        try:
            done, _ = await asyncio.wait([task, renewing], return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()  # a leader-only component failed: that is this process's failure
        finally:
            renewing.cancel()
            task.cancel()
            await asyncio.gather(task, renewing, return_exceptions=True)
        self.leading = False
        log.warning("leader election: %s lost %s/%s; its controllers are stopped", self.config.identity,
                    self.config.namespace, self.config.name)

    async def renew_until_lost(self) -> None:
        """Renew every retry period; return when no renewal succeeded within the renew deadline."""
        cfg = self.config
        last = self.sent  # when the acquiring request was sent: others observed the write no earlier
        while True:
            await asyncio.sleep(cfg.retry_period)
            sent = time.monotonic()
            remaining = last + cfg.renew_deadline - sent
            if remaining <= 0:
                return
            try:
                async with asyncio.timeout(remaining):
                    renewed = await self._attempt()
            except TimeoutError:
                renewed = False
            if renewed:
                last = sent
            elif time.monotonic() >= last + cfg.renew_deadline or self._held_by_other():
                return

    def _held_by_other(self) -> bool:
        spec = self.lease.spec if self.lease else None
        return bool(spec and spec.holder_identity and spec.holder_identity != self.config.identity)

    async def _attempt(self) -> bool:
        """client-go's tryAcquireOrRenew: one read and at most one compare-and-swap write."""
        cfg = self.config
        now = self.sent = time.monotonic()
        try:
            lease = await self.client.get(LEASES, cfg.name, cfg.namespace)
        except NotFound:
            return await self._create()
        except Exception as exc:  # noqa: BLE001 - API or connection errors alike: the next attempt retries
            log.debug("leader election: cannot read the Lease: %s", exc)
            return False
        self.lease = lease
        if _record(lease) != self._observed:
            self._observed, self._observed_at = _record(lease), now
        spec = lease.spec or models.LeaseSpec()
        holder, duration = spec.holder_identity, spec.lease_duration_seconds or cfg.lease_duration
        if holder and holder != cfg.identity and now < self._observed_at + duration:
            return False
        lease.spec = claim(spec, cfg.identity, cfg.lease_duration, micro_time())
        return await self._write(lease)

    async def _create(self) -> bool:
        cfg = self.config
        lease = models.Lease(api_version="coordination.k8s.io/v1", kind="Lease",
                             metadata=models.ObjectMeta(name=cfg.name, namespace=cfg.namespace),
                             spec=claim(None, cfg.identity, cfg.lease_duration, micro_time()))
        try:
            self.lease = await self.client.create(LEASES, lease, cfg.namespace)
        except (AlreadyExists, Conflict):
            return False
        except Exception as exc:  # noqa: BLE001 - any failure to write is a failed attempt
            log.debug("leader election: cannot create the Lease: %s", exc)
            return False
        self._observed, self._observed_at = _record(self.lease), time.monotonic()
        return True

    async def _write(self, lease: models.Lease) -> bool:
        try:
            self.lease = await self.client.update(LEASES, lease)  # carries the resourceVersion read: a CAS
        except Conflict:
            return False
        except Exception as exc:  # noqa: BLE001 - any failure to write is a failed attempt
            log.debug("leader election: cannot update the Lease: %s", exc)
            return False
        self._observed, self._observed_at = _record(self.lease), time.monotonic()
        return True

    async def release(self) -> None:
        """Give the Lease up (no holder, one second) so the next candidate need not wait out a whole duration."""
        lease, self.leading = self.lease, False
        if lease is None or not lease.spec or lease.spec.holder_identity != self.config.identity:
            return
        lease.spec = models.LeaseSpec(holder_identity="", lease_duration_seconds=1, renew_time=micro_time(),
                                      acquire_time=lease.spec.acquire_time,
                                      lease_transitions=lease.spec.lease_transitions)
        try:
            async with asyncio.timeout(self.config.renew_deadline):  # as long as a renewal may take
                await self.client.update(LEASES, lease)
            log.info("leader election: %s released %s/%s", self.config.identity, self.config.namespace,
                     self.config.name)
        except Exception as exc:  # noqa: BLE001 - releasing is a courtesy; the Lease expires anyway
            log.info("leader election: could not release the Lease (%s); it expires by itself", exc)
