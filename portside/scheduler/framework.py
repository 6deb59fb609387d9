"""Extension points of a scheduling profile, as Protocols, the Status they return, and the CycleState they share.

A pod's scheduling cycle runs, each stage through the plugins its profile lists: QueueSort (order of the active
queue), PreFilter (compute once what the filters and scores of this attempt need, or reject early, e.g. a gang
that is not complete), Filter (which nodes can run it), Score (which of those is best), Permit (hold the pod
until its gang is complete), Reserve (decide what the binding needs written first: volume choices), then
binding through the Binder seam (``binder.py``). Reserving room is the core's, not a plugin's:
``NodeArrays.assume`` counts the pod on its node before binding, as kube-scheduler's cache assumes, and
``forget`` releases it when Permit or the bind says no.

Filters and scores work on NumPy arrays over a range of node rows rather than on one node, which is what makes a
cycle a handful of vector operations. What one attempt computes lives in its ``CycleState``, keyed by plugin
name, never in the shared node table or in plugin fields: a plugin's PreFilter writes, its Filter and Score read.
The Code of a Status tells the queue what to do with the pod next.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

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
PVC_CHANGE = "PersistentVolumeClaimChange"
PV_CHANGE = "PersistentVolumeChange"
SC_CHANGE = "StorageClassChange"


class CycleState(dict):
    """Per-attempt plugin data keyed by plugin name (kube-scheduler's CycleState); dropped when the attempt ends.

    A dict underneath, so that ``get`` on the per-pod path costs no Python call."""

    __slots__ = ()

    def write(self, key: str, value: Any) -> None:
        self[key] = value

    def read(self, key: str) -> Any:
        """A missing key is a wiring error (a Filter whose PreFilter did not run), never a pod's fault."""
        try:
            return self[key]
        except KeyError:
            raise KeyError(f"cycle state has no {key!r}: the plugin's PreFilter did not run") from None


class QueueSort(Protocol):
    NAME: str

    def key(self, pod: PodInfo) -> tuple: ...


class PreFilter(Protocol):
    """Writes the plugin's per-pod data into ``state``; SKIP when its Filter has nothing to check for this pod,
    UNSCHEDULABLE(_AND_UNRESOLVABLE) to refuse the pod before any node is looked at."""

    NAME: str

    def prefilter(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> Status: ...


@runtime_checkable
class Filter(Protocol):
    """Which node rows in ``[lo, hi)`` can run the pod.

    ``STATIC`` filters read only node fields (labels, taints, names), so their mask is cached per pod shape until
    a node changes (they get a fresh, empty state). ``RESOLVABLE`` says whether evicting pods could make a failing
    node pass (preemption asks). ``EVENTS`` are the cluster events that can turn a refusal into a fit. ``mask``
    returns None when every node passes (nothing to check for this pod), which keeps the common case free.
    """

    NAME: str
    STATIC: bool
    RESOLVABLE: bool
    EVENTS: frozenset[str]

    def mask(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None: ...

    def reasons(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]: ...


class Score(Protocol):
    """A 0-100 score per node row in ``idx`` (higher is better); ``skip`` when it would score all nodes alike."""

    NAME: str

    def skip(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> bool: ...

    def score(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, idx: np.ndarray) -> np.ndarray: ...


class Reserve(Protocol):
    """On the chosen node, once its room is assumed and before Permit: decide what the pod's binding needs
    written first (volume choices), and assume it, so the next pod sees it taken. Runs only when the plugin's
    PreFilter wrote state for the pod. A refusal parks the pod; ``unreserve`` drops what was assumed when
    Permit or the bind says no (it must accept pods it reserved nothing for)."""

    NAME: str

    def reserve(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, node: str) -> Status: ...

    def unreserve(self, pod: PodInfo, nodes: NodeArrays) -> None: ...


class Permit(Protocol):
    """After the pod (and, for a gang, every member) holds a reservation: SUCCESS binds, WAIT releases and parks."""

    NAME: str

    def permit(self, state: CycleState, pod: PodInfo) -> Status: ...


def count_reason(failing: np.ndarray, reason: str) -> dict[str, int]:
    """The usual ``reasons``: every failing node for one reason."""
    count = int(np.count_nonzero(failing))
    return {reason: count} if count else {}
