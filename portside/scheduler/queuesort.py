"""QueueSort: the order of the active queue. Priority first (higher sooner), then age (older sooner).

The ``dominant`` tie-break, used by the bin-packing profile, orders pods of equal priority and age (a batch
submitted at once) by their dominant resource share, largest first: first-fit-decreasing, the classic packing
order, which a most-allocated score alone cannot give because it only ever sees one pod at a time. Shares are
taken of the cluster's total allocatable (``capacity``, kept by the scheduler), as DRF measures them: against
totals, a resource few nodes offer (GPUs) weighs more, and the pods that need it go first, before pods that
could run anywhere have filled the nodes that offer it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portside.scheduler.model import PodInfo

NAME = "PrioritySort"
TIE_BREAKS = ("age", "dominant")


def dominant_share(pod: PodInfo, capacity: dict[str, int]) -> float:
    """The largest fraction of the cluster's total of any resource that the pod asks for."""
    shares = [amount / capacity[r] for r, amount in pod.requests.items() if capacity.get(r, 0) > 0]
    return max(shares, default=0.0)


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
            return (-pod.priority, pod.created, -dominant_share(pod, self.capacity))
        return (-pod.priority, pod.created)
