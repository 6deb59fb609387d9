"""QueueSort: the order of the active queue. Priority first (higher sooner), then age (older sooner).

The ``dominant`` tie-break, used by the bin-packing profile, orders pods of equal priority and age (a batch
submitted at once) by their dominant resource share, largest first: first-fit-decreasing, the classic packing
order, which a most-allocated score alone cannot give because it only ever sees one pod at a time. Shares are
taken of the cluster's total allocatable (``capacity``, kept by the scheduler), as DRF measures them.

When a whole batch is known at once (the simulator's arrivals at one instant, the pending pods found at start-up),
``batch_order`` refines this into an interleaved order: pods whose dominant resource is an extended one (GPUs,
which few nodes offer) first, as they have the fewest places to go; then the remaining pods alternate between
their dominant resources (a cpu-heavy pod, a memory-heavy pod, ...), each kind largest first. Sorting purely by
size groups like shapes together, and a group of cpu-heavy pods fills nodes' cpu while their memory goes to
waste; alternating lets best-fit scoring pair complementary shapes on one node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portside.scheduler.model import PodInfo

NAME = "PrioritySort"
TIE_BREAKS = ("age", "dominant")
CORE = ("cpu", "memory", "ephemeral-storage", "pods", "")


def dominant_share(pod: PodInfo, capacity: dict[str, int]) -> float:
    """The largest fraction of the cluster's total of any resource that the pod asks for."""
    shares = [amount / capacity[r] for r, amount in pod.requests.items() if capacity.get(r, 0) > 0]
    return max(shares, default=0.0)


def dominant_resource(pod: PodInfo, capacity: dict[str, int]) -> str:
    shares = {r: amount / capacity[r] for r, amount in pod.requests.items() if capacity.get(r, 0) > 0}
    return max(shares, key=shares.__getitem__, default="")


def batch_order(pods: list[PodInfo], capacity: dict[str, int]) -> list[PodInfo]:
    """Extended-resource pods first, then round-robin over dominant resources, each largest first."""
    kinds: dict[str, list[PodInfo]] = {}
    for pod in sorted(pods, key=lambda p: -dominant_share(p, capacity)):
        kinds.setdefault(dominant_resource(pod, capacity), []).append(pod)
    scarce = [k for k in kinds if k not in CORE]
    order = [pod for k in scarce for pod in kinds.pop(k)]
    queues = list(kinds.values())
    while queues:
        order += [q.pop(0) for q in queues]
        queues = [q for q in queues if q]
    return order


@dataclass
class PrioritySort:
    tie_break: str = "age"
    capacity: dict[str, int] = field(default_factory=dict)
    NAME = NAME

    def __post_init__(self) -> None:
        if self.tie_break not in TIE_BREAKS:
            raise ValueError(f"PrioritySort.tieBreak: expected one of {', '.join(TIE_BREAKS)}, got {self.tie_break!r}")

    def key(self, pod: PodInfo) -> tuple:
        if self.tie_break == "dominant":
            return (-pod.priority, pod.created, pod.batch_rank, -dominant_share(pod, self.capacity))
        return (-pod.priority, pod.created)

    def rank_batch(self, pods: list[PodInfo]) -> None:
        """Number a batch in ``batch_order`` (only the dominant tie-break uses it)."""
        if self.tie_break == "dominant":
            for rank, pod in enumerate(batch_order(pods, self.capacity)):
                pod.batch_rank = rank
