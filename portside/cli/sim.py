"""``portside sim``: run the real scheduler over simulated nodes and a workload, with a virtual clock."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from portside.cli.flags import HelpRequested, Parser, flag
from portside.runtime.errors import InvalidArgument

SIM = Parser("sim", "--nodes SPEC --workload FILE [OPTIONS]", [
    flag("--nodes", "nodes", "value", "COUNTxcpu=8,memory=32Gi[,nvidia.com/gpu=2] joined by '+', or a file of Node "
         "manifests", "SPEC"),
    flag("--workload", "workload", "value", "CSV (name,arrival_s,duration_s,cpu,memory,...) or a file of Pod "
         "manifests annotated portside.io/arrival-s and portside.io/duration-s", "FILE"),
    flag("--profile", "profile", "value", "scheduling profile: default (spread) or binpack, or one from --config", "P"),
    flag("--config", "config", "value", "a KubeSchedulerConfiguration with more profiles", "FILE"),
    flag("-o --output", "output", "value", "text (default) or json", "FORMAT"),
    flag("--placements", "placements", "value", "write one JSON object per pod per line", "FILE"),
    flag("--optimize", "optimize", help="also propose the peak placement on fewer nodes, with the moves (HiGHS)"),
    flag("--time-limit", "time_limit", "value", "solver time limit in seconds for --optimize (default 20)", "S"),
], interspersed=True)


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"portside: {message}\n")
    return code


def _options(argv: list[str]) -> dict:
    opts, args = SIM.parse(argv)
    if args:
        raise InvalidArgument(f"sim: unexpected argument {args[0]!r} (sim takes only options)")
    for required in ("nodes", "workload"):
        if not opts[required]:
            raise InvalidArgument(f"sim: --{required} is required (usage: portside sim {SIM.usage})")
    opts["output"] = opts["output"] or "text"
    if opts["output"] not in ("text", "json"):
        raise InvalidArgument(f"sim: -o: expected text or json, got {opts['output']!r}")
    try:
        opts["time_limit"] = float(opts["time_limit"] or 20)
    except ValueError:
        raise InvalidArgument(f"sim: --time-limit: expected seconds, got {opts['time_limit']!r}") from None
    if not Path(opts["workload"]).is_file():
        raise InvalidArgument(f"sim: --workload: no such file {opts['workload']!r}")
    return opts


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


def _simulate(opts: dict) -> dict:
    from portside.scheduler.sim import Simulator
    from portside.scheduler.simspec import load_workload, parse_node_spec

    nodes = parse_node_spec(opts["nodes"])
    workload = load_workload(Path(opts["workload"]))
    simulator = Simulator(nodes, workload, opts["profile"] or "default", _profiles(opts["config"]),
                          keep_peak=opts["optimize"])
    result = simulator.run()
    summary = result.summary()
    if opts["optimize"]:
        summary["optimize"] = simulator.optimize(opts["time_limit"])
    if opts["placements"]:
        _write_placements(opts["placements"], result.records)
    return summary


def cmd_sim(argv: list[str], root: str) -> int:
    from portside.scheduler.profile import ProfileError
    from portside.scheduler.simspec import SimInputError

    try:
        opts = _options(argv)
        summary = _simulate(opts)
    except HelpRequested:
        return 0
    except (InvalidArgument, SimInputError, ProfileError) as err:
        return _fail(str(err) if str(err).startswith("sim:") else f"sim: {err}")
    except OSError as err:
        return _fail(f"sim: {err.filename or ''}: {err.strerror}")
    sys.stdout.write(json.dumps(summary) + "\n" if opts["output"] == "json" else _text(summary))
    return 0
