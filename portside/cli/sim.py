"""``portside sim``: run the real scheduler over simulated nodes and a workload, with a virtual clock."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

USAGE = "portside sim --nodes SPEC --workload FILE [--profile P] [--config FILE] [-o json] [--placements FILE]"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, our prefix, exit code 2
        raise SystemExit(_fail(f"sim: {message} (usage: {USAGE})", 2))


def _fail(message: str, code: int = 125) -> int:
    sys.stderr.write(f"portside: {message}\n")
    return code


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="portside sim", description="Simulate scheduling a workload on a set of nodes.")
    p.add_argument("--nodes", required=True, metavar="SPEC",
                   help="COUNTxcpu=8,memory=32Gi[,nvidia.com/gpu=2] joined by '+', or a file of Node manifests")
    p.add_argument("--workload", required=True, metavar="FILE", help="CSV (name,arrival_s,duration_s,cpu,memory,...) "
                   "or a file of Pod manifests with portside.io/arrival-s and portside.io/duration-s annotations")
    p.add_argument("--profile", default="default", help="scheduling profile: default or binpack (or one from --config)")
    p.add_argument("--config", metavar="FILE", help="a KubeSchedulerConfiguration with more profiles")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.add_argument("--placements", metavar="FILE", help="write one JSON object per pod per line")
    p.add_argument("--optimize", action="store_true",
                   help="also propose a placement of the peak moment on fewer nodes, with the moves (HiGHS)")
    p.add_argument("--time-limit", type=float, default=20.0, metavar="S", help="solver time limit for --optimize")
    return p


def _profiles(config: str | None) -> dict:
    from portside.scheduler.profile import builtin_profiles, load_config

    profiles = builtin_profiles()
    if config:
        profiles.update(load_config(Path(config).read_text(), config))
    return profiles


def _text(summary: dict) -> str:
    plan = summary.pop("optimize", None)
    lines = [f"{key:>22}: {value}" for key, value in summary.items()]
    if plan:
        lines.append(f"{'optimize':>22}: at {plan['at_s']} s, {plan['nodes_before']} -> {plan['nodes_after']} nodes "
                     f"(lower bound {plan['lower_bound']}, optimal: {plan['optimal']}), {len(plan['moves'])} moves")
        lines += [f"{'':>24}move {m['pod']}: {m['from']} -> {m['to']}" for m in plan["moves"]]
    return "\n".join(lines) + "\n"


def _write_placements(path: str, records: list) -> None:
    with open(path, "w") as out:
        for r in records:
            out.write(json.dumps({"name": r.name, "node": r.node, "start_s": r.start_s, "end_s": r.end_s,
                                  "preempted": r.preempted, "message": r.message or None}) + "\n")


def cmd_sim(argv: list[str], root: str) -> int:
    args = _parser().parse_args(argv)
    from portside.scheduler.profile import ProfileError
    from portside.scheduler.sim import Simulator
    from portside.scheduler.simspec import SimInputError, load_workload, parse_node_spec

    try:
        nodes = parse_node_spec(args.nodes)
        if not Path(args.workload).is_file():
            return _fail(f"sim: --workload: no such file {args.workload!r}", 2)
        workload = load_workload(Path(args.workload))
        simulator = Simulator(nodes, workload, args.profile, _profiles(args.config), keep_peak=args.optimize)
        result = simulator.run()
    except (SimInputError, ProfileError, OSError) as err:
        return _fail(f"sim: {err}", 2)
    summary = result.summary()
    if args.optimize:
        summary["optimize"] = simulator.optimize(args.time_limit)
    sys.stdout.write(json.dumps(summary) + "\n" if args.output == "json" else _text(summary))
    if args.placements:
        _write_placements(args.placements, result.records)
    return 0
