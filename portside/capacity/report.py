"""The answers as data (``*_data``: plain dicts, the JSON output), as text tables, and as one HTML page.

The page is self-contained: plots are inline SVG drawn here (polylines and polygons over a fixed grid), styles
are inline, and nothing refers to a script, font or image elsewhere, so it reads the same offline.
"""

from __future__ import annotations

import datetime as dt
import html
import math

import numpy as np

from portside.capacity import forecast as fc
from portside.capacity.analysis import Outlook, Plan, Sizing, report_plan
from portside.capacity.trace import Trace

__all__ = ["backtest", "cores", "forecast_data", "gib", "html_page", "html_table", "plan_data", "report_data", "svg_chart",
           "table"]

GIB = 2.0**30
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def _round(values: np.ndarray, digits: int = 4) -> list[float]:
    return [round(float(v), digits) for v in values]


def report_data(trace: Trace, sizing: dict[str, Sizing], placement: dict | None = None) -> dict:
    """Per workload sizing, and per cluster hour: cores and bytes used, requested and (with nodes) allocatable."""
    hist = fc.hourly(trace)
    requested_cpu = np.zeros(hist.cpu.shape[1])
    requested_mem = np.zeros(hist.cpu.shape[1])
    for name in hist.names:
        s = trace.workloads[name]
        idx = ((s.t - hist.start) // fc.HOUR).astype(int)
        for out, req in ((requested_cpu, s.cpu_request), (requested_mem, s.memory_request)):
            per = np.nan_to_num(req) * s.replicas
            total = np.bincount(idx, weights=per, minlength=len(out))
            count = np.maximum(np.bincount(idx, minlength=len(out)), 1)
            out += total / count
    cluster = {"start": hist.start, "step_s": fc.HOUR, "used_cpu": _round(hist.cpu.sum(axis=0)),
               "requested_cpu": _round(requested_cpu), "used_memory": _round(hist.memory.sum(axis=0), 0),
               "requested_memory": _round(requested_mem, 0)}
    if placement:
        cluster.update(placement)
    return {"workloads": [s.as_dict() for s in sizing.values()], "cluster": cluster,
            "flagged": {flag: [s.name for s in sizing.values() if flag in s.flags] for flag in
                        ("over-provisioned cpu", "under-provisioned cpu", "over-provisioned memory",
                         "under-provisioned memory", "OOM-killed")}}


def _series(f: fc.Forecast, row: int) -> dict:
    return {k: _round(getattr(f, k)[row]) for k in ("point", "lo80", "hi80", "lo95", "hi95", "naive")}


METHODS = {"harmonic": "log-linear trend + weekly Fourier terms (statsmodels deterministic terms), hourly",
           "mstl-ets": "MSTL (daily, weekly) + damped-trend ETS on the adjusted log-usage (statsmodels), hourly"}
FLAT = "flat at the history's mean, bands from the spread of its samples (too little history for a cycle)"


def _seasonality(outlook: Outlook) -> dict:
    s = outlook.seasonality
    return {"model": s.model, "history_h": round(s.history_h, 2), "note": s.note}


def forecast_data(outlook: Outlook, backtest: dict | None = None, model: str = "harmonic") -> dict:
    return {"start": outlook.forecast_start, "step_s": fc.HOUR, "horizon_h": outlook.horizon_h,
            "method": METHODS[model] if outlook.seasonality.model != "none" else FLAT,
            "seasonality": _seasonality(outlook),
            "baseline": "seasonal naive (same hour last week)",
            "backtest": backtest,
            "cluster": {"cpu": _series(outlook.total_cpu, 0), "memory": _series(outlook.total_memory, 0),
                        "history_cpu": _round(outlook.history.cpu.sum(axis=0)),
                        "history_memory": _round(outlook.history.memory.sum(axis=0), 0)},
            "workloads": [{"workload": n, "cpu": _series(outlook.cpu, w), "memory": _series(outlook.memory, w)}
                          for w, n in enumerate(outlook.history.names)]}


def backtest(trace: Trace, horizon_h: int, model: str = "harmonic") -> dict | None:
    """Refit without the last ``horizon_h`` hours and score both forecasts on them (MASE, lower is better)."""
    hist = fc.hourly(trace)
    if hist.cpu.shape[1] < horizon_h + 2 * fc.WEEK_H:
        return None
    train, test = hist.cpu[:, :-horizon_h], hist.cpu[:, -horizon_h:]
    f = fc.MODELS[model](train, horizon_h)
    total = train.sum(axis=0, keepdims=True)
    ft = fc.MODELS[model](total, horizon_h)
    return {"held_out_h": horizon_h,
            "mase": round(float(np.mean(fc.mase(test, f.point, train))), 4),
            "naive_mase": round(float(np.mean(fc.mase(test, f.naive, train))), 4),
            "cluster_mase": round(float(fc.mase(test.sum(axis=0, keepdims=True), ft.point, total)[0]), 4),
            "cluster_naive_mase": round(float(fc.mase(test.sum(axis=0, keepdims=True), ft.naive, total)[0]), 4)}


def plan_data(p: Plan, what_ifs: list[dict] | None = None) -> dict:
    out = report_plan(p)
    out["what_if"] = what_ifs or []
    out["forecast"] = {"start": p.outlook.forecast_start, "seasonality": _seasonality(p.outlook),
                       "cluster_cpu": _series(p.outlook.total_cpu, 0),
                       "cluster_memory": _series(p.outlook.total_memory, 0),
                       "history_cpu": _round(p.outlook.history.cpu.sum(axis=0))}
    return out


def cores(v: float) -> str:
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def gib(v: float | None) -> str:
    return "-" if v is None else f"{v / GIB:.2f}Gi"


def table(kind: str, data: dict) -> str:
    if kind == "report":
        rows = [("WORKLOAD", "REPLICAS", "CPU REQ", "CPU P50/P95/P99/MAX", "REC CPU", "MEM REQ", "MEM MAX",
                 "REC MEM", "FLAGS")]
        for w in data["workloads"]:
            c, m, r = w["cpu_usage"], w["memory_usage"], w["recommended"]
            rows.append((w["workload"], str(w["replicas"]), "-" if w["cpu_request"] is None else
                         cores(w["cpu_request"]), "/".join(cores(c[k]) for k in ("p50", "p95", "p99", "max")),
                         cores(r["cpu_request"]), gib(w["memory_request"]), gib(m["max"]),
                         gib(r["memory_request"]), ", ".join(w["flags"]) or "-"))
        return _columns(rows)
    if kind == "forecast":
        rows = [("SERIES", "NEXT PEAK", "P95 BAND", "NAIVE PEAK")]
        for label, s in (("cluster cpu", data["cluster"]["cpu"]),):
            rows.append((label, cores(max(s["point"])), f"{cores(max(s['lo95']))}-{cores(max(s['hi95']))}",
                         cores(max(s["naive"]))))
        for w in data["workloads"]:
            s = w["cpu"]
            rows.append((w["workload"] + " cpu", cores(max(s["point"])),
                         f"{cores(max(s['lo95']))}-{cores(max(s['hi95']))}", cores(max(s["naive"]))))
        text = _columns(rows) + _note(data["seasonality"])
        if data.get("backtest"):
            b = data["backtest"]
            text += (f"backtest on the last {b['held_out_h']} h: MASE {b['mase']} (seasonal naive {b['naive_mase']}); "
                     f"cluster {b['cluster_mase']} (naive {b['cluster_naive_mase']})\n")
        return text
    lines = [f"nodes planned: {data['nodes_planned']} ({data['nodes_needed']} for the p{_pct(data['target'])} "
             f"forecast demand over {data['horizon_h']} h + {data['spare']} spare) of {data['node_shape']}, "
             f"{data['pods']} pods"]
    for q in data["what_if"]:
        lines.append(f"what if {q['workload']} x{q['replicas']}: {'yes' if q['fits'] else 'no'}"
                     + (f" ({q['reason']})" if q["reason"] else ""))
    rows = [("WORKLOAD", "REPLICAS", "POD CPU", "POD MEM", "HEADROOM")]
    for w in data["workloads"]:
        rows.append((w["workload"], str(w["planned_replicas"]), cores(w["pod_cpu"]), gib(w["pod_memory"]),
                     str(data["headroom"].get(w["workload"], 0))))
    return "\n".join(lines) + "\n" + _columns(rows) + _note(data["forecast"]["seasonality"])


def _note(seasonality: dict) -> str:
    """A line under the table when the history was too short for every cycle."""
    return "" if seasonality["model"] == "weekly" else f"note: {seasonality['note']}\n"


def _pct(target: float) -> str:
    return f"{target * 100:g}"


def _columns(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "".join("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n" for r in rows)


def svg_chart(title: str, start: float, step_s: float, lines: list[tuple[str, list[float]]],
              bands: list[tuple[str, list[float], list[float], int]] = (), unit: str = "",
              width: int = 720, height: int = 240) -> str:
    """A line chart as inline SVG. ``lines``: (label, values from ``start``); ``bands``: (label, low, high,
    offset in steps) drawn as shaded polygons under the lines."""
    left, right, top, bottom = 60, 10, 24, 30
    n = max([len(v) for _, v in lines] + [off + len(lo) for _, lo, _, off in bands] + [2])
    peak = max([max(v, default=0) for _, v in lines] + [max(hi, default=0) for _, _, hi, _ in bands] + [1e-9])
    top_val = _nice(peak)

    def x(i: float) -> float:
        return left + (width - left - right) * i / (n - 1)

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / top_val)

    parts = [f'<svg width="{width}" height="{height}" role="img" '
             f'font-family="sans-serif" font-size="11"><title>{html.escape(title)}</title>',
             f'<text x="{left}" y="14" font-weight="bold">{html.escape(title)}</text>']
    for k in range(5):
        v = top_val * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}{unit}</text>')
    for k in range(0, n, max(1, n // 6)):
        anchor = "end" if x(k) > width - right - 30 else "middle"
        parts.append(f'<text x="{x(k):.1f}" y="{height - 10}" text-anchor="{anchor}">'
                     f'{_iso(start + k * step_s)[5:10]}</text>')
    for b, (label, lo, hi, off) in enumerate(bands):
        pts = [(x(off + i), y(v)) for i, v in enumerate(hi)] + [(x(off + i), y(v)) for i, v in reversed(
            list(enumerate(lo)))]
        parts.append(f'<polygon fill="{COLORS[(b + 1) % 5]}" fill-opacity="0.2" stroke="none" points="'
                     + " ".join(f"{px:.1f},{py:.1f}" for px, py in pts) + f'"><title>{html.escape(label)}</title>'
                     "</polygon>")
    for c, (label, values) in enumerate(lines):
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None and
                       not math.isnan(v))
        parts.append(f'<polyline fill="none" stroke="{COLORS[c % 5]}" stroke-width="1.2" points="{pts}">'
                     f'<title>{html.escape(label)}</title></polyline>'
                     f'<text x="{width - right - 110 * (len(lines) - c)}" y="14" fill="{COLORS[c % 5]}">'
                     f'&#9472; {html.escape(label)}</text>')
    return "".join(parts) + "</svg>"


def _nice(v: float) -> float:
    """The next round number above ``v`` (1, 2 or 5 times a power of ten) for the y axis."""
    power = 10 ** math.floor(math.log10(v))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= v)


def html_page(title: str, sections: list[tuple[str, str]], data: dict) -> str:
    import json

    body = "".join(f"<h2>{html.escape(h)}</h2>{content}" for h, content in sections)
    blob = html.escape(json.dumps(data))
    return ("<!doctype html><html><head><meta charset=\"utf-8\"><title>" + html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px;text-align:right}"
            "td:first-child{text-align:left}pre{font-size:11px;white-space:pre-wrap}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{body}"
            f"<h2>Data</h2><details><summary>the same numbers as JSON</summary><pre>{blob}</pre></details>"
            "</body></html>\n")


def html_table(rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def forecast_chart(title: str, start: float, history: list[float], series: dict, unit: str = "",
                   shown_h: int = 2 * fc.WEEK_H) -> str:
    """The last ``shown_h`` hours of history, then the forecast with its bands and the baseline."""
    start += max(len(history) - shown_h, 0) * fc.HOUR
    history = history[-shown_h:]
    h = len(history)
    return svg_chart(title, start, fc.HOUR,
                     [("history", history), ("forecast", [math.nan] * h + series["point"]),
                      ("seasonal naive", [math.nan] * h + series["naive"])],
                     [("95 % interval", series["lo95"], series["hi95"], h),
                      ("80 % interval", series["lo80"], series["hi80"], h)], unit)


def requested_chart(cluster: dict) -> str:
    lines = [("used cpu", cluster["used_cpu"]), ("requested cpu", cluster["requested_cpu"])]
    if "allocatable_cpu" in cluster:
        lines.append(("allocatable cpu", [cluster["allocatable_cpu"]] * len(cluster["used_cpu"])))
    return svg_chart("cluster cpu: requested vs used (cores)", cluster["start"], cluster["step_s"], lines)


def curve_chart(curve: list[dict]) -> str:
    if not curve:
        return ""
    return svg_chart("nodes needed per forecast day (daily peak)", curve[0]["start"], 86400.0,
                     [("nodes", [c["nodes"] for c in curve])])
