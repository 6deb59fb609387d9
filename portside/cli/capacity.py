"""``portside capacity report|forecast|plan``: right-sizing, demand forecasts and node plans from usage traces
(``--trace FILE``) or, without one, from the running cluster's usage history (``source.LiveSource``: the
cluster of ``--kubeconfig``, ``$KUBECONFIG`` or ``--data-dir``'s, as ``portside top`` finds it)."""

from __future__ import annotations

import json
import re
import sys

from portside.cli.flags import HelpRequested, Parser, flag
from portside.runtime.errors import InvalidArgument

USAGE = """usage: portside capacity COMMAND [OPTIONS]

Commands:
  report     requests vs observed usage per workload, recommended requests and limits, flags; cluster totals
  forecast   hourly demand per workload and for the cluster, with intervals and the seasonal-naive baseline
  plan       nodes of one shape needed for the forecast peak, found by the scheduler; what-if checks

Run 'portside capacity COMMAND --help' for a command's options.
"""

_COMMON = [
    flag("--trace", "trace", "value", "usage trace CSV (timestamp,workload,cpu,memory[,replicas,cpu_request,"
         "memory_request,oom_kills]) in place of the cluster's own history", "FILE"),
    flag("--kubeconfig", "kubeconfig", "value", "the cluster to read without --trace (default: $KUBECONFIG or "
         "DATA_DIR's)", "FILE"),
    flag("--data-dir", "data_dir", "value", "the data directory 'up' was started with", "DIR"),
    flag("-n --namespace", "namespace", "value", "only workloads of this namespace", "NS"),
    flag("--since", "since", "value", "only the last DURATION of the history (e.g. 7d, 36h)", "DURATION"),
    flag("-o --output", "output", "value", "table (default), json or html", "FORMAT"),
]
PARSERS = {
    "report": Parser("capacity report", "[--trace FILE] [-n NS] [--since 7d] [-o table|json|html]", _COMMON + [
        flag("--nodes", "nodes", "value", "the cluster's nodes (as portside sim --nodes: 10xcpu=8,memory=32Gi) for "
             "allocatable, fragmentation and headroom", "SPEC"),
    ], interspersed=True),
    "forecast": Parser("capacity forecast", "[--trace FILE] [--horizon 7d] [-o table|json|html]", _COMMON + [
        flag("--horizon", "horizon", "value", "how far ahead (default 7d)", "DURATION"),
        flag("--model", "model", "value", "harmonic (default: one regression for every workload) or mstl-ets "
             "(statsmodels MSTL + ETS, a series at a time)", "M"),
    ], interspersed=True),
    "plan": Parser("capacity plan", "--node-shape cpu=8,memory=32Gi [--target p99] [--spare N] [--horizon 7d]",
                   _COMMON + [
        flag("--node-shape", "shape", "value", "one node's allocatable: cpu=8,memory=32Gi[,pods=110]", "SHAPE"),
        flag("--target", "target", "value", "percentile of demand to place (default p99)", "pNN"),
        flag("--spare", "spare", "value", "extra nodes for node failures (default 0)", "N"),
        flag("--horizon", "horizon", "value", "how far ahead (default 7d)", "DURATION"),
        flag("--profile", "profile", "value", "scheduling profile: binpack (default: a plan asks how few nodes suffice) or default (spread)", "P"),
        flag("--add", "add", "list", "what if: NAME=REPLICASxcpu=500m,memory=1Gi (repeatable)", "WHAT"),
        flag("--curve", "curve", help="also find the node count for each forecast day (always in html)"),
    ], interspersed=True),
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration(text: str, option: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", text.strip())
    if not match or float(match[1]) <= 0:
        raise InvalidArgument(f"capacity: {option}: expected a duration such as 7d, 36h or 90m, got {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def target(text: str | None) -> float:
    raw = (text or "p99").strip()
    match = re.fullmatch(r"p?(\d+(?:\.\d+)?)", raw)
    value = float(match[1]) if match else -1
    if not 0 < value < 100:
        raise InvalidArgument(f"capacity: --target: expected a percentile such as p99 or p95, got {raw!r}")
    return value / 100


def _options(command: str, argv: list[str]) -> dict:
    opts, args = PARSERS[command].parse(argv)
    if args:
        raise InvalidArgument(f"capacity {command}: unexpected argument {args[0]!r}")
    opts["output"] = opts["output"] or "table"
    if opts["output"] not in ("table", "json", "html"):
        raise InvalidArgument(f"capacity {command}: -o: expected table, json or html, got {opts['output']!r}")
    opts["since_s"] = duration(opts["since"], "--since") if opts["since"] else None
    if "horizon" in opts:
        opts["horizon_h"] = max(1, round(duration(opts["horizon"] or "7d", "--horizon") / 3600))
    return opts


def _usage(opts: dict):
    from portside.capacity.source import LiveSource, TraceSource
    from portside.cli.cluster import kubeconfig_path

    source = TraceSource(opts["trace"]) if opts["trace"] else LiveSource(kubeconfig_path(opts))
    trace = source.usage(opts["namespace"], opts["since_s"])
    for note in trace.notes:
        sys.stderr.write(f"portside: capacity: {note}\n")
    if not trace.workloads:
        raise InvalidArgument("capacity: no workloads in the usage data" +
                              (f" of namespace {opts['namespace']!r}" if opts["namespace"] else "") +
                              ("" if opts["trace"] else " (the nodes have no usage history of a current workload "
                                                        "yet: they sample every --metrics-period)"))
    return trace


def _extra(text: str):
    from portside.api.quantity import QuantityError, cpu_millis, to_bytes
    from portside.capacity.plan import Demand

    match = re.fullmatch(r"([a-z0-9][-a-z0-9./]*)=(\d+)x(.+)", text.strip())
    if not match:
        raise InvalidArgument(f"capacity plan: --add: expected NAME=REPLICASxcpu=500m,memory=1Gi, got {text!r}")
    fields = dict(item.partition("=")[::2] for item in match[3].split(","))
    try:
        cpu, memory = cpu_millis(fields.get("cpu", "")) / 1000, float(to_bytes(fields.get("memory", "")))
    except (QuantityError, ValueError):
        raise InvalidArgument(f"capacity plan: --add {text!r}: cpu and memory must be quantities "
                              "(e.g. cpu=500m,memory=1Gi)") from None
    return Demand(match[1], int(match[2]), cpu, memory)


def _report(opts: dict) -> tuple[dict, str]:
    from portside.capacity import report
    from portside.capacity.analysis import rightsize

    trace = _usage(opts)
    sizing = rightsize(trace)
    data = report.report_data(trace, sizing, _placement(opts["nodes"], sizing) if opts["nodes"] else None)
    return data, report.table("report", data)


def _placement(spec: str, sizing: dict) -> dict:
    """The current pods (replicas at their requests, the recommendation where none is known) on the nodes."""
    from portside.capacity.plan import Demand, fragmentation, headroom, pods_for
    from portside.scheduler.sim import place
    from portside.scheduler.simspec import parse_node_spec

    nodes = parse_node_spec(spec)
    wanted = [Demand(s.name, s.replicas, s.cpu_request or s.recommendation.cpu_request,
                     s.memory_request or s.recommendation.memory_request) for s in sizing.values()]
    placement = place(nodes, pods_for(wanted))
    return {"allocatable_cpu": sum(n.allocatable["cpu"] for n in nodes) / 1000,
            "allocatable_memory": sum(n.allocatable["memory"] for n in nodes), "nodes": len(nodes),
            "pending_now": len(placement.pending), "fragmentation": fragmentation(placement, wanted),
            "headroom": headroom(placement, wanted)}


def _forecast(opts: dict) -> tuple[dict, str]:
    from portside.capacity import report
    from portside.capacity.analysis import forecast

    model = opts["model"] or "harmonic"
    if model not in ("harmonic", "mstl-ets"):
        raise InvalidArgument(f"capacity forecast: --model: expected harmonic or mstl-ets, got {model!r}")
    trace = _usage(opts)
    data = report.forecast_data(forecast(trace, opts["horizon_h"], model),
                                report.backtest(trace, opts["horizon_h"], model), model)
    return data, report.table("forecast", data)


def _plan(opts: dict) -> tuple[dict, str]:
    from portside.capacity import report
    from portside.capacity.analysis import plan, what_if
    from portside.capacity.plan import NodeShape

    if not opts["shape"]:
        raise InvalidArgument("capacity plan: --node-shape is required (e.g. --node-shape cpu=8,memory=32Gi)")
    shape = NodeShape.parse(opts["shape"])
    try:
        spare = int(opts["spare"] or 0)
    except ValueError:
        spare = -1
    if spare < 0:
        raise InvalidArgument(f"capacity plan: --spare: expected a whole number >= 0, got {opts['spare']!r}")
    extras = [_extra(text) for text in opts["add"]]
    trace = _usage(opts)
    result = plan(trace, shape, target(opts["target"]), spare, opts["horizon_h"], opts["profile"] or "binpack",
                  curve=opts["curve"] or opts["output"] == "html")
    data = report.plan_data(result, [what_if(result, e) for e in extras])
    return data, report.table("plan", data)


def _html(command: str, data: dict) -> str:
    from portside.capacity import pages

    return pages.page(command, data)


def cmd_capacity(argv: list[str], root: str) -> int:
    from portside.capacity.source import LiveMetricsUnavailable
    from portside.capacity.trace import TraceError
    from portside.scheduler.simspec import SimInputError

    if not argv or argv[0] in ("-h", "--help"):
        (sys.stdout if argv else sys.stderr).write(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in PARSERS:
        sys.stderr.write(f"portside: capacity: unknown command {command!r} (expected report, forecast or plan)\n")
        return 2
    try:
        opts = _options(command, rest)
        data, text = {"report": _report, "forecast": _forecast, "plan": _plan}[command](opts)
    except HelpRequested:
        return 0
    except (InvalidArgument, TraceError, SimInputError, LiveMetricsUnavailable) as err:
        message = str(err)
        sys.stderr.write(f"portside: {message if message.startswith('capacity') else 'capacity: ' + message}\n")
        return 2
    except OSError as err:
        sys.stderr.write(f"portside: capacity: {err.filename or ''}: {err.strerror}\n")
        return 2
    output = opts["output"]
    sys.stdout.write(json.dumps(data) + "\n" if output == "json" else _html(command, data) if output == "html"
                     else text)
    return 0
