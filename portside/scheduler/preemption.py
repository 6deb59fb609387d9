"""Preemption: when a pod fits nowhere, find a node where evicting lower-priority pods makes room.

As kube-scheduler's DefaultPreemption: a pod with preemptionPolicy Never never preempts; only nodes whose refusal
eviction could cure are candidates (a taint or a nodeSelector mismatch stays whatever is evicted); per node, the
victims are found by removing every lower-priority pod, checking the pod fits, then giving back (reprieving) as
many as possible, highest priority first; among the nodes, the choice minimises, in order, the highest victim
priority, the sum of victim priorities, and the number of victims.

A vector pre-pass keeps this cheap on large clusters: a node is a candidate only if its free room plus the room
held by lower-priority pods covers the request, and at most ``max_candidates`` nodes are examined one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portside.scheduler.cycle import Cycle
from portside.scheduler.model import PodInfo
from portside.scheduler.nodes import NodeArrays

NEVER = "Never"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
MIN_CANDIDATES = 100
MIN_CANDIDATE_PERCENTAGE = 10


@dataclass(frozen=True)
class Candidate:
    row: int
    victims: tuple[PodInfo, ...]

    def rank(self) -> tuple:
        prios = [v.priority for v in self.victims]
        return (max(prios), sum(prios), len(prios), self.row)


def max_candidates(total: int) -> int:
    return max(MIN_CANDIDATES, total * MIN_CANDIDATE_PERCENTAGE // 100)


def room_rows(pod: PodInfo, nodes: NodeArrays, rows: np.ndarray) -> np.ndarray:
    """Rows where free room plus lower-priority pods' requests could hold the pod."""
    vec, missing = nodes.request_vector(pod)
    if missing or rows.size == 0:
        return np.zeros(0, dtype=np.intp)
    free = nodes.free[:, rows].copy()
    for priority, requested in nodes.by_priority.items():
        if priority < pod.priority:
            free += requested[:, rows]
    cols = np.flatnonzero(vec)
    return rows[(free[cols] >= vec[cols][:, None]).all(axis=0)]


def fits_row(pod: PodInfo, cycle: Cycle, row: int) -> bool:
    """Whether the dynamic filters pass ``row`` with the pods placed as they are now (a fresh cycle state, since
    the caller has just removed or returned victims)."""
    state = cycle.fresh_state(pod)
    for f in cycle.dynamic:
        part = f.mask(state, pod, cycle.nodes, row, row + 1)
        if part is not None and not part[0]:
            return False
    return True


def room_only(pod: PodInfo, nodes: NodeArrays) -> bool:
    """Whether only resources decide the fit (no ports, pod affinity, spreading or volumes in play): then victims
    can be chosen by arithmetic on request vectors instead of re-running the filters."""
    return not (pod.host_ports or pod.affinity or pod.anti_affinity or pod.spread or pod.claims
                or nodes.anti_holders.holders)


def lower_pods(pod: PodInfo, nodes: NodeArrays, row: int) -> list[PodInfo]:
    """Pods on ``row`` the pod may preempt, in reprieve order: highest priority (then oldest) first."""
    return sorted((p for p in nodes.pods[row].values() if p.priority < pod.priority),
                  key=lambda p: (-p.priority, p.created))


def victims_by_room(pod: PodInfo, nodes: NodeArrays, row: int) -> tuple[PodInfo, ...] | None:
    lower = lower_pods(pod, nodes, row)
    vec = nodes.request_vector(pod)[0]
    free = nodes.free[:, row] + sum((nodes.request_vector(p)[0] for p in lower), np.zeros_like(vec))
    if not lower or not (free >= vec).all():
        return None
    victims = []
    for victim in lower:
        need = nodes.request_vector(victim)[0]
        if (free - need >= vec).all():
            free -= need  # reprieved: it stays
        else:
            victims.append(victim)
    return tuple(victims)


def victims_on(pod: PodInfo, cycle: Cycle, row: int) -> tuple[PodInfo, ...] | None:
    """The smallest set of lower-priority pods on ``row`` whose eviction lets the pod fit, or None."""
    nodes = cycle.nodes
    if room_only(pod, nodes):
        return victims_by_room(pod, nodes, row)
    lower = lower_pods(pod, nodes, row)
    for victim in lower:
        nodes.forget(victim.uid)
    try:
        if not lower or not fits_row(pod, cycle, row):
            return None
        victims = []
        for victim in lower:
            nodes.assume(victim, row)
            if not fits_row(pod, cycle, row):
                nodes.forget(victim.uid)
                victims.append(victim)
        return tuple(victims)
    finally:
        for victim in lower:
            if victim.uid not in nodes.placed:
                nodes.assume(victim, row)


def find(pod: PodInfo, cycle: Cycle) -> tuple[Candidate | None, str]:
    """The node and victims to preempt for ``pod``, or None with the reason preemption cannot help."""
    if pod.preemption_policy == NEVER:
        return None, "not eligible due to preemptionPolicy=Never."
    nodes = cycle.nodes
    total = int(nodes.alive[: nodes.n].sum())
    if min(nodes.priorities, default=pod.priority) >= pod.priority:  # nobody to preempt: skip the scan
        return None, f"0/{total} nodes are available: {total} {NO_VICTIMS}."
    rows = room_rows(pod, nodes, cycle.resolvable_rows(pod))
    if rows.size == 0:
        return None, f"0/{total} nodes are available: {total} {NO_VICTIMS}."
    found = []
    for row in rows[: max_candidates(total)]:
        victims = victims_on(pod, cycle, int(row))
        if victims:
            found.append(Candidate(int(row), victims))
    if not found:
        return None, f"0/{total} nodes are available: {total} {NO_VICTIMS}."
    return min(found, key=Candidate.rank), ""
