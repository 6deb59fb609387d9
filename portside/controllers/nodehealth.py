"""Node lifecycle's pure core: is a node still heard from, which conditions and taints it should carry, and how
fast its pods may be evicted when many nodes are lost at once. Kubernetes' node lifecycle controller is the model.

A node is heard from while its Lease in ``kube-node-lease`` is renewed: the controller notes, on its own clock,
when it last saw the renewTime change (as Kubernetes keeps a probe timestamp, so that a skewed node clock does
not matter), and a node unheard of for longer than the grace period gets its Ready condition set to Unknown.

Taints follow the Ready condition: ``node.kubernetes.io/unreachable`` for Unknown, ``node.kubernetes.io/not-ready``
for False. The NoSchedule one is added at once (the scheduler must stop placing pods there, though every pod
tolerates the NoExecute one for a while); the NoExecute one, which starts evictions, is rate limited: a token
bucket hands out one node at a time, and no tokens at all while the cluster looks disrupted.

Disruption, Kubernetes' zone rule without zones: when no node is Ready, or more than 2 nodes are known and at
least 55 % of them are not Ready, the likelier story is that the control plane lost the nodes, not that the nodes
died, so evicting would only make things worse. Full disruption (none Ready) stops evictions and lifts the
NoExecute taints, as Kubernetes' "master disruption mode" does; partial disruption evicts at a reduced rate,
which is 0 for clusters of up to 50 nodes, as Kubernetes' ``--large-cluster-size-threshold`` has it. Here both
stop evictions on small clusters; a cluster of 3 that loses 2 keeps its pods where they were.
"""

from __future__ import annotations

import dataclasses
import enum
import math

from portside.api.models import Node, NodeCondition, Taint

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
LIFECYCLE_KEYS = (NOT_READY, UNREACHABLE)
UNHEALTHY_THRESHOLD = 0.55  # Kubernetes' --unhealthy-zone-threshold
LARGE_CLUSTER = 50  # Kubernetes' --large-cluster-size-threshold
SECONDARY_RATE = 0.01  # Kubernetes' --secondary-node-eviction-rate (nodes per second)
UNKNOWN_REASON = "NodeStatusUnknown"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."


class Disruption(enum.Enum):
    NORMAL = "Normal"
    PARTIAL = "PartialDisruption"
    FULL = "FullDisruption"


def ready_status(node: Node) -> str:
    """The Ready condition's status: True, False or Unknown (a node that never posted one is Unknown)."""
    conditions = (node.status.conditions if node.status else None) or []
    ready = next((c for c in conditions if c.type == "Ready"), None)
    return ready.status if ready is not None and ready.status in ("True", "False") else "Unknown"


def posted_ready(node: Node) -> bool:
    return any(c.type == "Ready" for c in (node.status.conditions if node.status else None) or [])


def heartbeat(node: Node) -> str | None:
    """The Ready condition's lastHeartbeatTime: a new one means the node posted its status."""
    conditions = (node.status.conditions if node.status else None) or []
    return next((c.last_heartbeat_time for c in conditions if c.type == "Ready"), None)


def silent(last_heard: float, now: float, grace: float) -> bool:
    """True once the node's Lease went unrenewed for longer than ``grace`` seconds of the controller's clock."""
    return now - last_heard > grace


def unknown_conditions(node: Node, stamp: str) -> list[NodeCondition] | None:
    """The node's conditions with Ready set Unknown (a new one when it has none); None when it already is."""
    conditions = list((node.status.conditions if node.status else None) or [])
    at = next((i for i, c in enumerate(conditions) if c.type == "Ready"), None)
    if at is not None and conditions[at].status == "Unknown":
        return None
    unknown = NodeCondition(type="Ready", status="Unknown", reason=UNKNOWN_REASON, message=UNKNOWN_MESSAGE,
                            last_transition_time=stamp,
                            last_heartbeat_time=conditions[at].last_heartbeat_time if at is not None else None)
    if at is None:
        return [*conditions, unknown]
    conditions[at] = unknown
    return conditions


def lifecycle_key(status: str) -> str | None:
    return {"False": NOT_READY, "Unknown": UNREACHABLE}.get(status)


def has_noexecute(taints: list[Taint]) -> bool:
    """Whether a lifecycle NoExecute taint is already there (changing its kind then needs no token)."""
    return any(t.key in LIFECYCLE_KEYS and t.effect == "NoExecute" for t in taints)


def desired_taints(taints: list[Taint], status: str, execute: bool, stamp: str) -> list[Taint]:
    """``taints`` with the lifecycle taints ``status`` calls for: the NoSchedule one always, the NoExecute one
    when ``execute``; other lifecycle taints go, other taints stay; a taint kept keeps its timeAdded."""
    key = lifecycle_key(status)
    want = set() if key is None else {(key, "NoSchedule")} | ({(key, "NoExecute")} if execute else set())
    out = [t for t in taints if t.key not in LIFECYCLE_KEYS or (t.key, t.effect) in want]
    have = {(t.key, t.effect) for t in out}
    for k, effect in sorted(want - have):
        out.append(Taint(key=k, effect=effect, time_added=stamp if effect == "NoExecute" else None))
    return out


def disruption(statuses: list[str]) -> Disruption:
    """The cluster's state from every node's Ready status (see the module's docstring)."""
    ready = sum(1 for s in statuses if s == "True")
    unready = len(statuses) - ready
    if unready and not ready:
        return Disruption.FULL
    if len(statuses) > 2 and unready / len(statuses) >= UNHEALTHY_THRESHOLD:
        return Disruption.PARTIAL
    return Disruption.NORMAL


def eviction_rate(state: Disruption, nodes: int, rate: float) -> float:
    """Nodes per second that may get a NoExecute taint in ``state``."""
    if state is Disruption.NORMAL:
        return rate
    if state is Disruption.PARTIAL and nodes > LARGE_CLUSTER:
        return SECONDARY_RATE
    return 0.0


@dataclasses.dataclass
class TokenBucket:
    """At most ``rate`` takes a second with bursts of ``burst``: the first lost node is tainted at once, the
    next ones one ``1/rate`` apart. A rate of 0 hands out nothing."""

    rate: float
    burst: float = 1.0
    tokens: float = 1.0
    at: float = 0.0

    def _fill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = now

    def take(self, now: float) -> bool:
        self._fill(now)
        if self.rate <= 0 or self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def wait(self, now: float) -> float:
        """Seconds until a take can succeed (infinite at rate 0)."""
        self._fill(now)
        if self.rate <= 0:
            return math.inf
        return max(0.0, (1.0 - self.tokens) / self.rate)

    def set_rate(self, rate: float, now: float) -> None:
        self._fill(now)
        self.rate = rate
