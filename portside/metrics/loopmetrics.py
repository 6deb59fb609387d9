"""Counters and histograms for the instruments on a server's hottest path, counted without locks.

``prometheus_client`` takes a lock for every increment: a histogram observation takes two (its bucket and its
sum), a counter one, and the API server observes a request, its latency and each store operation it made, some
thousands of times a second (a scheduler binding a backlog). These families are updated only from the event
loop's thread, where no lock is needed, and are turned into the same exposition (``_total``; ``_bucket``,
``_count``, ``_sum``) when ``/metrics`` is scraped, through the collector interface every registry reads.

An update from another thread would at worst lose a count; nothing here can fail or block.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

__all__ = ["LoopCounter", "LoopHistogram"]


class LoopCounter:
    """A counter family; ``child(*labels)`` gives the function that adds one to that series."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], registry=REGISTRY) -> None:
        self.name, self.documentation, self.labelnames = name.removesuffix("_total"), documentation, list(labelnames)
        self.series: dict[tuple[str, ...], list[int]] = {}
        if registry is not None:
            registry.register(self)

    def child(self, *labels: str) -> Callable[[], None]:
        cell = self.series.setdefault(tuple(labels), [0])

        def inc() -> None:
            cell[0] += 1
        return inc

    def collect(self):
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, cell in sorted(self.series.items()):
            family.add_metric(list(labels), cell[0])
        yield family

    def describe(self):
        return [CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)]


class LoopHistogram:
    """A histogram family with fixed buckets; ``child(*labels)`` gives that series' observe function."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float],
                 registry=REGISTRY) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, list(labelnames)
        self.bounds = tuple(float(b) for b in buckets if b != math.inf) + (math.inf,)
        self.series: dict[tuple[str, ...], list] = {}  # labels -> per-bucket counts (not cumulative), then the sum
        if registry is not None:
            registry.register(self)

    def child(self, *labels: str) -> Callable[[float], None]:
        cells = self.series.setdefault(tuple(labels), [0] * len(self.bounds) + [0.0])
        bounds, last = self.bounds, len(self.bounds)

        def observe(value: float) -> None:
            cells[bisect.bisect_left(bounds, value)] += 1  # the first bucket whose bound is >= the value
            cells[last] += value
        return observe

    def collect(self):
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, cells in sorted(self.series.items()):
            running, buckets = 0, []
            for bound, count in zip(self.bounds, cells):
                running += count
                buckets.append((_bound_text(bound), running))
            family.add_metric(list(labels), buckets, cells[-1])
        yield family

    def describe(self):
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]


def _bound_text(bound: float) -> str:
    """The ``le`` label as prometheus_client writes it (``0.005``, ``1.0``, ``+Inf``)."""
    return "+Inf" if bound == math.inf else repr(float(bound))
