"""The disruption controller: keeps each PodDisruptionBudget's status (how many evictions it allows now).

For a budget, the pods its selector matches in its namespace are counted as Kubernetes' controller counts them:

* ``currentHealthy``: Ready pods that are not being deleted and that no eviction took in the last two minutes
  (``status.disruptedPods``, written by the eviction subresource; an entry leaves once its pod is being deleted
  or gone, or after two minutes, when the pod evidently was not deleted after all);
* ``expectedPods`` and ``desiredHealthy``: an integer ``minAvailable`` needs that many and expects the matched
  pods; a percentage or ``maxUnavailable`` is taken of the pods the owning controllers want, their scale
  (a Deployment's replicas for its ReplicaSets' pods, a ReplicaSet's or a StatefulSet's own otherwise). Pods without a controller
  count toward no scale, as in Kubernetes; a pod whose controller has no scale (a Job's) fails the sync, and
  the budget then allows nothing (condition reason SyncFailed) until it can be computed;
* ``disruptionsAllowed``: ``currentHealthy - desiredHealthy``, never below 0, and 0 while nothing is expected.

``sync`` is level-triggered: any pod, ReplicaSet, Deployment or StatefulSet change in the namespace requeues the budgets it
may concern, and the status is written only when it differs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from portside import api
from portside.api.models import Condition, Pod, PodDisruptionBudget, PodDisruptionBudgetStatus
from portside.client import Client
from portside.controllers.base import Controller
from portside.controllers.index import ByNamespace
from portside.controllers.informer import cache_key
from portside.controllers.pods import controller_of, desired, is_ready, now_s, seconds, timestamp
from portside.controllers.shared import InformerFactory
from portside.controllers.timers import add_after

PDBS = api.lookup("policy", "v1", "poddisruptionbudgets")
PODS = api.lookup("", "v1", "pods")
REPLICASETS = api.lookup("apps", "v1", "replicasets")
DEPLOYMENTS = api.lookup("apps", "v1", "deployments")
STATEFULSETS = api.lookup("apps", "v1", "statefulsets")
DELETION_TIMEOUT_S = 120.0  # how long an evicted pod may stay before the budget counts it again

Scale = Callable[[Pod], tuple[str, int] | None]  # a pod's controller (uid) and its scale; None: it has none


class NoScale(Exception):
    """A pod's controller is unknown or has no scale: the budget's percentage has no denominator."""


@dataclass(frozen=True)
class Counts:
    expected: int
    desired: int
    healthy: int

    @property
    def allowed(self) -> int:
        return max(0, self.healthy - self.desired) if self.expected > 0 else 0


def scaled(value: int | str, total: int, round_up: bool) -> int:
    """An IntOrString against ``total``: a count as it is, a percentage rounded as Kubernetes rounds it."""
    if isinstance(value, int):
        return value
    part = int(value.rstrip("%")) * total
    return -(-part // 100) if round_up else part // 100


def selects(pdb: PodDisruptionBudget, pod: Pod) -> bool:
    """policy/v1: a missing selector selects nothing, an empty one every pod of the namespace."""
    selector = pdb.spec.selector if pdb.spec else None
    if selector is None or pod.metadata.namespace != pdb.metadata.namespace:
        return False
    try:
        return api.selector_from_object(selector.to_dict()).matches(pod.metadata.labels or {})
    except api.SelectorError:
        return False


def expected_scale(pods: list[Pod], scale: Scale) -> int:
    """The sum of the scales of the controllers of ``pods`` (each controller once)."""
    scales: dict[str, int] = {}
    for pod in pods:
        if controller_of(pod) is None:
            continue
        found = scale(pod)
        if found is None:
            raise NoScale(f'found no controllers for pod "{pod.metadata.name}"')
        scales[found[0]] = found[1]
    return sum(scales.values())


def expected_and_desired(pdb: PodDisruptionBudget, pods: list[Pod], scale: Scale) -> tuple[int, int]:
    low, high = pdb.spec.min_available, pdb.spec.max_unavailable
    if high is not None:
        expected = expected_scale(pods, scale)
        return expected, max(0, expected - scaled(high, expected, True))
    if isinstance(low, int):
        return len(pods), low
    if low is not None:
        expected = expected_scale(pods, scale)
        return expected, scaled(low, expected, True)
    return 0, 0


def still_disrupted(pdb: PodDisruptionBudget, pods: list[Pod], now: float) -> dict[str, str]:
    """The disruptedPods entries to keep: pods evicted less than two minutes ago that are not going yet."""
    taken = (pdb.status.disrupted_pods if pdb.status else None) or {}
    out = {}
    for pod in pods:
        when = taken.get(pod.metadata.name or "")
        if when is not None and not pod.metadata.deletion_timestamp and (seconds(when) or 0) + DELETION_TIMEOUT_S > now:
            out[pod.metadata.name] = when
    return out


def healthy(pods: list[Pod], disrupted: dict[str, str]) -> int:
    return sum(1 for p in pods if not p.metadata.deletion_timestamp and p.metadata.name not in disrupted
               and is_ready(p))


def with_condition(conditions: list[Condition], want: Condition) -> list[Condition]:
    """``conditions`` with ``want`` in place of its type; the transition time moves only with the status."""
    old = next((c for c in conditions if c.type == want.type), None)
    since = old.last_transition_time if old is not None and old.status == want.status else want.last_transition_time
    return [c for c in conditions if c.type != want.type] + [dataclasses.replace(want, last_transition_time=since)]


def new_status(pdb: PodDisruptionBudget, counts: Counts | None, disrupted: dict[str, str], error: str,
               stamp: str) -> PodDisruptionBudgetStatus:
    """The status to write: the counts, or on ``error`` the old counts with nothing allowed (failSafe)."""
    old = pdb.status or PodDisruptionBudgetStatus()
    generation = pdb.metadata.generation or 1
    if counts is None:
        status = dataclasses.replace(old, disruptions_allowed=0)
        reason, allowed = "SyncFailed", False
    else:
        status = PodDisruptionBudgetStatus(
            observed_generation=generation, disrupted_pods=disrupted or None, disruptions_allowed=counts.allowed,
            current_healthy=counts.healthy, desired_healthy=counts.desired, expected_pods=counts.expected,
            conditions=old.conditions)
        reason, allowed = ("SufficientPods", True) if counts.allowed > 0 else ("InsufficientPods", False)
    want = Condition(type="DisruptionAllowed", status="True" if allowed else "False", reason=reason,
                     message=error, observed_generation=status.observed_generation, last_transition_time=stamp)
    return dataclasses.replace(status, conditions=with_condition(status.conditions or [], want))


class DisruptionController(Controller):
    name = "disruption-controller"

    def __init__(self, client: Client, informers: InformerFactory | None = None) -> None:
        super().__init__(client)
        informers = informers or InformerFactory(client)
        self.budgets = self.informer(informers.get(PDBS))
        self.budgets_in = ByNamespace(self.budgets)
        self.pods = self.informer(informers.get(PODS))
        self.pods_in = ByNamespace(self.pods)
        self.sets = self.informer(informers.get(REPLICASETS))
        self.deployments = self.informer(informers.get(DEPLOYMENTS))
        self.statefulsets = self.informer(informers.get(STATEFULSETS))
        self.budgets.on_change(lambda kind, obj, prev: self.queue.add(cache_key(obj)))
        self.pods.on_change(self._pod_changed)
        for owners in (self.sets, self.deployments, self.statefulsets):
            owners.on_change(lambda kind, obj, prev: self._namespace_changed(obj.metadata.namespace or ""))

    def _pod_changed(self, kind: str, pod: Pod, prev: Pod | None) -> None:
        for pdb in self.budgets_in(pod.metadata.namespace or ""):
            if selects(pdb, pod) or (prev is not None and selects(pdb, prev)):
                self.queue.add(cache_key(pdb))

    def _namespace_changed(self, namespace: str) -> None:
        for pdb in self.budgets_in(namespace):
            self.queue.add(cache_key(pdb))

    def scale(self, pod: Pod) -> tuple[str, int] | None:
        """The Deployment above the pod's ReplicaSet, else the ReplicaSet itself, or the pod's StatefulSet
        (Kubernetes' finders)."""
        ref = controller_of(pod)
        if ref is not None and ref.kind == "StatefulSet":
            sts = self.statefulsets.get(pod.metadata.namespace or "", ref.name)
            return (sts.metadata.uid, desired(sts)) if sts is not None and sts.metadata.uid == ref.uid else None
        if ref is None or ref.kind != "ReplicaSet":
            return None
        rs = self.sets.get(pod.metadata.namespace or "", ref.name)
        if rs is None or rs.metadata.uid != ref.uid:
            return None
        above = controller_of(rs)
        if above is not None and above.kind == "Deployment":
            deployment = self.deployments.get(pod.metadata.namespace or "", above.name)
            if deployment is not None and deployment.metadata.uid == above.uid:
                return deployment.metadata.uid, desired(deployment)
        return rs.metadata.uid, desired(rs)

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        pdb = self.budgets.get(namespace, name)
        if pdb is None or pdb.metadata.deletion_timestamp:
            return
        pods = [p for p in self.pods_in(namespace) if selects(pdb, p)]
        now = now_s()
        disrupted = still_disrupted(pdb, pods, now)
        try:
            expected, want = expected_and_desired(pdb, pods, self.scale)
            counts, error = Counts(expected, want, healthy(pods, disrupted)), ""
        except NoScale as exc:
            counts, error = None, str(exc)
        status = new_status(pdb, counts, disrupted, error, timestamp(now))
        if disrupted:  # an entry expires without any event: look again then
            first = min(seconds(t) or now for t in disrupted.values())
            add_after(self.queue, key, first + DELETION_TIMEOUT_S - now + 1)
        if status != pdb.status:
            await self.client.update_status(PDBS, dataclasses.replace(pdb, status=status))


async def run(client: Client, ready: asyncio.Event | None = None) -> None:
    await DisruptionController(client).run(ready)
