"""``portside sim`` as a user runs it: the real command in a subprocess, no root needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CSV = """name,arrival_s,duration_s,cpu,memory,priority,gpu
a,0,10,2,4Gi,0,0
b,0,10,2,4Gi,0,0
train,0,20,1,8Gi,0,1
huge,5,10,64,1Gi,0,0
"""
NODES = "2xcpu=4,memory=16Gi+1xcpu=8,memory=32Gi,nvidia.com/gpu=1"


def sim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portside", "sim", *args], capture_output=True, text=True,
                          timeout=60)


def test_json_summary_and_placements(tmp_path: Path):
    workload = tmp_path / "w.csv"
    workload.write_text(CSV)
    placements = tmp_path / "placements.jsonl"
    run = sim("--nodes", NODES, "--workload", str(workload), "-o", "json", "--placements", str(placements))
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    # Spreading by allocated fraction: the big node stays the emptiest for a, b and the GPU pod alike.
    assert {k: summary[k] for k in ("placed", "pending", "preempted", "nodes_used", "peak_nodes_used")} == \
        {"placed": 3, "pending": 1, "preempted": 0, "nodes_used": 2, "peak_nodes_used": 2}
    assert 0 < summary["mean_cpu_utilisation"] <= 1 and summary["scheduler_s"] >= 0
    lines = [json.loads(line) for line in placements.read_text().splitlines()]
    by_name = {p["name"]: p for p in lines}
    assert by_name["train"]["node"] == "node-00003" and by_name["train"]["start_s"] == 0
    assert by_name["huge"]["node"] is None and by_name["huge"]["start_s"] is None
    assert by_name["huge"]["message"].startswith("0/3 nodes are available: 3 Insufficient cpu.")


def test_binpack_profile_and_text_output(tmp_path: Path):
    workload = tmp_path / "w.csv"
    workload.write_text("name,arrival_s,duration_s,cpu,memory\n" + "".join(f"p{i},0,5,1,1Gi\n" for i in range(4)))
    run = sim("--nodes", "4xcpu=4,memory=8Gi", "--workload", str(workload), "--profile", "binpack")
    assert run.returncode == 0, run.stderr
    assert "nodes_used: 1" in run.stdout


@pytest.mark.parametrize("nodes, csv, error", [
    ("4xcpu=4;memory=8Gi", "name,arrival_s,duration_s,cpu,memory\n",
     "portside: sim: --nodes: group 1 '4xcpu=4;memory=8Gi': cpu: invalid quantity '4;memory=8Gi'"),
    ("4xcpu=4,memory=8Gi", "name,arrival_s,cpu,memory\na,0,1,1Gi\n",
     "portside: sim: {path}: line 1: header lacks column(s) duration_s"),
    ("4xcpu=4,memory=8Gi", "name,arrival_s,duration_s,cpu,memory\na,0,1,1,1Gi\nb,0,1,lots,1Gi\n",
     "portside: sim: {path}: line 3: column cpu: invalid quantity 'lots'"),
])
def test_bad_input_gives_one_clear_line(tmp_path: Path, nodes: str, csv: str, error: str):
    workload = tmp_path / "w.csv"
    workload.write_text(csv)
    run = sim("--nodes", nodes, "--workload", str(workload), "-o", "json")
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith(error.format(path=workload))
    assert run.stderr.count("\n") == 1


def test_missing_flags_and_unknown_profile(tmp_path: Path):
    run = sim("--nodes", "1xcpu=1,memory=1Gi")
    assert run.returncode == 2
    assert run.stderr == "portside: sim: --workload is required (usage: portside sim --nodes SPEC --workload FILE [OPTIONS])\n"
    workload = tmp_path / "w.csv"
    workload.write_text("name,arrival_s,duration_s,cpu,memory\n")
    run = sim("--nodes", "1xcpu=1,memory=1Gi", "--workload", str(workload), "--profile", "fastest")
    assert run.returncode == 2
    assert run.stderr == "portside: sim: unknown profile 'fastest' (known: binpack, default-scheduler)\n"


def test_optimize_proposes_fewer_nodes_and_the_moves(tmp_path: Path):
    workload = tmp_path / "w.csv"
    workload.write_text("name,arrival_s,duration_s,cpu,memory\n" + "".join(f"p{i},0,10,1,1Gi\n" for i in range(8)))
    run = sim("--nodes", "4xcpu=4,memory=8Gi", "--workload", str(workload), "--optimize", "-o", "json")
    assert run.returncode == 0, run.stderr
    plan = json.loads(run.stdout)["optimize"]  # stdout is exactly one JSON object: the solver stays quiet
    assert (plan["nodes_before"], plan["nodes_after"], plan["lower_bound"], plan["optimal"]) == (4, 2, 2, True)
    assert len(plan["moves"]) == 4
    assert {m["to"] for m in plan["moves"]}.isdisjoint({m["from"] for m in plan["moves"]})
