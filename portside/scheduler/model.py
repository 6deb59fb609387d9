"""The scheduler's own view of pods and nodes: only the fields placement reads, already parsed.

Wire objects (Kubernetes JSON) are turned into these once, at the edge (``wire.py``), so that filters and scores
never parse a quantity or walk a nested dict while a pod is being placed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# One selector implementation for the project (api/selectors decides nil versus empty per field); re-exported.
from portside.api.selectors import NodeSelector, NodeSelectorTerm, Requirement, Selector

__all__ = ["GANG_ANNOTATION", "GANG_MIN_ANNOTATION", "HostPort", "NodeInfo", "NodeSelector", "NodeSelectorTerm",
           "PodAffinityTerm", "PodInfo", "PreferredTerm", "Requirement", "Selector", "SpreadConstraint", "Taint",
           "Toleration", "WeightedPodAffinityTerm"]

GANG_ANNOTATION = "portside.io/gang"
GANG_MIN_ANNOTATION = "portside.io/gang-min"


@dataclass(frozen=True, slots=True)
class PreferredTerm:
    weight: int
    term: NodeSelectorTerm


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"

    def __str__(self) -> str:
        return f"{{{self.key}: {self.value}}}" if self.value else f"{{{self.key}}}"


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if not self.key:
            return self.operator == "Exists"
        if self.key != taint.key:
            return False
        return self.operator == "Exists" or self.value == taint.value


@dataclass(frozen=True, slots=True)
class PodAffinityTerm:
    """``namespaces`` empty means the pod's own; ``all_namespaces`` is an empty ``namespaceSelector`` ({})."""

    selector: Selector
    topology_key: str
    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False


@dataclass(frozen=True, slots=True)
class WeightedPodAffinityTerm:
    weight: int
    term: PodAffinityTerm


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    when_unsatisfiable: str
    selector: Selector


@dataclass(frozen=True, slots=True)
class HostPort:
    port: int
    protocol: str = "TCP"
    ip: str = "0.0.0.0"

    def conflicts(self, other: HostPort) -> bool:
        same = self.port == other.port and self.protocol == other.protocol
        wildcard = "0.0.0.0" in (self.ip, other.ip)
        return same and (wildcard or self.ip == other.ip)


@dataclass(slots=True, eq=False)
class PodInfo:
    """A pod as the scheduler sees it. ``requests`` are integers: cpu in millicores, the rest in units."""

    name: str
    namespace: str = "default"
    uid: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    priority: int = 0
    preemption_policy: str = "PreemptLowerPriority"
    scheduler_name: str = "default-scheduler"
    node_name: str = ""
    node_selector: Selector = Selector()
    node_affinity: NodeSelector | None = None  # required terms; None is no constraint, no terms is no node
    preferred_terms: tuple[PreferredTerm, ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    host_ports: tuple[HostPort, ...] = ()
    affinity: tuple[PodAffinityTerm, ...] = ()
    anti_affinity: tuple[PodAffinityTerm, ...] = ()
    preferred_affinity: tuple[WeightedPodAffinityTerm, ...] = ()
    preferred_anti_affinity: tuple[WeightedPodAffinityTerm, ...] = ()
    spread: tuple[SpreadConstraint, ...] = ()
    images: tuple[str, ...] = ()
    gang: str = ""
    gang_min: int = 0
    created: float = 0.0
    resource_version: str = ""
    termination_grace_s: float = 30.0
    batch_rank: int = 0  # place within a batch submitted at once, set by the queue sort's batch order
    claims: tuple[str, ...] = ()  # PersistentVolumeClaims its volumes name (in its namespace)

    def __post_init__(self) -> None:
        if not self.uid:
            self.uid = f"{self.namespace}/{self.name}"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def static_key(self) -> tuple:
        """What the node-only filters read; pods with equal keys share one cached feasibility mask."""
        return (self.node_name, self.node_selector, self.node_affinity, self.tolerations)


@dataclass(slots=True, eq=False)
class NodeInfo:
    """A node as the scheduler sees it: allocatable in the same integer units as pod requests."""

    name: str
    allocatable: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    images: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.labels.setdefault("kubernetes.io/hostname", self.name)
        self.allocatable.setdefault("pods", 110)
