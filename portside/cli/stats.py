"""``stats``: CPU, memory, network, block I/O and pids per running container, as docker's ``stats`` shows them.

CPU % is a rate, so it takes two samples (``engine.stats``, the same the Docker API serves): the container's CPU
time over the host's in between, times the online CPUs, as docker computes it. The interval is short for
``--no-stream`` (a quarter second) and one second when streaming, like docker's refresh.
"""

from __future__ import annotations

import sys
import time

from portside.cli.container_info import print_table

HEADER = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]


def human(n: float) -> str:
    """Binary units, as docker prints memory (``232KiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.4g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1024
    return f"{n}"


def decimal(n: float) -> str:
    """Decimal units with three digits, as docker prints network and block I/O (``1.88kB``)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.3g}{unit}"
        n /= 1000
    return f"{n}"


def show(engine, refs: list[str], stream: bool) -> int:
    ids = [engine.find(r) for r in refs] or [c.record.id for c in engine.containers()]
    while True:
        rows = _sample(engine, ids, 1.0 if stream else 0.25)
        if stream:
            sys.stdout.write("\033[2J\033[H")
        print_table(HEADER, rows)
        sys.stdout.flush()
        if not stream:
            return 0


def _sample(engine, ids: list[str], interval: float) -> list[list[str]]:
    from portside.runtime.cgroups import host_memory

    first = {cid: engine.stats(cid) for cid in ids}
    time.sleep(interval)
    rows = []
    for cid in ids:
        now, before = engine.stats(cid), first[cid]
        name = engine.record(cid).name
        if now.stats is None or before.stats is None:
            rows.append([cid[:12], name] + ["--"] * 6)
            continue
        s = now.stats
        limit = min(s.memory_limit or host_memory(), host_memory())
        used = s.memory_working_set
        rx = sum(n.rx_bytes for n in now.networks.values())
        tx = sum(n.tx_bytes for n in now.networks.values())
        read = sum(e.value for e in s.io_bytes if e.op.lower().startswith("r"))
        written = sum(e.value for e in s.io_bytes if e.op.lower().startswith("w"))
        rows.append([cid[:12], name, f"{cpu_percent(now, before):.2f}%", f"{human(used)} / {human(limit)}",
                     f"{used / limit * 100:.2f}%", f"{decimal(rx)} / {decimal(tx)}",
                     f"{decimal(read)} / {decimal(written)}", str(s.pids)])
    return rows


def cpu_percent(now, before) -> float:
    """docker's formula: the container's share of the host's CPU time between the samples, times its CPUs."""
    cpu = now.stats.cpu_usage_ns - before.stats.cpu_usage_ns
    system = now.system_cpu_ns - before.system_cpu_ns
    return cpu / system * now.online_cpus * 100 if cpu > 0 and system > 0 else 0.0
