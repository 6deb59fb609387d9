"""Where usage comes from: the seam between capacity planning and metrics.

``report``, ``forecast`` and ``plan`` read a ``Trace`` from a ``UsageSource``. ``TraceSource`` reads the CSV
format of ``trace.py``; ``LiveSource`` reads the running cluster's own history through the API.

The live history stays where it is measured: each node's agent keeps its time series (raw samples for a day,
5-minute aggregates for 35 days) in its own data directory, and serves it, bucketed to the step asked for, at
``/stats/history``. The planner reads every node's through the API server (``GET
/api/v1/nodes/NAME/proxy/stats/history``: Kubernetes' ``nodes/proxy``, over the API server's TLS to the agent),
with the same kubeconfig and client as any other command, and the workloads' requests and replicas from the
API's Deployments, ReplicaSets, Jobs and Pods (``live``). Why pull, rather than agents pushing aggregates to a
store of the server's: the API server already reaches every agent this way for logs, exec and ``kubectl
top``; nothing is copied or written every period; and with several servers there is no question of which one
holds the history. The cost: a node that does not answer is missing from the answer (named on stderr) until it
does.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Protocol

from portside.capacity.trace import Trace, parse_trace
from portside.metrics.tsdb import ROLLUP_RETENTION_S

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


HISTORY_PATH = "/api/v1/nodes/{}/proxy/stats/history"
KEPT_S = ROLLUP_RETENTION_S  # what an agent keeps


class LiveSource:
    """Usage history of the cluster ``kubeconfig`` names: every node's, through the API server."""

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig

    def usage(self, namespace: str | None = None, since_s: float | None = None) -> Trace:
        from portside.client import ApiError, ConfigError

        try:
            return asyncio.run(self._usage(namespace, since_s))
        except ConfigError as exc:
            raise LiveMetricsUnavailable(f"{exc} (is the cluster up? --kubeconfig or --data-dir name another; "
                                         f"--trace FILE reads a usage trace instead)") from None
        except (ApiError, OSError) as exc:  # aiohttp's connection errors are OSErrors
            raise LiveMetricsUnavailable(f"cannot read the cluster's usage through {self.kubeconfig}: {exc}") from None

    async def _usage(self, namespace: str | None, since_s: float | None) -> Trace:
        from portside.api.timefmt import parse_time
        from portside.capacity.live import Objects, assemble, pick_step
        from portside.client import Client

        async with Client.from_kubeconfig(self.kubeconfig) as client:
            born = parse_time((await client.get("namespaces", "kube-system")).metadata.creation_timestamp)
            now = time.time()
            start = max(now - min(since_s or KEPT_S, KEPT_S), born.timestamp() if born else 0.0)
            step = pick_step(now - start)
            nodes = [n.metadata.name for n in (await client.list("nodes")).items]
            answers = await asyncio.gather(*(self._history(client, n, start, step) for n in nodes))
            objects = Objects(*[(await client.list(kind, namespace or "")).items
                                for kind in ("pods", "replicasets", "deployments", "jobs")])
        histories = [a for a in answers if isinstance(a, dict)]
        notes = [a for a in answers if isinstance(a, str)]
        if not histories:
            raise LiveMetricsUnavailable("no node served its usage history" + (": " + "; ".join(notes) if notes
                                         else " (the cluster has no nodes)"))
        trace = assemble(histories, objects, step, namespace)
        trace.notes = notes
        return trace

    @staticmethod
    async def _history(client, node: str, start: float, step: int) -> dict | str:
        """The node's pod history, or why there is none."""
        from portside.client import ApiError

        try:
            return await client.raw.request("GET", HISTORY_PATH.format(node),
                                            params={"start": str(int(start)), "step": str(step)})
        except ApiError as exc:
            return f"node {node}: no usage history ({exc})"
