"""Process-wide Prometheus instruments of the control-plane components, in ``prometheus_client``'s default
registry, which the API server's ``/metrics`` exposes (``portside up`` runs them all in its process).

Defined here, on the lowest floor, so that the scheduler and the controllers count without importing the API
server. Work-queue depths are read at scrape time from the live queues (weakly held: a stopped controller's
queue disappears from the exposition with it).
"""

from __future__ import annotations

import weakref
from collections.abc import Sized

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

__all__ = ["SCHEDULE_ATTEMPTS", "SCHEDULING_LATENCY", "track_queue"]

SCHEDULE_ATTEMPTS = Counter("scheduler_schedule_attempts_total", "Pods (or gangs) the scheduler tried to place.")
SCHEDULING_LATENCY = Histogram("scheduler_scheduling_attempt_duration_seconds",
                               "Time one scheduling attempt took (the mean over a slice of attempts).",
                               buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1))

_QUEUES: weakref.WeakValueDictionary[str, Sized] = weakref.WeakValueDictionary()


def track_queue(name: str, queue: Sized) -> None:
    """Report ``len(queue)`` as ``workqueue_depth{name=...}`` while the queue lives."""
    _QUEUES[name] = queue


class _QueueDepths:
    def collect(self):
        family = GaugeMetricFamily("workqueue_depth", "Keys waiting in a controller's work queue.", labels=["name"])
        for name, queue in sorted(_QUEUES.items()):
            family.add_metric([name], len(queue))
        yield family

    def describe(self):
        return []  # nothing to check at registration: the names are only known at scrape time


REGISTRY.register(_QueueDepths())
