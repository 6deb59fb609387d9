"""``stats``: CPU, memory and pids per running container, read from its cgroup.

CPU % is a rate, so it takes two samples; the interval is short for ``--no-stream`` (a quarter second) and one
second when streaming, like docker's refresh.
"""

from __future__ import annotations

import os
import sys
import time

from portside.cli.container_info import print_table


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.4g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1024
    return f"{n}"


def show(engine, refs: list[str], stream: bool) -> int:
    ids = [engine.find(r) for r in refs] or [c.record.id for c in engine.containers()]
    while True:
        rows = _sample(engine, ids, 1.0 if stream else 0.25)
        if stream:
            sys.stdout.write("\033[2J\033[H")
        print_table(["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"], rows)
        sys.stdout.flush()
        if not stream:
            return 0


def _sample(engine, ids: list[str], interval: float) -> list[list[str]]:
    first = {cid: engine.stats(cid) for cid in ids}
    start = time.monotonic()
    time.sleep(interval)
    elapsed = time.monotonic() - start
    host_mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    rows = []
    for cid in ids:
        now = engine.stats(cid)
        cpu = (now.cpu_usage_ns - first[cid].cpu_usage_ns) / (elapsed * 1e9) * 100
        limit = now.memory_limit or host_mem
        name = engine.inspect(cid)["Name"].lstrip("/")
        rows.append([cid[:12], name, f"{max(cpu, 0):.2f}%", f"{human(now.memory_usage)} / {human(limit)}",
                     f"{now.memory_usage / limit * 100:.2f}%", str(now.pids)])
    return rows
