"""Gang scheduling: pods annotated ``portside.io/gang: NAME`` and ``portside.io/gang-min: N`` are placed all
together or not at all.

The scheduler takes every queued member of the gang at once and reserves them one after another, so each sees
the room the previous ones took. The Permit rule below then decides: once at least ``min`` members (counting
members already running) hold a reservation, all of them bind; otherwise every reservation is released before
anything is bound, so no partial gang ever holds resources and no half gang ever starts.
"""

from __future__ import annotations

from portside.scheduler.framework import NODE_ADD, NODE_UPDATE, POD_ADD, POD_DELETE, Code, Status
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays

NAME = "Gang"
EVENTS = frozenset({NODE_ADD, NODE_UPDATE, POD_DELETE, POD_ADD})


def gang_min(members: list[PodInfo]) -> int:
    """The quorum: the largest gang-min any member states (at least 1)."""
    return max([1] + [p.gang_min for p in members])


def running(nodes: NodeArrays, namespace: str, gang: str) -> int:
    return sum(1 for pod, _ in nodes.placed.values() if pod.gang == gang and pod.namespace == namespace)


class GangPermit:
    """Permit: WAIT until the quorum holds reservations, then SUCCESS for the whole gang."""

    NAME = NAME

    def __init__(self, quorum: int) -> None:
        self.quorum = quorum

    def permit(self, pod: PodInfo, reserved: int) -> Status:
        if reserved >= self.quorum:
            return Status()
        return Status(Code.WAIT, f"gang {pod.gang}: {reserved} of {self.quorum} pods placed", NAME)


def waiting_message(gang: str, present: int, quorum: int) -> str:
    return f"gang {gang}: waiting for members, {present} of {quorum} present"
