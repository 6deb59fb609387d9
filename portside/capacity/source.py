"""Where usage comes from: the seam between capacity planning and metrics.

``report``, ``forecast`` and ``plan`` read a ``Trace`` from a ``UsageSource``. ``TraceSource`` reads the CSV
format of ``trace.py``; ``LiveSource`` is the place for the cluster's own history, read through the API (the
agent samples usage; the metrics API serves it). Until that pipeline keeps a history it can hand over, the live
source says so and points at ``--trace``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from portside.capacity.trace import Trace, parse_trace

__all__ = ["LiveMetricsUnavailable", "LiveSource", "TraceSource", "UsageSource"]


class UsageSource(Protocol):
    def usage(self, namespace: str | None = None, since_s: float | None = None) -> Trace:
        """Samples of every workload (optionally of one namespace) from ``since_s`` seconds before the newest."""
        ...


class LiveMetricsUnavailable(RuntimeError):
    """The cluster keeps no usage history this source can read."""


class TraceSource:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def usage(self, namespace: str | None = None, since_s: float | None = None) -> Trace:
        trace = parse_trace(self.path).namespace(namespace)
        if since_s is not None and trace.workloads:
            trace = trace.window(trace.end - since_s, trace.end)
        return trace


class LiveSource:
    """Usage history from the cluster's metrics pipeline, through the API."""

    def __init__(self, server: str | None = None) -> None:
        self.server = server

    def usage(self, namespace: str | None = None, since_s: float | None = None) -> Trace:
        raise LiveMetricsUnavailable(
            "live usage needs the cluster's metrics pipeline (the agent's usage samples kept as history by the "
            "metrics API), which this cluster does not serve; export usage to the trace format and pass "
            "--trace FILE (see the README's capacity section)")
