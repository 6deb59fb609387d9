"""Capacity planning at scale: 1,000 workloads, 28 days at 5-minute resolution (8 million trace rows).

plan_s: median wall time of ``portside capacity plan`` end to end on the whole 28-day trace (parse the CSV,
right-size, forecast, search the node count with the real scheduler), in this process.
forecast_mase: the mean per-workload cpu MASE of the forecast fitted on the first 21 days and scored on the last 7
(hourly); its peer in the same run is the seasonal-naive forecast's MASE (naive_mase).
nodes_planned / nodes_min_feasible: the plan made from the first 21 days, and the smallest node count on which
the last week's actual demand at the target percentile (at the plan's pod shapes) leaves nothing pending, found
by scanning counts with the scheduler; the peer is the count from dividing totals (nodes_by_division), which
ignores per-pod granularity.
metrics_overhead_cpu_pct: the agent's sampling cost in percent of one core at its default 10 s period, with 100
containers: ``bench/metrics_overhead.py``, run from here (needs root; ``--no-metrics`` skips it and reports null).

Last line: {"plan_s":..,"forecast_mase":..,"nodes_planned":..,"nodes_min_feasible":..,"metrics_overhead_cpu_pct":..}
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from portside.capacity import forecast as fc
from portside.capacity.analysis import plan, replay
from portside.capacity.plan import NodeShape, lower_bound, pods_for
from portside.capacity.synth import DAY, generate, write_csv
from portside.capacity.trace import parse_trace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shape", default="cpu=16,memory=64Gi")
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--no-metrics", action="store_true", help="skip the sampling benchmark (it needs root)")
    args = parser.parse_args()
    shape = NodeShape.parse(args.shape)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace.csv"
        started = time.perf_counter()
        _, columns = generate(args.workloads, args.days, seed=42)
        write_csv(columns, path)
        del columns
        print(f"generated {path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        times, full = [], None
        for run in range(args.runs):
            started = time.perf_counter()
            full = plan(parse_trace(path), shape, args.target)
            times.append(time.perf_counter() - started)
            print(f"run {run + 1}: {times[-1]:.1f} s, {full.nodes_planned} nodes", file=sys.stderr)
        trace = parse_trace(path)
    cut = trace.start + (args.days - 7) * DAY
    train, held = trace.window(trace.start, cut), trace.window(cut, trace.end)
    history, actual = fc.hourly(train), fc.hourly(held)
    model = fc.fit(history.cpu, actual.cpu.shape[1])
    held_plan = plan(train, shape, args.target)
    checked = replay(held_plan, held)
    out = {
        "plan_s": round(statistics.median(times), 2),
        "forecast_mase": round(float(np.mean(fc.mase(actual.cpu, model.point, history.cpu))), 4),
        "nodes_planned": held_plan.nodes_needed,
        "nodes_min_feasible": checked["nodes_min_feasible"],
        "metrics_overhead_cpu_pct": None if args.no_metrics else metrics_overhead(),
        "naive_mase": round(float(np.mean(fc.mase(actual.cpu, model.naive, history.cpu))), 4),
        "pending_on_plan": checked["pending_on_plan"],
        "nodes_by_division": lower_bound(shape, pods_for(held_plan.demands)),
        "nodes_planned_28d": full.nodes_planned,
        "plan_s_runs": [round(t, 2) for t in times],
        "workloads": args.workloads, "days": args.days, "node_shape": args.shape, "target": args.target,
    }
    print(json.dumps(out))
    return 0


def metrics_overhead() -> float:
    """``core_percent_at_10s`` from the sampling benchmark's last line."""
    import subprocess
    from pathlib import Path
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("metrics_overhead.py"))],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])["core_percent_at_10s"]


if __name__ == "__main__":
    raise SystemExit(main())
