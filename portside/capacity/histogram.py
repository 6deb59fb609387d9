"""Right-sizing: a decaying usage histogram per container shape and a recommender over it, after the Vertical
Pod Autoscaler's recommender.

The histogram has exponentially growing buckets (the first 0.01 cores or 1 MiB wide, each 5 % wider than the one
before), so a percentile is known to within about 5 % at any scale, from millicores to hundreds of cores. Each
sample's weight halves for every ``half_life_s`` (7 days) it is older than the newest: recent behaviour counts
more, and a workload that grew last week is sized for its present, not its average month. VPA's half-life is
24 h; a trace of a service has a weekly cycle, and at 24 h a trace ending on a Sunday would size every workload
for its weekend, so the half-life here is a week: the last week weighs about half of a month's trace.

The recommendation, per replica (usage per replica = workload usage / replicas):

- cpu request: the 90th percentile plus a 15 % safety margin. CPU is compressible: above its request a container
  is only throttled, and only when the node is busy, so sizing to the common case (p90) packs more while the
  margin absorbs ordinary variation. (VPA's target: p90 with 15 % margin.)
- cpu limit: the peak plus 15 %, so the container is not throttled in the busiest interval the trace saw.
- memory request: the peak plus 15 %. Memory is not compressible: a container above its limit is OOM-killed and
  one above its request is the first evicted under node pressure, so the peak, not a percentile, sets it.
- memory limit: the peak plus 30 %.
- after an OOM kill, the memory figures grow by 20 % (at least 100 MiB), as VPA bumps a container that was killed:
  the peak the trace shows is then a floor, not the real need.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["CPU_MARGIN", "CPU_PERCENTILE", "DecayingHistogram", "MEMORY_MARGIN", "Recommendation", "recommend"]

CPU_PERCENTILE = 0.90
CPU_MARGIN = 0.15
MEMORY_MARGIN = 0.15
MEMORY_LIMIT_MARGIN = 0.30
OOM_BUMP, OOM_MIN_BUMP = 0.20, 100 * 2**20
HALF_LIFE_S = 7 * 86400.0
GROWTH = 1.05


class DecayingHistogram:
    """Weighted samples in exponential buckets; a sample older by ``half_life_s`` weighs half."""

    def __init__(self, first_bucket: float, half_life_s: float = HALF_LIFE_S, buckets: int = 600) -> None:
        self.first = first_bucket
        self.half_life = half_life_s
        # bucket i covers [first * (GROWTH**i - 1) / (GROWTH - 1), the same for i + 1)
        self.bounds = first_bucket * (GROWTH ** np.arange(buckets + 1) - 1) / (GROWTH - 1)
        self.weights = np.zeros(buckets)
        self.ref: float | None = None
        self.peak = 0.0

    def add(self, t: np.ndarray, values: np.ndarray) -> None:
        """Add samples (``t`` in epoch seconds) all at once."""
        if not len(values):
            return
        if self.ref is None:  # weights at most 1 for this batch: old samples underflow to 0, never overflow
            self.ref = float(np.max(t))
        index = np.clip(np.searchsorted(self.bounds, values, side="right") - 1, 0, len(self.weights) - 1)
        weight = np.exp2((np.asarray(t, dtype=float) - self.ref) / self.half_life)
        np.add.at(self.weights, index, weight)
        self.peak = max(self.peak, float(np.max(values)))

    def percentile(self, p: float) -> float:
        """The upper end of the bucket where the cumulative weight reaches ``p`` (VPA reports bucket ends too:
        the estimate errs towards more, never less)."""
        total = self.weights.sum()
        if total <= 0:
            return 0.0
        i = int(np.searchsorted(np.cumsum(self.weights), p * total, side="left"))
        return float(min(self.bounds[min(i + 1, len(self.bounds) - 1)], max(self.peak, self.bounds[1])))


@dataclass
class Recommendation:
    """Per replica: cores and bytes."""

    cpu_request: float
    cpu_limit: float
    memory_request: float
    memory_limit: float
    cpu_p90: float
    memory_peak: float
    oom_killed: bool

    def as_dict(self) -> dict:
        return asdict(self)


def recommend(t: np.ndarray, cpu_per_replica: np.ndarray, memory_per_replica: np.ndarray,
              oom_kills: int = 0, half_life_s: float = HALF_LIFE_S) -> Recommendation:
    cpu = DecayingHistogram(0.01, half_life_s)
    cpu.add(t, cpu_per_replica)
    memory = DecayingHistogram(2.0**20, half_life_s)
    memory.add(t, memory_per_replica)
    p90 = cpu.percentile(CPU_PERCENTILE)
    peak = float(np.max(memory_per_replica)) if len(memory_per_replica) else 0.0
    mem_request, mem_limit = peak * (1 + MEMORY_MARGIN), peak * (1 + MEMORY_LIMIT_MARGIN)
    if oom_kills:
        mem_request = max(mem_request * (1 + OOM_BUMP), mem_request + OOM_MIN_BUMP)
        mem_limit = max(mem_limit * (1 + OOM_BUMP), mem_limit + OOM_MIN_BUMP)
    cpu_request, memory_request = max(p90 * (1 + CPU_MARGIN), 0.001), max(math.ceil(mem_request), 2**20)
    # the floors apply to the limits too: a limit below its request is a spec the API refuses
    return Recommendation(cpu_request=cpu_request, cpu_limit=max(cpu.peak * (1 + CPU_MARGIN), cpu_request),
                          memory_request=memory_request, memory_limit=max(math.ceil(mem_limit), memory_request),
                          cpu_p90=p90, memory_peak=peak, oom_killed=bool(oom_kills))
