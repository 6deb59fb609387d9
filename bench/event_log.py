"""What the engine's event log costs a ``portside run --rm``: the events one run writes, the ones on the command's
clock (written before it exits: ``create`` by the command, ``start`` by the monitor before it reports the start;
``die`` and ``destroy`` come after the exit is reported), each one's append measured where it is made (one
O_APPEND write of a JSON line, no fsync), against the run itself, measured in the same run.

Last line: {"append_us", "bytes_per_event", "events_per_run", "events_on_run_clock", "run_ms",
"event_cost_share"} (the share: events on the clock times one append, over the run's median). Target: under 0.1%.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from examples.busybox import make_tarball  # noqa: E402
from portside.engine.records import EVENTS_FILE, append_event  # noqa: E402

PORTSIDE = [sys.executable, "-m", "portside"]
ON_THE_CLOCK = ("create", "start")


def append_us(root: Path, count: int = 2000) -> float:
    """The median of 20 batches' time per append, of a container's typical event."""
    attributes = {"image": "busybox", "name": "portside_0123abcd"}
    batches = []
    for _ in range(20):
        start = time.perf_counter()
        for _ in range(count // 20):
            append_event(root, "container", "start", "a" * 64, attributes)
        batches.append((time.perf_counter() - start) / (count // 20) * 1e6)
    return statistics.median(batches)


def runs(root: Path, env: dict, count: int) -> list[float]:
    argv = PORTSIDE + ["--root", str(root), "run", "--rm", "--network", "none", "busybox", "true"]
    out = []
    for _ in range(count):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "portside")], check=True)
    with tempfile.TemporaryDirectory(prefix="portside-bench-events-") as work:
        work = Path(work)
        root = work / "root"
        root.mkdir()
        tag = os.urandom(2).hex()
        (root / "engine.json").write_text(json.dumps({"bridge": f"psev{tag}", "cgroup_parent": f"portside-bench-{tag}",
                                                      "subnet": "10.253.0.0/24"}))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = str(REPO)
        subprocess.run(PORTSIDE + ["--root", str(root), "import", str(make_tarball(work)), "busybox"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        try:
            timings = runs(root, env, count)
            time.sleep(1)  # the last run's monitor writes its die and destroy after the command exits
            log = (root / EVENTS_FILE).read_bytes()
            lines = [json.loads(line) for line in log.splitlines()]
            per_run = sum(1 for e in lines if e["Type"] == "container") / count
            clock = sum(1 for e in lines if e["Type"] == "container" and e["Action"] in ON_THE_CLOCK) / count
            cost = append_us(work / "micro")
        finally:
            for controller in Path("/sys/fs/cgroup").iterdir():
                try:
                    (controller / f"portside-bench-{tag}").rmdir()
                except OSError:
                    pass
    run_ms = statistics.median(timings)
    print(json.dumps({"append_us": round(cost, 1), "bytes_per_event": round(len(log) / len(lines)),
                      "events_per_run": per_run, "events_on_run_clock": clock, "run_ms": round(run_ms, 1),
                      "event_cost_share": round(clock * cost / 1000 / run_ms, 5)}))


if __name__ == "__main__":
    main()
