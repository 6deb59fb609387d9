"""A packing reference and an "optimize" mode: the fewest nodes a batch of pods can run on, with HiGHS.

The model is a mixed-integer program over pod *shapes* (pods with equal requests and equal node constraints are
interchangeable), which keeps it small enough to solve exactly for hundreds of pods:

    minimise    sum_n y_n                     (+ eps * moves, in optimize mode)
    subject to  sum_n x_sn = count_s          every pod of shape s is placed
                sum_s req_sr x_sn <= alloc_nr y_n    for every node n and resource r (pods included)
                x_sn integer >= 0, y_n binary, x_sn = 0 where shape s cannot run on node n
                y_n >= y_m for identical nodes n < m  (symmetry: use the first of equal nodes first)

Where shape s may run is decided by the scheduler's own static filters (labels, taints, names), so the
reference and the scheduler agree on feasibility. Within the time limit HiGHS returns either the optimum or its
best lower bound (the LP-based dual bound), so a scheduler's result can always be compared with a floor.
HiGHS suffices here (and ships as a dependency); a CP solver would add nothing for this linear model.
"""

from __future__ import annotations

import math
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field

import highspy
import numpy as np

from portside.scheduler.cycle import Cycle
from portside.scheduler.model import NodeInfo, PodInfo
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.profile import builtin_profiles


@dataclass(frozen=True)
class Move:
    pod: str
    source: str | None
    target: str


@dataclass
class PackingPlan:
    nodes_used: int | None
    lower_bound: int
    optimal: bool
    assignment: dict[str, str] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)
    unplaceable: list[str] = field(default_factory=list)


def _solver(time_limit: float) -> highspy.Highs:
    """HiGHS prints a banner on stdout when constructed, before any option can silence it; keep it off ours."""
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    return h


def shapes(pods: list[PodInfo]) -> dict[tuple, list[PodInfo]]:
    groups: dict[tuple, list[PodInfo]] = defaultdict(list)
    for pod in pods:
        groups[(tuple(sorted(pod.requests.items())), pod.static_key())].append(pod)
    return groups


def _compatibility(groups: dict[tuple, list[PodInfo]], nodes: NodeArrays) -> dict[tuple, np.ndarray]:
    cycle = Cycle(builtin_profiles()["default-scheduler"], nodes)
    out = {}
    for key, members in groups.items():
        vec, missing = nodes.request_vector(members[0])
        fits_empty = (nodes.alloc[:, : nodes.n] >= vec[:, None]).all(axis=0)
        out[key] = cycle.static_mask(members[0]) & fits_empty & (not missing)
    return out


def _node_classes(nodes: NodeArrays) -> list[list[int]]:
    """Rows of identical nodes (same allocatable, labels apart from the hostname, taints)."""
    classes: dict[tuple, list[int]] = defaultdict(list)
    for i, info in enumerate(nodes.infos):
        labels = tuple(sorted((k, v) for k, v in info.labels.items() if k != "kubernetes.io/hostname"))
        classes[(tuple(nodes.alloc[:, i]), labels, info.taints, info.unschedulable)].append(i)
    return list(classes.values())


class _Model:
    """The MIP above, built column by column."""

    def __init__(self, h: highspy.Highs) -> None:
        self.h = h
        self.cols = 0

    def var(self, cost: float, upper: float, integer: bool = True) -> int:
        self.h.addVar(0.0, upper)
        self.h.changeColCost(self.cols, cost)
        if integer:
            self.h.changeColIntegrality(self.cols, highspy.HighsVarType.kInteger)
        self.cols += 1
        return self.cols - 1

    def row(self, lower: float, upper: float, terms: dict[int, float]) -> None:
        if terms:
            self.h.addRow(lower, upper, len(terms), list(terms), list(terms.values()))


def pack(pods: list[PodInfo], node_infos: list[NodeInfo], current: dict[str, str] | None = None,
         time_limit: float = 20.0) -> PackingPlan:
    """The fewest nodes for ``pods``; with ``current`` (pod uid -> node), also the fewest moves to get there."""
    nodes = NodeArrays()
    for info in node_infos:
        nodes.set_node(info)
    groups = shapes(pods)
    compat = _compatibility(groups, nodes)
    unplaceable = [p.uid for key, members in groups.items() if not compat[key].any() for p in members]
    groups = {k: v for k, v in groups.items() if compat[k].any()}
    h = _solver(time_limit)
    model = _Model(h)
    y = [model.var(1.0, 1.0) for _ in range(nodes.n)]
    eps = 1.0 / (len(pods) + 1)
    x: dict[tuple, dict[int, int]] = {}
    for key, members in groups.items():
        x[key] = {int(n): model.var(0.0, len(members)) for n in np.flatnonzero(compat[key])}
        model.row(len(members), len(members), {col: 1.0 for col in x[key].values()})
    _capacity_rows(model, groups, x, y, nodes)
    for rows in _node_classes(nodes):
        for a, b in zip(rows, rows[1:]):
            model.row(0.0, highspy.kHighsInf, {y[a]: 1.0, y[b]: -1.0})
    if current:
        _move_terms(model, groups, x, nodes, current, eps)
    h.run()
    return _plan(h, groups, x, y, nodes, current or {}, unplaceable)


def _capacity_rows(model: _Model, groups: dict, x: dict, y: list[int], nodes: NodeArrays) -> None:
    for n in range(nodes.n):
        for r in range(len(nodes.resources)):
            terms = {}
            for key, members in groups.items():
                amount = nodes.request_vector(members[0])[0][r]
                if amount and n in x[key]:
                    terms[x[key][n]] = float(amount)
            if terms:
                terms[y[n]] = -float(nodes.alloc[r, n])
                model.row(-highspy.kHighsInf, 0.0, terms)


def _move_terms(model: _Model, groups: dict, x: dict, nodes: NodeArrays, current: dict[str, str],
                eps: float) -> None:
    """moves_sn >= current_sn - x_sn: each pod of shape s that leaves node n costs eps."""
    for key, members in groups.items():
        here = defaultdict(int)
        for pod in members:
            if pod.uid in current:
                here[nodes.index[current[pod.uid]]] += 1
        for n, count in here.items():
            m = model.var(eps, count)
            terms = {m: 1.0}
            if n in x[key]:
                terms[x[key][n]] = 1.0
            model.row(count, highspy.kHighsInf, terms)


def _plan(h: highspy.Highs, groups: dict, x: dict, y: list[int], nodes: NodeArrays, current: dict[str, str],
          unplaceable: list[str]) -> PackingPlan:
    info = h.getInfo()
    status = h.getModelStatus()
    optimal = status == highspy.HighsModelStatus.kOptimal
    bound = math.ceil(info.mip_dual_bound - 1e-6) if math.isfinite(info.mip_dual_bound) else 0
    if info.primal_solution_status == 0:  # no feasible solution found in time
        return PackingPlan(None, bound, False, unplaceable=unplaceable)
    values = h.getSolution().col_value
    used = int(round(sum(values[c] for c in y)))
    plan = PackingPlan(used, used if optimal else min(bound, used), optimal, unplaceable=unplaceable)
    for key, members in groups.items():
        target = {n: int(round(values[c])) for n, c in x[key].items()}
        _assign(members, target, nodes, current, plan)
    return plan


def _assign(members: list[PodInfo], target: dict[int, int], nodes: NodeArrays, current: dict[str, str],
            plan: PackingPlan) -> None:
    """Keep pods where the plan keeps room for them; move the rest into the plan's free slots."""
    moving = []
    for pod in members:
        n = nodes.index.get(current.get(pod.uid, ""), -1)
        if target.get(n, 0) > 0:
            target[n] -= 1
            plan.assignment[pod.uid] = nodes.names[n]
        else:
            moving.append(pod)
    slots = [n for n, count in target.items() for _ in range(count)]
    for pod, n in zip(moving, slots):
        plan.assignment[pod.uid] = nodes.names[n]
        if pod.uid in current:
            plan.moves.append(Move(pod.uid, current[pod.uid], nodes.names[n]))
