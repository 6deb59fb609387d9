"""Gang scheduling: pods annotated ``portside.io/gang: NAME`` and ``portside.io/gang-min: N`` are placed all
together or not at all.

The scheduler takes every queued member of the gang at once and runs each member's cycle in turn, so each sees
the room the previous ones reserved. The members share one ``Gang`` record in their cycle states. ``Coscheduling``
is the profile's plugin for both stages it needs: its PreFilter refuses every member while fewer than ``min``
members exist (queued plus running), and its Permit says WAIT until at least ``min`` members (counting those
already running) hold a reservation. On WAIT every reservation is released before anything is bound, so no
partial gang ever holds resources and no half gang ever starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from portside.scheduler.framework import (
    NODE_ADD,
    NODE_UPDATE,
    POD_ADD,
    POD_DELETE,
    SUCCESS,
    Code,
    CycleState,
    Status,
)
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays

NAME = "Coscheduling"
EVENTS = frozenset({NODE_ADD, NODE_UPDATE, POD_DELETE, POD_ADD})
NOT_A_GANG = Status(Code.SKIP, plugin=NAME)


def gang_min(members: list[PodInfo]) -> int:
    """The quorum: the largest gang-min any member states (at least 1)."""
    return max([1] + [p.gang_min for p in members])


def running(nodes: NodeArrays, namespace: str, gang: str) -> int:
    return sum(1 for pod, _ in nodes.placed.values() if pod.gang == gang and pod.namespace == namespace)


@dataclass
class Gang:
    """One attempt at a gang, shared by its members' cycle states; the core counts ``reserved`` as it goes."""

    name: str
    quorum: int
    present: int  # members queued now plus members already running
    running: int
    reserved: int = 0

    @classmethod
    def of(cls, members: list[PodInfo], nodes: NodeArrays) -> Gang:
        first = members[0]
        run = running(nodes, first.namespace, first.gang)
        return cls(first.gang, gang_min(members), len(members) + run, run, run)


class Coscheduling:
    """PreFilter: refuse while the gang is short of members. Permit: WAIT until the quorum holds reservations."""

    NAME = NAME

    def prefilter(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> Status:
        gang = state.get(NAME)
        if gang is None:
            return NOT_A_GANG
        if gang.present < gang.quorum:
            return Status(Code.UNSCHEDULABLE, waiting_message(gang.name, gang.present, gang.quorum), NAME)
        return SUCCESS

    def permit(self, state: CycleState, pod: PodInfo) -> Status:
        gang = state.get(NAME)
        if gang is None or gang.reserved >= gang.quorum:
            return SUCCESS
        return Status(Code.WAIT, f"gang {gang.name}: {gang.reserved} of {gang.quorum} pods placed", NAME)


def waiting_message(gang: str, present: int, quorum: int) -> str:
    return f"gang {gang}: waiting for members, {present} of {quorum} present"
