"""Extension points of a scheduling profile, as Protocols, and the Status they return.

A pod's scheduling cycle runs: QueueSort (order of the active queue), PreFilter (reject early, e.g. a gang that is
not complete), Filter (which nodes can run it), Score (which of those is best), Reserve (count the pod on the
node before binding, so the next pod sees the room as taken), Permit (hold the pod until its gang is complete),
Bind. Filters and scores work on NumPy arrays over a range of node rows rather than on one node, which is what
makes a cycle a handful of vector operations. The Code of a Status tells the queue what to do with the pod next.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays


class Code(enum.Enum):
    """What happens to the pod after a plugin answered."""

    SUCCESS = "Success"
    # No node fits now; a cluster event (node added, pod deleted, ...) may help: park until one arrives.
    UNSCHEDULABLE = "Unschedulable"
    # No node fits and preempting pods would not help either (e.g. nodeSelector matches no node).
    UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
    # Permit: hold the pod (a gang that is not complete yet).
    WAIT = "Wait"
    # The plugin has nothing to say about this pod (e.g. a score with no preferences to weigh).
    SKIP = "Skip"
    # Something broke (a bind conflict, an API error): retry after back-off.
    ERROR = "Error"


@dataclass(frozen=True, slots=True)
class Status:
    code: Code = Code.SUCCESS
    message: str = ""
    plugin: str = ""

    @property
    def ok(self) -> bool:
        return self.code is Code.SUCCESS


SUCCESS = Status()

# Cluster events a parked pod may be waiting for (the queue moves it when one arrives).
NODE_ADD = "NodeAdd"
NODE_UPDATE = "NodeUpdate"
POD_DELETE = "PodDelete"
POD_ADD = "PodAdd"


class QueueSort(Protocol):
    NAME: str

    def key(self, pod: PodInfo) -> tuple: ...


class PreFilter(Protocol):
    NAME: str

    def prefilter(self, pod: PodInfo, nodes: NodeArrays) -> Status: ...


@runtime_checkable
class Filter(Protocol):
    """Which node rows in ``[lo, hi)`` can run the pod.

    ``STATIC`` filters read only node fields (labels, taints, names), so their mask is cached per pod shape until
    a node changes. ``RESOLVABLE`` says whether evicting pods could make a failing node pass (preemption asks).
    ``EVENTS`` are the cluster events that can turn a refusal into a fit. ``mask`` returns None when every node
    passes (nothing to check for this pod), which keeps the common case free.
    """

    NAME: str
    STATIC: bool
    RESOLVABLE: bool
    EVENTS: frozenset[str]

    def mask(self, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None: ...

    def reasons(self, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]: ...


class Score(Protocol):
    """A 0-100 score per node row in ``idx`` (higher is better); ``skip`` when it would score all nodes alike."""

    NAME: str

    def skip(self, pod: PodInfo, nodes: NodeArrays) -> bool: ...

    def score(self, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray: ...


class Reserve(Protocol):
    NAME: str

    def reserve(self, pod: PodInfo, node: int) -> Status: ...

    def unreserve(self, pod: PodInfo, node: int) -> None: ...


class Permit(Protocol):
    NAME: str

    def permit(self, pod: PodInfo, reserved: int) -> Status: ...


class Bind(Protocol):
    NAME: str

    def bind(self, pod: PodInfo, node: str) -> Status: ...


def count_reason(failing: np.ndarray, reason: str) -> dict[str, int]:
    """The usual ``reasons``: every failing node for one reason."""
    count = int(np.count_nonzero(failing))
    return {reason: count} if count else {}
