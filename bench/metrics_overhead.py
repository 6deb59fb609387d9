"""The agent's sampling cost: 100 idle busybox containers, the sampler's CPU time per period as a share of a core.

Starts ``--containers`` real containers (``portside run -d --network none``) on an engine root of its own, then
runs the agent's ``Sampler`` (the same reads, rate computation and time-series batch the agent does) for
``--rounds`` periods of ``--period`` seconds. Reported: the sampler thread's CPU time per round (median), and the
process's whole CPU time (event loop included) over the run; each as percent of one core at the agent's default
10 s period (``cost_per_round / 10 s``) and at the measured period. The issue's target: < 1 % of a core.

Peer in the same run: reading the same containers the way ``portside stats`` does (``Cgroup.stats()``: memory,
limit, CPU, pids and OOM counter), the ratio ``sampler_vs_stats_read``. metrics-server's budget is about 1 mCPU
per node, i.e. 0.1 % of a core. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from examples.busybox import make_tarball  # noqa: E402
from portside.agent.metrics import Sampler, Target, read, samples, usage  # noqa: E402
from portside.engine import Engine  # noqa: E402
from portside.metrics.tsdb import TSDB  # noqa: E402
from portside.runtime.cgroups import Cgroup  # noqa: E402


def portside(root: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "portside", "--root", str(root), *args], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"portside {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def start(root: Path, count: int) -> list[str]:
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda _: portside(root, "run", "-d", "--network", "none", "-m", "32m", "bench-busybox",
                                                "sleep", "3600"), range(count)))


def targets(engine: Engine, ids: list[str]) -> list[Target]:
    return [Target("bench", f"pod-{i // 2}", f"uid-{i // 2}", f"c{i % 2}", cid, engine.cgroups_path(cid))
            for i, cid in enumerate(ids)]


def cpu_of(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        begin = time.thread_time()
        fn()
        out.append(time.thread_time() - begin)
    return out


async def run_sampler(sampler: Sampler, rounds: int) -> tuple[float, float]:
    """(sampler thread CPU per round, process CPU per round) over ``rounds`` real periods."""
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    task = asyncio.ensure_future(sampler.run())
    while sampler.rounds < rounds:
        await asyncio.sleep(sampler.period / 4)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    after = resource.getrusage(resource.RUSAGE_SELF)
    process = (after.ru_utime + after.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
    return sampler.cpu_seconds / (rounds + 1), process / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--period", type=float, default=1.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="portside-bench-metrics-"))
    root = work / "engine"
    root.mkdir()
    parent = f"portside-bench-metrics-{os.getpid()}"
    (root / "engine.json").write_text(json.dumps({"cgroup_parent": parent}))
    try:
        portside(root, "import", str(make_tarball(work)), "bench-busybox")
        started = time.monotonic()
        ids = start(root, args.containers)
        start_s = time.monotonic() - started
        engine = Engine(root)
        mine = targets(engine, ids)
        assert len(read(mine).containers) == len(mine), "not every container's cgroup could be read"
        db = TSDB(work / "usage.db")
        previous = [read(mine)]

        def one_round() -> None:
            now = read(mine)
            db.append(time.time(), samples(usage(previous[0], now)))
            previous[0] = now

        time.sleep(0.01)  # two readings need an interval between them
        direct = cpu_of(one_round, args.rounds)
        stats = cpu_of(lambda: [Cgroup(t.cgroup).stats() for t in mine], args.rounds)
        sampler = Sampler(lambda: mine, TSDB(work / "loop.db"), period=args.period)
        thread_per_round, process_per_round = asyncio.run(run_sampler(sampler, args.rounds))
        series = len(samples(sampler.latest))
        db.close()
        sampler.tsdb.close()
    finally:
        for cid in portside(root, "ps", "-aq").split():
            portside(root, "rm", "-f", cid)
        subprocess.run(["rm", "-rf", str(work)], check=False)
        for left in Path("/sys/fs/cgroup").glob(f"*/{parent}"):
            left.rmdir()
    per_round = statistics.median(direct)
    print(json.dumps({
        "containers": args.containers, "series_per_round": series, "rounds": args.rounds,
        "start_s": round(start_s, 1),
        "sampler_cpu_ms_per_round_median": round(per_round * 1e3, 3),
        "sampler_loop_thread_cpu_ms_per_round": round(thread_per_round * 1e3, 3),
        "process_cpu_ms_per_round": round(process_per_round * 1e3, 3),
        "stats_read_cpu_ms_median": round(statistics.median(stats) * 1e3, 3),
        "sampler_vs_stats_read": round(per_round / statistics.median(stats), 2),
        "core_percent_at_10s": round(100 * process_per_round / 10.0, 3),
        "core_percent_at_measured_period": round(100 * process_per_round / args.period, 3),
        "target_core_percent": 1.0,
    }))


if __name__ == "__main__":
    main()
