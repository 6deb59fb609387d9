"""The three questions over a usage source, as pure functions of its data: right-sizing (``rightsize``), demand
forecasts (``forecast``) and node plans (``plan``, ``replay``, ``what_if``). The CLI and the report format them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from portside.capacity import forecast as fc
from portside.capacity.histogram import Recommendation, recommend
from portside.capacity.plan import (
    Demand,
    Fit,
    NodeShape,
    fragmentation,
    headroom,
    pods_for,
    replicas_for,
    smallest_fit,
    try_fit,
)
from portside.capacity.trace import Trace, WorkloadSeries

__all__ = ["Outlook", "Plan", "Sizing", "demand_at", "demands", "forecast", "plan", "replay", "report_plan", "rightsize",
           "what_if"]

OVER, UNDER = 1.5, 1.0  # request above 1.5x the recommendation is over-provisioned; below it, under


@dataclass
class Sizing:
    name: str
    replicas: int
    cpu_request: float | None  # current, per replica
    memory_request: float | None
    cpu: dict[str, float]  # observed per-replica percentiles: p50, p95, p99, max
    memory: dict[str, float]
    recommendation: Recommendation
    oom_kills: int
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"workload": self.name, "replicas": self.replicas, "cpu_request": self.cpu_request,
                "memory_request": self.memory_request, "cpu_usage": self.cpu, "memory_usage": self.memory,
                "recommended": self.recommendation.as_dict(), "oom_kills": self.oom_kills, "flags": self.flags}


def _last(values: np.ndarray) -> float | None:
    known = values[~np.isnan(values)]
    return float(known[-1]) if len(known) else None


def _percentiles(values: np.ndarray) -> dict[str, float]:
    p50, p95, p99 = np.quantile(values, [0.5, 0.95, 0.99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(values.max())}


def _flags(s: Sizing) -> list[str]:
    rec, flags = s.recommendation, []
    for res, current, target in (("cpu", s.cpu_request, rec.cpu_request),
                                 ("memory", s.memory_request, rec.memory_request)):
        if current is None:
            continue
        if current > OVER * target:
            flags.append(f"over-provisioned {res}")
        elif current < UNDER * target / (1.15 if res == "cpu" else 1.0) or (res == "memory" and
                                                                              current < rec.memory_peak):
            flags.append(f"under-provisioned {res}")
    if s.oom_kills:
        flags.append("OOM-killed")
    return flags


def size_one(series: WorkloadSeries) -> Sizing:
    cpu = series.cpu / series.replicas
    memory = series.memory / series.replicas
    kills = int(series.oom_kills.sum())
    sizing = Sizing(series.name, int(series.replicas[-1]), _last(series.cpu_request), _last(series.memory_request),
                    _percentiles(cpu), _percentiles(memory), recommend(series.t, cpu, memory, kills), kills)
    sizing.flags = _flags(sizing)
    return sizing


def rightsize(trace: Trace) -> dict[str, Sizing]:
    return {name: size_one(trace.workloads[name]) for name in sorted(trace.workloads)}


@dataclass
class Outlook:
    """Hourly history and forecasts for every workload and for the cluster's total."""

    history: fc.Hourly
    horizon_h: int
    cpu: fc.Forecast
    memory: fc.Forecast
    total_cpu: fc.Forecast
    total_memory: fc.Forecast
    seasonality: fc.Seasonality

    @property
    def forecast_start(self) -> float:
        return self.history.start + self.history.cpu.shape[1] * fc.HOUR


def forecast(trace: Trace, horizon_h: int, model: str = "harmonic") -> Outlook:
    """``model`` over the hourly history; a history too short for a daily cycle gets the flat forecast."""
    history = fc.hourly(trace)
    season = fc.seasonality((trace.end - trace.start) / fc.HOUR)
    if season.model == "none":
        series = [trace.workloads[n] for n in history.names]
        cpu = fc.flat([s.cpu for s in series], history.cpu, horizon_h)
        memory = fc.flat([s.memory for s in series], history.memory, horizon_h)
        return Outlook(history, horizon_h, cpu, memory, fc.summed(cpu), fc.summed(memory), season)
    fit = fc.MODELS[model]
    return Outlook(history, horizon_h, fit(history.cpu, horizon_h), fit(history.memory, horizon_h),
                   fit(history.cpu.sum(axis=0, keepdims=True), horizon_h),
                   fit(history.memory.sum(axis=0, keepdims=True), horizon_h), season)


def demand_at(trace: Trace, outlook: Outlook, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Per workload (in ``outlook.history.names`` order), the target quantile of fine-grained cpu and memory
    demand over the forecast horizon."""
    series = [trace.workloads[n] for n in outlook.history.names]
    start, h = outlook.forecast_start, outlook.horizon_h
    cpu = fc.demand_quantile(outlook.cpu.slope, start, h, [(s.t, s.cpu) for s in series], target)
    mem = fc.demand_quantile(outlook.memory.slope, start, h, [(s.t, s.memory) for s in series], target)
    return cpu, mem


def demands(names: list[str], sizing: dict[str, Sizing], cpu: np.ndarray, memory: np.ndarray) -> list[Demand]:
    """Each workload's pods for a demand: as many replicas as the demand needs at the recommended request, each
    requesting an equal share of the demand (so never more than the recommendation). Requesting the share rather
    than the whole recommendation keeps the total smooth in the demand: a workload 2 % busier asks for 2 % more,
    not for one more full-size pod."""
    out = []
    for name, c, m in zip(names, cpu, memory):
        rec = sizing[name].recommendation
        n = replicas_for(c, m, rec.cpu_request, rec.memory_request)
        out.append(Demand(name, n, max(c / n, 0.001), max(m / n, 2.0**20)))
    return out


@dataclass
class Plan:
    shape: NodeShape
    target: float
    spare: int
    horizon_h: int
    profile: str
    sizing: dict[str, Sizing]
    outlook: Outlook
    demands: list[Demand]
    fit: Fit
    curve: list[dict] = field(default_factory=list)

    @property
    def nodes_needed(self) -> int:
        return self.fit.nodes

    @property
    def nodes_planned(self) -> int:
        return self.fit.nodes + self.spare


def plan(trace: Trace, shape: NodeShape, target: float = 0.99, spare: int = 0, horizon_h: int = 168,
         profile: str = "binpack", curve: bool = False) -> Plan:
    sizing = rightsize(trace)
    outlook = forecast(trace, horizon_h)
    cpu, mem = demand_at(trace, outlook, target)
    wanted = demands(outlook.history.names, sizing, cpu, mem)
    result = Plan(shape, target, spare, horizon_h, profile, sizing, outlook, wanted,
                  smallest_fit(shape, pods_for(wanted), profile))
    if curve:
        result.curve = node_curve(result)
    return result


def node_curve(p: Plan) -> list[dict]:
    """Nodes needed for each forecast day's peak (point forecast), found by the scheduler like the plan."""
    out = []
    names, o = p.outlook.history.names, p.outlook
    days = math.ceil(p.horizon_h / 24)
    for day in range(days):
        hours = slice(day * 24, min((day + 1) * 24, p.horizon_h))
        wanted = demands(names, p.sizing, o.cpu.point[:, hours].max(axis=1), o.memory.point[:, hours].max(axis=1))
        fit = smallest_fit(p.shape, pods_for(wanted), p.profile)
        out.append({"day": day + 1, "start": o.forecast_start + day * 86400, "nodes": fit.nodes})
    return out


def replay(p: Plan, held_out: Trace) -> dict:
    """Replays the held-out period's actual demand at the plan's target percentile, at the plan's pod shapes:
    pods left pending on the planned nodes, and the smallest node count that leaves none."""
    names = p.outlook.history.names
    cpu = np.array([np.quantile(held_out.workloads[n].cpu, p.target) for n in names])
    mem = np.array([np.quantile(held_out.workloads[n].memory, p.target) for n in names])
    wanted = demands(names, p.sizing, cpu, mem)
    pods = pods_for(wanted)
    on_plan = try_fit(p.shape, p.nodes_needed, pods, p.profile)
    smallest = smallest_fit(p.shape, pods, p.profile)
    return {"pending_on_plan": len(on_plan.pending), "nodes_min_feasible": smallest.nodes,
            "pods": len(pods), "nodes_planned": p.nodes_needed}


def what_if(p: Plan, extra: Demand) -> dict:
    """Would ``extra`` fit beside the planned demand on the planned nodes? The answer carries the scheduler's
    refusal for the first of its pods left pending."""
    ours = pods_for([extra])
    placement = try_fit(p.shape, p.nodes_planned, pods_for(p.demands) + ours, p.profile)
    pending = [placement.pending[pod.uid] for pod in ours if pod.uid in placement.pending]
    others = len(placement.pending) - len(pending)
    return {"workload": extra.name, "replicas": extra.pods, "fits": not placement.pending,
            "pending": len(pending), "displaced": others, "reason": pending[0] if pending else
            (next(iter(placement.pending.values())) if others else "")}


def report_plan(p: Plan) -> dict:
    return {
        "nodes_planned": p.nodes_planned, "nodes_needed": p.nodes_needed, "spare": p.spare,
        "node_shape": p.shape.spec, "target": p.target, "horizon_h": p.horizon_h, "profile": p.profile,
        "pods": sum(d.pods for d in p.demands), "probes": p.fit.probes,
        "headroom": headroom(p.fit.placement, p.demands),
        "fragmentation": fragmentation(p.fit.placement, p.demands),
        "node_curve": p.curve,
        "workloads": [{**p.sizing[d.name].as_dict(), "planned_replicas": d.pods,
                       "pod_cpu": d.cpu, "pod_memory": d.memory} for d in p.demands],
    }
