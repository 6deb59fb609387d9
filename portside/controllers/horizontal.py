"""The HorizontalPodAutoscaler controller: every sync period, each autoscaler reads its target's scale and its
pods' usage from ``metrics.k8s.io``, asks ``hpametrics`` and ``scalerules`` what the replicas should be, sets the
target's ``scale`` subresource, and writes its status, conditions and Events as Kubernetes' controller does.

Theory of operation. An autoscaler is synced when it appears or its spec changes, then every ``sync_period``
(kube-controller-manager's --horizontal-pod-autoscaler-sync-period, 15 s), from a timer: usage changes mark no
event, so a watch cannot say when to look again. Pods come from a shared informer; usage through the typed
client from the API server's ``metrics.k8s.io`` (one list per sync, whatever the number of metrics), never from
the store. What earlier syncs recommended and changed (stabilization windows, rate limits) is kept in memory per
autoscaler (``scalerules.History``), as Kubernetes keeps it: a restarted controller starts those windows afresh.

Conditions: AbleToScale (the scale could be read and written, or the change waits on a stabilization window),
ScalingActive (a replica count could be computed from the metrics), ScalingLimited (the count was cut to the
bounds or a rate limit). Events: SuccessfulRescale "New size: N; reason: ...", FailedGetScale, FailedRescale,
FailedGetResourceMetric (and the other metric kinds'), FailedComputeMetricsReplicas, SelectorRequired,
InvalidSelector, AmbiguousSelector.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass

from portside import api
from portside.api import models
from portside.api.models import HorizontalPodAutoscaler as HPA
from portside.client import NORMAL, WARNING, ApiError, Client, Conflict, EventRecorder
from portside.controllers.base import Controller
from portside.controllers.hpametrics import Outcome, evaluate
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import now_s, timestamp
from portside.controllers.replicacalc import DEFAULT_TOLERANCE, MetricError, Timing
from portside.controllers.scalerules import DEFAULT_DOWNSCALE_WINDOW_S, History, normalize
from portside.controllers.shared import InformerFactory

log = logging.getLogger("portside.controllers.hpa")
HPAS = api.lookup("autoscaling", "v2", "horizontalpodautoscalers")
PODS = api.lookup("", "v1", "pods")
DEFAULT_SYNC_PERIOD_S = 15.0
SCALE_CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class AutoscalerConfig:
    """kube-controller-manager's --horizontal-pod-autoscaler-* settings."""

    sync_period: float = DEFAULT_SYNC_PERIOD_S
    downscale_stabilization: float = DEFAULT_DOWNSCALE_WINDOW_S
    tolerance: float = DEFAULT_TOLERANCE
    timing: Timing = Timing()


class ScaleError(Exception):
    pass


class Conditions:
    """An autoscaler's conditions being rewritten: a type keeps its place, and its transition time unless its
    status changes."""

    def __init__(self, current: list[models.HorizontalPodAutoscalerCondition] | None, stamp: str) -> None:
        self.items, self.stamp = list(current or []), stamp

    def set(self, kind: str, status: bool, reason: str, message: str) -> None:
        word = "True" if status else "False"
        old = next((i for i, c in enumerate(self.items) if c.type == kind), None)
        since = self.items[old].last_transition_time if old is not None and self.items[old].status == word \
            else self.stamp
        new = models.HorizontalPodAutoscalerCondition(type=kind, status=word, last_transition_time=since,
                                                      reason=reason, message=message)
        if old is None:
            self.items.append(new)
        else:
            self.items[old] = new


@dataclass
class Sync:
    """One sync's working state: the autoscaler, its conditions, and the status fields decided so far (as
    Kubernetes' controller fills them: a sync that fails keeps the last desiredReplicas)."""

    hpa: HPA
    conditions: Conditions
    current: int = 0
    desired: int | None = None  # None: keep the last one
    metrics: list[models.MetricStatus] | None = None  # None: none to show
    scaled: bool = False

    @property
    def ref(self) -> str:
        target = self.hpa.spec.scale_target_ref or models.CrossVersionObjectReference()
        return f"{target.kind}/{self.hpa.metadata.namespace}/{target.name}"


class HorizontalController(Controller):
    name = "horizontal-pod-autoscaler"

    def __init__(self, client: Client, informers: InformerFactory | None = None,
                 config: AutoscalerConfig = AutoscalerConfig()) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.config = config
        self.events = EventRecorder(client, self.name)
        self.autoscalers = self.informer(informers.get(HPAS))
        self.pods = self.informer(informers.get(PODS))
        self.pods_in = ByNamespace(self.pods)
        self.histories: dict[str, History] = {}
        self.selectors: dict[str, api.Selector] = {}  # the last selector each autoscaler's target had
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.autoscalers.on_change(self._changed)

    def _changed(self, kind: str, hpa: HPA, prev: HPA | None) -> None:
        key = cache_key(hpa)
        if kind == "DELETED":
            self._forget(key)
        elif prev is None or prev.metadata.generation != hpa.metadata.generation:
            self.queue.add(key)  # new, or its spec changed: at once; its own status writes wait for the period

    def _forget(self, key: str) -> None:
        for table in (self.histories, self.selectors):
            table.pop(key, None)
        timer = self.timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _resync(self, key: str) -> None:
        timer = self.timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self.timers[key] = asyncio.get_running_loop().call_later(self.config.sync_period, self.queue.add, key)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        try:
            await super().run(ready)
        finally:
            for timer in self.timers.values():
                timer.cancel()
            self.timers.clear()

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        hpa = self.autoscalers.get(namespace, name)
        if hpa is None:
            self._forget(key)
            return
        try:
            await self._reconcile(key, hpa)
        finally:
            self._resync(key)

    # -- one sync ---------------------------------------------------------------------------------------------------

    async def _reconcile(self, key: str, hpa: HPA) -> None:
        now = now_s()
        s = Sync(hpa, Conditions(hpa.status.conditions if hpa.status else None, timestamp(now)))
        try:
            info, scale = await self._get_scale(hpa)
        except ScaleError as exc:
            await self._warn(hpa, "FailedGetScale", str(exc))
            s.conditions.set("AbleToScale", False, "FailedGetScale",
                             f"the HPA controller was unable to get the target's current scale: {exc}")
            s.current, s.metrics = _last(hpa).current_replicas or 0, _last(hpa).current_metrics
            await self._write_status(s)
            return
        s.conditions.set("AbleToScale", True, "SucceededGetScale",
                         "the HPA controller was able to get the target's current scale")
        s.current = (scale.spec.replicas if scale.spec else None) or 0
        history = self.histories.setdefault(key, History())
        history.first_seen(s.current, now)
        decided = await self._decide(key, s, scale, history, now)
        if decided is not None:
            await self._rescale(s, info, scale, *decided, history, now)
        await self._write_status(s)

    async def _decide(self, key: str, s: Sync, scale: models.Scale, history: History,
                      now: float) -> tuple[int, str] | None:
        """The replicas to set and why; None when nothing is to be done (or nothing can be)."""
        spec, current = s.hpa.spec, s.current
        low, high = spec.min_replicas if spec.min_replicas is not None else 1, spec.max_replicas or 0
        if current == 0 and low != 0:
            s.conditions.set("ScalingActive", False, "ScalingDisabled",
                             "scaling is disabled since the replica count of the target is zero")
            s.desired = current
            return None
        if current > high:
            return high, "Current number of replicas above Spec.MaxReplicas"
        if current < low:
            return low, "Current number of replicas below Spec.MinReplicas"
        outcome = await self._metrics(key, s, scale, now)
        if outcome is None:
            return None
        desired = max(outcome.replicas, 0)
        reason = f"{outcome.name} above target" if desired > current else "All metrics below target"
        decision = normalize(history, spec.behavior, current, desired, low, high, now,
                             self.config.downscale_stabilization)
        s.conditions.set("AbleToScale", True, decision.able_reason, decision.able_message)
        s.conditions.set("ScalingLimited", decision.limited, decision.limited_reason, decision.limited_message)
        if decision.replicas == current:
            s.desired = current
            return None
        return decision.replicas, reason

    async def _metrics(self, key: str, s: Sync, scale: models.Scale, now: float) -> Outcome | None:
        """Every metric's proposal, the failures recorded; None when no count may be acted on."""
        hpa = s.hpa
        selector_text = scale.status.selector if scale.status else ""
        pods = await self._selected(key, s, selector_text or "")
        if isinstance(pods, str):
            await self._warn(hpa, "FailedComputeMetricsReplicas", pods)
            return None
        samples = await self._samples(hpa.metadata.namespace or "", selector_text or "")
        outcome = evaluate(hpa.spec.metrics or [], s.current, pods, samples, hpa.metadata.namespace or "", now=now,
                           tolerance=self.config.tolerance, timing=self.config.timing)
        s.metrics = outcome.statuses
        for failure in outcome.failures:
            await self._warn(hpa, failure.reason, failure.message)
        if outcome.replicas == -1:
            first = outcome.failures[0]
            s.conditions.set("ScalingActive", False, first.reason,
                             f"the HPA was unable to compute the replica count: {first.message}")
            await self._warn(hpa, "FailedComputeMetricsReplicas", outcome.error)
            log.info("%s: failed to compute desired number of replicas based on listed metrics for %s: %s",
                     self.name, s.ref, outcome.error)
            return None
        s.conditions.set("ScalingActive", True, "ValidMetricFound",
                         f"the HPA was able to successfully calculate a replica count from {outcome.name}")
        return outcome

    async def _selected(self, key: str, s: Sync, selector_text: str) -> list[models.Pod] | str:
        """The target's pods, or why its selector cannot be used (the condition and Event set)."""
        hpa = s.hpa
        if not selector_text:
            await self._warn(hpa, "SelectorRequired", "selector is required")
            s.conditions.set("ScalingActive", False, "InvalidSelector", "the HPA target's scale is missing a selector")
            return "selector is required"
        try:
            selector = api.label_selector(selector_text)
        except api.SelectorError as exc:
            message = f"couldn't convert selector into a corresponding internal selector object: {exc}"
            await self._warn(hpa, "InvalidSelector", message)
            s.conditions.set("ScalingActive", False, "InvalidSelector", message)
            return message
        self.selectors[key] = selector
        pods = [p for p in self.pods_in(hpa.metadata.namespace or "") if selector.matches(p.metadata.labels or {})]
        others = sorted(k for k, sel in self.selectors.items() if k != key and k.split("/")[0] == key.split("/")[0]
                        and any(sel.matches(p.metadata.labels or {}) for p in pods))
        if others:
            message = f"pods by selector {selector_text} are controlled by multiple HPAs: [{' '.join([key, *others])}]"
            await self._warn(hpa, "AmbiguousSelector", message)
            s.conditions.set("ScalingActive", False, "AmbiguousSelector", message)
            return message
        return pods

    async def _samples(self, namespace: str, selector: str) -> list[models.PodMetrics] | MetricError:
        try:
            listed = await self.client.list(api.POD_METRICS, namespace, label_selector=selector)
        except ApiError as exc:
            return MetricError(f"unable to fetch metrics from resource metrics API: {exc}")
        return listed.items or MetricError("no metrics returned from resource metrics API")

    # -- the target's scale ---------------------------------------------------------------------------------------

    async def _get_scale(self, hpa: HPA) -> tuple[api.ResourceInfo, models.Scale]:
        ref = hpa.spec.scale_target_ref or models.CrossVersionObjectReference()
        group = (ref.api_version or "").rpartition("/")[0]
        info = api.by_kind(group, ref.kind or "")
        if info is None:
            raise ScaleError(f'no matches for kind "{ref.kind}" in group "{group}"')
        try:
            return info, await self.client.get(info, ref.name or "", hpa.metadata.namespace or "", subresource="scale")
        except ApiError as exc:
            raise ScaleError(str(exc)) from None

    async def _set_scale(self, info: api.ResourceInfo, scale: models.Scale, desired: int) -> None:
        """Write ``desired`` over the replicas ``scale`` showed. The target's other writers (its controller's
        status) bump its resourceVersion without touching the replicas: after such a conflict the write is
        repeated on the fresh scale, but never over replicas someone else changed meanwhile."""
        for attempt in range(SCALE_CONFLICT_RETRIES):
            try:
                await self.client.update(info, dataclasses.replace(scale, spec=models.ScaleSpec(replicas=desired)),
                                         "scale")
                return
            except Conflict:
                if attempt == SCALE_CONFLICT_RETRIES - 1:
                    raise
                fresh = await self.client.get(info, scale.metadata.name or "", scale.metadata.namespace or "",
                                              subresource="scale")
                if (fresh.spec.replicas if fresh.spec else None) != (scale.spec.replicas if scale.spec else None):
                    raise
                scale = fresh

    async def _rescale(self, s: Sync, info: api.ResourceInfo, scale: models.Scale, desired: int, reason: str,
                       history: History, now: float) -> None:
        hpa = s.hpa
        try:
            await self._set_scale(info, scale, desired)
        except ApiError as exc:
            await self._warn(hpa, "FailedRescale", f"New size: {desired}; reason: {reason}; error: {exc}")
            s.conditions.set("AbleToScale", False, "FailedUpdateScale",
                             f"the HPA controller was unable to update the target scale: {exc}")
            return
        s.conditions.set("AbleToScale", True, "SucceededRescale",
                         f"the HPA controller was able to update the target scale to {desired}")
        await self.events.record(hpa, NORMAL, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
        log.info("%s: rescaled %s from %d to %d: %s", self.name, s.ref, s.current, desired, reason)
        history.scaled(hpa.spec.behavior, s.current, desired, now)
        s.desired, s.scaled = desired, True

    # -- status and events ---------------------------------------------------------------------------------------

    async def _warn(self, hpa: HPA, reason: str, message: str) -> None:
        await self.events.record(hpa, WARNING, reason, message)

    async def _write_status(self, s: Sync) -> None:
        """The status the sync arrived at, written only when it differs from the one read."""
        hpa, last = s.hpa, _last(s.hpa)
        desired = s.desired if s.desired is not None else (last.desired_replicas or 0)
        status = models.HorizontalPodAutoscalerStatus(
            current_replicas=s.current, desired_replicas=desired,
            last_scale_time=timestamp() if s.scaled else last.last_scale_time,
            current_metrics=s.metrics or None, conditions=s.conditions.items or None)
        if status == hpa.status:
            return
        try:
            await self.client.update_status(HPAS, dataclasses.replace(hpa, status=status))
        except ApiError as exc:
            await self._warn(hpa, "FailedUpdateStatus", str(exc))
            raise


def _last(hpa: HPA) -> models.HorizontalPodAutoscalerStatus:
    return hpa.status or models.HorizontalPodAutoscalerStatus()


async def run(client: Client, ready: asyncio.Event | None = None, config: AutoscalerConfig = AutoscalerConfig()) -> None:
    await HorizontalController(client, config=config).run(ready)
