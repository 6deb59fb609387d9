"""Resource-usage time series: what a node's agent measured, kept where the capacity planner can read it.

``tsdb`` is the store (raw samples for a day, 5-minute aggregates for 35 days, bounded). It sits on the lowest
floor beside ``api/``: it imports nothing of portside, so the agent, the API server and ``capacity/`` may all
use it.
"""

from portside.metrics.tsdb import TSDB, Aggregate, Point, Series

__all__ = ["TSDB", "Aggregate", "Point", "Series"]
