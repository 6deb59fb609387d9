"""Synthetic workload traces with the habits of real services, for tests and benchmarks: a daily cycle (busy
afternoons, quiet nights), a weekly one (quieter weekends), multiplicative noise, steady growth, and rare bursts
of a few samples. Deterministic for a seed, and the generating parameters are returned so a test knows the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SynthWorkload", "generate", "write_csv"]

DAY, WEEK = 86400.0, 7 * 86400.0
START = 1_793_577_600.0  # 2026-11-02T00:00:00Z, a Monday


@dataclass
class SynthWorkload:
    name: str
    replicas: int
    cpu_base: float  # cores per replica at the mean of the cycles, at t = 0
    memory_base: float  # bytes per replica
    daily: float  # relative amplitude of the daily cycle
    weekend: float  # weekend level relative to weekdays
    growth: float  # relative growth per 28 days
    noise: float  # sd of the multiplicative noise
    cpu_request: float
    memory_request: float


def _shape(t: np.ndarray, w: SynthWorkload) -> np.ndarray:
    """The noiseless level relative to ``cpu_base``: growth x daily x weekly."""
    day = np.sin(2 * np.pi * ((t - START) % DAY) / DAY - np.pi / 2)  # lowest at midnight, highest at noon
    weekend = ((t - START) % WEEK) >= 5 * DAY
    grow = 1 + w.growth * (t - START) / (28 * DAY)
    return grow * (1 + w.daily * day) * np.where(weekend, w.weekend, 1.0)


def generate(workloads: int, days: int, step_s: float = 300.0, seed: int = 1, bursts: bool = True,
             growth: tuple[float, float] = (0.0, 0.2)) -> tuple[list[SynthWorkload], dict[str, np.ndarray]]:
    """Columns of a trace (``timestamp`` epoch seconds, ``workload``, ``cpu``, ``memory``, ``replicas``,
    ``cpu_request``, ``memory_request``) and the workloads that made them."""
    rng = np.random.default_rng(seed)
    t = START + np.arange(int(days * DAY / step_s)) * step_s
    specs, cols = [], {k: [] for k in ("timestamp", "workload", "cpu", "memory", "replicas", "cpu_request",
                                       "memory_request")}
    for i in range(workloads):
        base = float(np.clip(rng.lognormal(np.log(0.25), 0.6), 0.02, 2.0))
        w = SynthWorkload(name=f"ns{i % 5}/app-{i:04d}", replicas=int(rng.integers(1, 5)), cpu_base=base,
                          memory_base=float(rng.uniform(128, 2048)) * 2**20, daily=float(rng.uniform(0.2, 0.6)),
                          weekend=float(rng.uniform(0.6, 0.95)), growth=float(rng.uniform(*growth)),
                          noise=float(rng.uniform(0.03, 0.1)), cpu_request=base * float(rng.uniform(0.5, 2.5)),
                          memory_request=float(rng.uniform(128, 4096)) * 2**20)
        specs.append(w)
        level = _shape(t, w)
        cpu = w.cpu_base * level * np.exp(rng.normal(0, w.noise, len(t)))
        if bursts:
            for at in np.flatnonzero(rng.random(len(t)) < 0.001):
                cpu[at: at + int(rng.integers(2, 7))] *= rng.uniform(1.5, 2.5)
        memory = w.memory_base * (1 + 0.1 * (level - 1)) * np.exp(rng.normal(0, 0.02, len(t)))
        cols["timestamp"].append(t)
        cols["workload"].append(np.full(len(t), w.name, dtype=object))
        cols["cpu"].append(cpu * w.replicas)
        cols["memory"].append(memory * w.replicas)
        cols["replicas"].append(np.full(len(t), w.replicas))
        cols["cpu_request"].append(np.full(len(t), w.cpu_request))
        cols["memory_request"].append(np.full(len(t), w.memory_request))
    return specs, {k: np.concatenate(v) for k, v in cols.items()}


def write_csv(columns: dict[str, np.ndarray], path: str | Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(columns)
    frame["timestamp"] = frame["timestamp"].astype(np.int64)
    frame["memory"] = frame["memory"].round().astype(np.int64)
    frame["memory_request"] = frame["memory_request"].round().astype(np.int64)
    frame.to_csv(path, index=False, float_format="%.5g")
