"""One pod's worker: a task that converges what runs on the node toward the pod's spec.

Theory of operation. The worker sleeps on one event, set by a new version of the pod, a container's end (the
engine's pidfd event), a probe verdict change, or a back-off timer. Each wake it reads the pod's runs back from
the engine, asks ``plan.decide`` what to do, does it, and writes the status when it changed. Deletion
(deletionTimestamp) runs preStop hooks and stops every container within the grace period, frees the sandbox,
and then deletes the pod object for good (grace 0), as the kubelet does.

Lifecycle: ``Phase`` below, moved only through ``TRANSITIONS``; a worker never goes back from terminating.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import time

from portside.agent import events, plan, probes
from portside.agent.backoff import Entry, after_restart
from portside.agent.engine import RunError
from portside.agent.health import Health
from portside.agent.model import Run, latest
from portside.agent.plan import Kind, Observed
from portside.agent.prepare import CONFIG_RETRY_S, Waiting, prepare
from portside.agent.stopping import grace_of, stop_run
from portside.api.models import Container, Pod
from portside.client import ApiError, container_path, pod_reference

log = logging.getLogger("portside.agent")
IMAGE_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull"})
# the kubelet's sync period: how often a running pod's ConfigMap, Secret, downward API and token files are renewed
VOLUME_SYNC_S = float(os.environ.get("PORTSIDE_VOLUME_SYNC_S", "60"))


class Phase(enum.Enum):
    SYNCING = "syncing"
    TERMINATING = "terminating"
    FINISHED = "finished"


TRANSITIONS = {(Phase.SYNCING, Phase.TERMINATING), (Phase.TERMINATING, Phase.FINISHED),
               (Phase.SYNCING, Phase.FINISHED)}


class Worker:
    def __init__(self, node, pod: Pod) -> None:
        self.node, self.pod = node, pod
        self.reported = pod.status  # the status the API holds, as last seen
        self.phase = Phase.SYNCING
        self.wake = asyncio.Event()
        self.runs: dict[str, Run] = {}  # cid -> run
        self.backoff: dict[str, Entry] = {}
        self.health = Health(self.wake.set, self._probe_failed)
        self.waiting: dict[str, tuple[str, str]] = {}
        self.timers: dict[str, float] = {}
        self.watches: dict[str, object] = {}
        self.stopping: set[str] = set()  # runs being stopped (preStop, grace period) on the worker's behalf
        self.ip = ""
        self.gone = False
        self.fenced = False  # cut off past its eviction point: nothing runs until the server is heard again
        self.volumes_due: float | None = None  # when the content volumes are next brought up to date

    @property
    def uid(self) -> str:
        return self.pod.metadata.uid

    def move(self, to: Phase) -> None:
        if (self.phase, to) not in TRANSITIONS:
            raise RuntimeError(f"pod {self.pod.metadata.name}: no transition from {self.phase.value} to {to.value}")
        self.phase = to

    def update(self, pod: Pod) -> None:
        self.pod, self.reported = pod, pod.status
        self.wake.set()

    def deleted(self) -> None:
        """The pod object is gone from the API (force-deleted): stop everything without asking anyone."""
        self.gone = True
        self.wake.set()

    def fence(self, on: bool) -> None:
        """Fenced, the pod's running containers are stopped and none is started (see ``fence``); lifted when
        the server is heard again and still holds the pod."""
        if on != self.fenced:
            self.fenced = on
            self.wake.set()

    def adopt(self, runs: list[Run], address: str = "") -> None:
        """Runs found in the engine at start-up, in the sandbox at ``address``. A running one keeps the readiness
        the pod's status shows for it until its probes say otherwise, so restarting the agent does not flap the
        pod out of its Services; its probes dial the sandbox's address, known before they start."""
        self.ip = self.ip or address
        self.runs.update({r.cid: r for r in runs})
        reported = {s.container_id: s for s in (self.reported and self.reported.container_statuses) or []}
        for run in runs:
            if run.running:
                self._watch(run)
                self._probe(run)
                if f"portside://{run.cid}" in reported:
                    self.health.carry_over(run.container, reported[f"portside://{run.cid}"])

    # -- the loop ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while self.phase is not Phase.FINISHED:
                self.wake.clear()
                deleting = self.gone or self.pod.metadata.deletion_timestamp
                await self.guarded(self.terminate if deleting else self.sync)
                if self.phase is not Phase.FINISHED:
                    await self._sleep()
        finally:
            self._stop_watching()

    async def guarded(self, step) -> None:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one pod's trouble must not end its worker; the next wake retries
            log.exception("pod %s/%s: %s failed", self.pod.metadata.namespace, self.pod.metadata.name,
                          step.__name__)
            self.timers["_retry"] = time.time() + 1.0

    async def _sleep(self) -> None:
        due = min(self.timers.values(), default=None)
        timeout = None if due is None else max(0.0, due - time.time())
        try:
            await asyncio.wait_for(self.wake.wait(), timeout)
        except TimeoutError:
            pass

    async def sync(self) -> None:
        self.timers.clear()
        self.ip = self.ip or await self.node.engine.call(self.node.sandboxes.address, self.uid)
        await self._refresh()
        if self.fenced:
            for run in self.runs.values():
                if run.running and run.cid not in self.stopping:
                    self._event(events.stopping(run.container), run.container)
                    self.stopping.add(run.cid)
                    asyncio.ensure_future(self._kill(run))
            return  # no status: the server cannot be reached, and the pod is likely replaced there
        spec = self.pod.spec
        obs = Observed(latest(list(self.runs.values())), time.time(), dict(self.backoff),
                       frozenset(self.health.unhealthy), self.node.backoff_policy,
                       {c.name: c.image for c in spec.containers})
        init = [c.name for c in spec.init_containers or []]
        apps = [c.name for c in spec.containers]
        for action in plan.decide(init, apps, spec.restart_policy or "Always", obs):
            await self._act(action, obs)
        await self.write_status()
        await self._keep_volumes_current()

    async def _keep_volumes_current(self) -> None:
        """While a container runs, its ConfigMap, Secret, downward API and ServiceAccount token files follow
        their sources, every ``VOLUME_SYNC_S`` as the kubelet's sync period has them do: an edited ConfigMap
        reaches a running pod, and a token is renewed (at 80 % of its life) before it expires. A failure (the
        API out of reach, a source gone) keeps the files as they are until the next period."""
        if not any(r.running for r in self.runs.values()) or not self.node.sandboxes.has_contents(self.pod):
            return
        now = time.time()
        if self.volumes_due is None:
            self.volumes_due = now + VOLUME_SYNC_S  # written just now, by the start that made the run
        elif now >= self.volumes_due:
            self.volumes_due = now + VOLUME_SYNC_S
            try:
                maps, secrets = await self.node.references(self.pod)
                tokens = await self.node.tokens.for_pod(self.pod)
                kept = await self.node.engine.call(self.node.sandboxes.refresh, self.pod, maps, secrets, tokens)
            except (ApiError, OSError, LookupError) as exc:
                log.warning("pod %s: volumes not refreshed: %s", self._pod_text(), exc)
            else:
                for name in kept:
                    log.warning("pod %s: volume %s keeps its files: its source is missing", self._pod_text(), name)
        self.timers["_volumes"] = self.volumes_due

    async def _refresh(self) -> None:
        for cid, run in list(self.runs.items()):
            if run.running:
                fresh = await self.node.engine.inspect(cid)
                if fresh is None:
                    del self.runs[cid]
                else:
                    self.runs[cid] = fresh

    async def _act(self, action: plan.Action, obs: Observed) -> None:
        if action.kind is Kind.WAIT:
            name, pod = action.container, self._pod_text()
            self.timers[name] = action.at
            self.waiting[name] = ("CrashLoopBackOff",
                                  events.back_off_waiting(obs.backoff.get(name, Entry()).delay, name, pod))
            self._event(events.back_off(name, pod), name)
        elif action.kind is Kind.KILL:
            self._stop_once(obs.runs[action.container], action.reason)
        else:
            await self._start(self._container(action.container), obs.runs.get(action.container))

    def _pod_text(self) -> str:
        m = self.pod.metadata
        return events.pod_text(m.name, m.namespace, m.uid)

    def _event(self, said: events.Said, container: str) -> None:
        """In the background: an Event never delays a container, and one that is lost is only logged."""
        m = self.pod.metadata
        self.node.events.emit(pod_reference(m.namespace, m.name, m.uid), said.type, said.reason, said.message,
                              self._field_path(container))

    def _field_path(self, container: str) -> str:
        """As the kubelet points at a container: an init container under ``spec.initContainers``."""
        if any(c.name == container for c in self.pod.spec.init_containers or []):
            return f"spec.initContainers{{{container}}}"
        return container_path(container)

    def _probe_failed(self, name: str, kind, output: str) -> None:
        self._event(events.unhealthy(kind.value, output), name)

    def _stop_once(self, run: Run, reason: str) -> None:
        """Stopping takes up to the grace period; the syncs meanwhile must not start a second stop."""
        if run.cid not in self.stopping:
            name = run.container
            if reason == "Unhealthy":
                why = f"failed {self.health.failed_probe.get(name, probes.Kind.LIVENESS).value} probe"
            else:
                why = "definition changed"
            self._event(events.restarting(name, why), name)
            self.stopping.add(run.cid)
            self.health.unhealthy.discard(run.container)
            asyncio.ensure_future(self._kill(run))

    def _container(self, name: str) -> Container:
        spec = self.pod.spec
        return next(c for c in (spec.init_containers or []) + spec.containers if c.name == name)

    # -- starting and stopping runs ---------------------------------------------------------------------------

    async def _start(self, container: Container, prior: Run | None) -> None:
        name = container.name
        attempt = prior.attempt + 1 if prior else 0
        try:
            ready = await prepare(self.node, self.pod, container, attempt, self.waiting.get(name, ("",))[0],
                                  lambda said: self._event(said, name))
            self.ip = ready.ip
            cid = await self.node.engine.run(ready.config, lambda: self._event(events.created(name), name))
        except (RunError, Waiting) as exc:
            self.waiting[name] = (exc.reason, str(exc))
            # An image failure's Event says its reason (the pull's own Event had the detail); others the error.
            if not getattr(exc, "silent", False):
                said = getattr(exc, "said", None)
                self._event(said or events.failed(exc.reason if exc.reason in IMAGE_REASONS else str(exc)), name)
            self.timers[name] = time.time() + getattr(exc, "retry", CONFIG_RETRY_S)
            return
        self.waiting.pop(name, None)
        self._event(events.started(name), name)
        if prior is not None:
            self.backoff[name] = after_restart(self.backoff.get(name, Entry()), self.node.backoff_policy,
                                               prior.ran_for())
            await self._prune(name, keep=prior.cid)
        run = await self.node.engine.inspect(cid)
        self.runs[cid] = run
        self._watch(run)
        self._probe(run)

    async def _prune(self, name: str, keep: str) -> None:
        """Only the newest ended run of a container is kept (for ``logs --previous``)."""
        for cid, run in list(self.runs.items()):
            if run.container == name and cid != keep and not run.running:
                await self.node.engine.remove(cid)
                del self.runs[cid]

    def _watch(self, run: Run) -> None:
        def ended() -> None:
            self.watches.pop(run.cid, None)
            self.health.end(run.cid)
            self.wake.set()
        self.watches[run.cid] = self.node.engine.watch_exit(run.cid, ended)

    def _probe(self, run: Run) -> None:
        self.health.begin(run, self._container(run.container), self.ip,
                          lambda argv, t: self.node.engine.exec(run.cid, argv, t))

    async def _kill(self, run: Run) -> None:
        try:
            await stop_run(self.node.engine, run, self._container(run.container), self.ip, grace_of(self.pod))
        finally:
            self.stopping.discard(run.cid)

    async def terminate(self) -> None:
        """preStop and the stop signal for every run at once, SIGKILL at the grace period's end, then cleanup.
        Retried as a whole if a step fails; every step is idempotent."""
        if self.phase is Phase.SYNCING:
            self.move(Phase.TERMINATING)
        self.timers.clear()
        self._stop_watching()
        await self._refresh()
        running = [r for r in self.runs.values() if r.running]
        for run in running:
            self._event(events.stopping(run.container), run.container)
        await asyncio.gather(*(self._kill(r) for r in running))
        for cid in list(self.runs):
            await self.node.engine.remove(cid)
        await self.node.engine.call(self.node.sandboxes.remove, self.uid)
        if not self.gone:
            await self.node.forget(self.pod)
        self.move(Phase.FINISHED)

    def _stop_watching(self) -> None:
        for cancel in self.watches.values():
            cancel()
        self.watches.clear()
        self.health.stop()

    async def write_status(self) -> None:
        await self.node.status.write(self)
