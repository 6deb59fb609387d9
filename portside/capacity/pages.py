"""The HTML page of each command: its plots (inline SVG, see ``report.svg_chart``), its table, and its JSON."""

from __future__ import annotations

from portside.capacity import report

__all__ = ["page"]


def _forecast_sections(data: dict) -> list[tuple[str, str]]:
    cluster = data["cluster"]
    sections = [("Cluster cpu: history and forecast (cores)",
                 report.forecast_chart("cluster cpu (cores)", data["start"] - len(cluster["history_cpu"]) * 3600,
                                       cluster["history_cpu"], cluster["cpu"])),
                ("Cluster memory: history and forecast (bytes)",
                 report.forecast_chart("cluster memory (bytes)",
                                       data["start"] - len(cluster["history_memory"]) * 3600,
                                       cluster["history_memory"], cluster["memory"]))]
    if data.get("backtest"):
        sections.append(("Backtest", f"<pre>{report.html.escape(str(data['backtest']))}</pre>"))
    return [_season(data["seasonality"]), *sections]


def _season(seasonality: dict) -> tuple[str, str]:
    return "Seasonality", f"<p>{report.html.escape(seasonality['note'])}</p>"


def _report_sections(data: dict) -> list[tuple[str, str]]:
    rows = [("workload", "replicas", "cpu request", "cpu p95", "cpu max", "rec cpu", "mem request", "mem max",
             "rec mem", "flags")]
    for w in data["workloads"]:
        rows.append((w["workload"], str(w["replicas"]), _num(w["cpu_request"]), _num(w["cpu_usage"]["p95"]),
                     _num(w["cpu_usage"]["max"]), _num(w["recommended"]["cpu_request"]),
                     report.gib(w["memory_request"]), report.gib(w["memory_usage"]["max"]),
                     report.gib(w["recommended"]["memory_request"]), ", ".join(w["flags"]) or "-"))
    return [("Requested vs used", report.requested_chart(data["cluster"])),
            ("Workloads", report.html_table(rows))]


def _plan_sections(data: dict) -> list[tuple[str, str]]:
    f = data["forecast"]
    history = f["history_cpu"]
    summary = report.table("plan", data).split("\n")[0]
    sections = [("Plan", f"<p>{report.html.escape(summary)}</p>"), _season(f["seasonality"]),
                ("Cluster cpu forecast (cores)",
                 report.forecast_chart("cluster cpu (cores)", f["start"] - len(history) * 3600, history,
                                       f["cluster_cpu"])),
                ("Node count", report.curve_chart(data["node_curve"]))]
    rows = [("workload", "planned replicas", "pod cpu", "pod memory", "headroom")]
    for w in data["workloads"]:
        rows.append((w["workload"], str(w["planned_replicas"]), _num(w["pod_cpu"]), report.gib(w["pod_memory"]),
                     str(data["headroom"].get(w["workload"], 0))))
    sections.append(("Workloads", report.html_table(rows)))
    return sections


def _num(v: float | None) -> str:
    return "-" if v is None else report.cores(v)


def page(command: str, data: dict) -> str:
    build = {"report": _report_sections, "forecast": _forecast_sections, "plan": _plan_sections}[command]
    return report.html_page(f"portside capacity {command}", build(data), data)
