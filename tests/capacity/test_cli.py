"""The trace format's refusals (line and field named) and the ``portside capacity`` command as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from portside.capacity.synth import generate, write_csv
from portside.capacity.trace import TraceError, parse_trace

HEADER = "timestamp,workload,cpu,memory\n"


def _write(tmp_path, text: str):
    path = tmp_path / "trace.csv"
    path.write_text(text)
    return path


def capacity(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portside", "capacity", *args], capture_output=True, text=True,
                          timeout=240)


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "trace.csv"
    _, columns = generate(8, 21, seed=2)
    write_csv(columns, path)
    return path


def test_parses_iso_epoch_and_quantities(tmp_path):
    path = _write(tmp_path, "timestamp,workload,cpu,memory,replicas,cpu_request,memory_request\n"
                            "2026-11-02T00:00:00Z,shop/web,250m,512Mi,2,200m,1Gi\n"
                            "1793577900,shop/web,0.5,536870912,2,,\n"
                            "2026-11-02T00:00:00,db,1,1G,1,1,2Gi\n")
    trace = parse_trace(path)
    web = trace.workloads["shop/web"]
    assert list(web.t) == [1793577600.0, 1793577900.0]
    assert list(web.cpu) == [0.25, 0.5] and list(web.memory) == [2**29, 2**29]
    assert web.cpu_request[0] == 0.2 and web.memory_request[0] == 2**30
    assert trace.workloads["db"].memory[0] == 1e9 and trace.workloads["db"].namespace == "default"


@pytest.mark.parametrize("rows, line, field", [
    ("1793491200,web,abc,1Gi\n", 2, "cpu"),
    ("1793491200,web,1,1Gi\n1793491500,web,1,12Qi\n", 3, "memory"),
    ("1793491200,web,1,1Gi\nyesterday,web,1,1Gi\n", 3, "timestamp"),
    ("1793491200,web,1,1Gi\n1793491500,,1,1Gi\n", 3, "workload"),
    ("1793491200,web,-1,1Gi\n", 2, "cpu"),
    ("1793491200,web,1,\n", 2, "memory"),
    ("1793491200,web,1,1Gi\n1793491200,web,2,1Gi\n", 3, "timestamp"),
])
def test_bad_rows_name_line_and_field(tmp_path, rows, line, field):
    with pytest.raises(TraceError) as err:
        parse_trace(_write(tmp_path, HEADER + rows))
    assert f"line {line}: field {field}:" in str(err.value)


def test_bad_optional_column_names_line_and_field(tmp_path):
    path = _write(tmp_path, "timestamp,workload,cpu,memory,replicas\n1793491200,web,1,1Gi,2\n"
                            "1793491500,web,1,1Gi,1.5\n")
    with pytest.raises(TraceError, match=r"line 3: field replicas: expected a whole number"):
        parse_trace(path)


def test_bad_header_and_ragged_rows(tmp_path):
    with pytest.raises(TraceError, match=r"line 1: header lacks column\(s\) memory"):
        parse_trace(_write(tmp_path, "timestamp,workload,cpu\n1,web,1\n"))
    with pytest.raises(TraceError, match=r"line 3"):
        parse_trace(_write(tmp_path, HEADER + "1,web,1,1Gi\n2,web,1,1Gi,9\n"))


def test_cli_names_the_bad_line(tmp_path):
    result = capacity("report", "--trace", str(_write(tmp_path, HEADER + "1793491200,web,1,1Gi\n1,web,x,1Gi\n")))
    assert result.returncode == 2
    assert "line 3: field cpu:" in result.stderr


def test_plan_json_shape(trace_file):
    result = capacity("plan", "--trace", str(trace_file), "--node-shape", "cpu=4,memory=16Gi", "--spare", "1",
                      "--add", "web=2xcpu=100m,memory=128Mi", "--add", "huge=3xcpu=16,memory=1Gi", "-o", "json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["nodes_planned"] == data["nodes_needed"] + 1 >= 2
    assert len(data["workloads"]) == 8
    for w in data["workloads"]:
        assert w["recommended"]["cpu_request"] > 0 and w["recommended"]["memory_request"] > 0
        assert w["planned_replicas"] >= 1
    small, huge = data["what_if"]
    assert small["fits"] is True
    assert huge["fits"] is False and "Insufficient cpu" in huge["reason"]


def test_html_is_self_contained(trace_file, tmp_path):
    for command, extra in (("plan", ["--node-shape", "cpu=8,memory=32Gi"]), ("forecast", []),
                           ("report", ["--nodes", "4xcpu=8,memory=32Gi"])):
        result = capacity(command, "--trace", str(trace_file), "-o", "html", *extra)
        assert result.returncode == 0, result.stderr
        page = result.stdout
        assert page.startswith("<!doctype html>") and "<svg" in page and "<polyline" in page
        assert not re.search(r"https?:|src=|@import|url\(", page), command


def test_forecast_json_has_intervals_and_baseline(trace_file):
    result = capacity("forecast", "--trace", str(trace_file), "--horizon", "2d", "-o", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    series = data["cluster"]["cpu"]
    assert len(series["point"]) == len(series["naive"]) == 48
    assert all(lo <= p <= hi for lo, p, hi in zip(series["lo95"], series["point"], series["hi95"]))
    assert data["backtest"]["mase"] < data["backtest"]["naive_mase"]


def test_report_flags_and_namespace(tmp_path):
    path = _write(tmp_path, "timestamp,workload,cpu,memory,replicas,cpu_request,memory_request,oom_kills\n" +
                  "".join(f"{1793491200 + 300 * i},a/big,0.1,100Mi,1,4,8Gi,0\n"
                          f"{1793491200 + 300 * i},b/oom,1,1Gi,1,1,1Gi,{int(i == 5)}\n" for i in range(50)))
    result = capacity("report", "--trace", str(path), "-o", "json")
    assert result.returncode == 0, result.stderr
    flags = json.loads(result.stdout)["flagged"]
    assert flags["over-provisioned cpu"] == ["a/big"] and flags["over-provisioned memory"] == ["a/big"]
    assert flags["OOM-killed"] == ["b/oom"]
    only = json.loads(capacity("report", "--trace", str(path), "-n", "b", "-o", "json").stdout)
    assert [w["workload"] for w in only["workloads"]] == ["b/oom"]


def test_without_trace_and_without_a_cluster_says_where_it_looked(tmp_path):
    result = capacity("report", "--kubeconfig", str(tmp_path / "nowhere.yaml"))
    assert result.returncode == 2
    assert f"cannot read kubeconfig {tmp_path / 'nowhere.yaml'}" in result.stderr
    assert "is the cluster up?" in result.stderr and "--trace" in result.stderr


def test_forecast_with_mstl_ets(tmp_path):
    path = tmp_path / "two.csv"
    _, columns = generate(2, 15, seed=4)
    write_csv(columns, path)
    result = capacity("forecast", "--trace", str(path), "--model", "mstl-ets", "--horizon", "1d", "-o", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["method"].startswith("MSTL")
    series = data["workloads"][0]["cpu"]
    assert len(series["point"]) == 24
    assert all(lo <= p <= hi for lo, p, hi in zip(series["lo95"], series["point"], series["hi95"]))
    bad = capacity("forecast", "--trace", str(path), "--model", "prophet")
    assert bad.returncode == 2 and "--model: expected harmonic or mstl-ets" in bad.stderr


def test_short_history_forecasts_flat_and_says_why(tmp_path):
    path = _write(tmp_path, "timestamp,workload,cpu,memory,replicas,cpu_request,memory_request\n" +
                  "".join(f"{1793491200 + 300 * i},a/web,{0.4 + 0.2 * (i % 2)},1Gi,2,500m,1Gi\n" for i in range(24)))
    result = capacity("forecast", "--trace", str(path), "--horizon", "1d", "-o", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["seasonality"]["model"] == "none" and data["seasonality"]["history_h"] == 2.0
    assert "shorter than the two days a daily cycle needs" in data["seasonality"]["note"]
    web = data["workloads"][0]["cpu"]
    assert set(web["point"]) == {0.5} and min(web["lo95"]) == 0.4 and max(web["hi95"]) == 0.6
    table = capacity("plan", "--trace", str(path), "--node-shape", "cpu=2,memory=8Gi", "--horizon", "1d")
    assert table.returncode == 0, table.stderr
    assert "note: no seasonality: 2.0 h of history" in table.stdout
    longer = _write(tmp_path, "timestamp,workload,cpu,memory\n" +
                    "".join(f"{1793491200 + 3600 * i},a/web,{1 + (i % 24) / 24},1Gi\n" for i in range(72)))
    daily = json.loads(capacity("forecast", "--trace", str(longer), "--horizon", "1d", "-o", "json").stdout)
    assert daily["seasonality"]["model"] == "daily" and "3.0 days" in daily["seasonality"]["note"]
