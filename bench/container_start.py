"""Container start latency and cycle cost: ``portside run --rm IMG true`` against raw ``runc run`` and ``podman run
--rm``.

All on the same busybox root filesystem, networking off (``--network none``), plus portside on its default bridge.
portside is measured as a user of a node meets it, with ``portside daemon`` serving the engine root (``portside up``
starts one), and also without it (``portside_direct``: the command imports the engine itself).
The raw runc bundle is the config portside itself generates (same namespaces, capabilities, mounts and seccomp
profile) on a plain directory, so the difference is portside's own cost: Python, the record, the overlay mount,
the monitor and the log.

Two measures, each interleaved (one of each contestant per round, in a shuffled order, so that load from elsewhere
on the machine hits every contestant alike), medians compared:

- exit latency: one run on a settled machine, until the command exits. ``portside run --rm`` exits once its
  container is gone from view (exit code known, name and record gone, network released); its monitor finishes
  ``runc delete``, the unmount and the files just after, off this clock, where raw ``runc run`` and ``podman run
  --rm`` tear down before they exit. Settled means no process of the last run left, and then ``QUIET_S`` of
  nothing: the kernel stays warm for a few tens of milliseconds after a container starts (raw runc here: 25 ms
  right after another start, 28 ms 5 ms after, 35 ms 30 ms after, 37 ms 120 ms after), so without the pause a
  run's time depends on how recently the contestant before it started its container, which is soon after its
  launch for raw runc and late for podman. Back-to-back runs are what the cycle measures.
- cycle: ``--cycle-runs`` runs in a row, from the first start until the last container is fully gone (no process
  of it left, its runc state deleted, its overlay unmounted, its cgroup and files removed), divided by the runs:
  what each of N runs in a row costs, teardown included. Foreground ``runc run`` deletes its container before it
  exits (a ``runc delete`` after it finds nothing), so raw runc's cycle is its runs in a row.

podman runs with ``--runtime runc --cgroup-manager cgroupfs`` and its own storage and containers.conf, where
``default_ulimits = []``: the hard open-files limit here cannot be raised, and podman's default asks for more.
It is installed with apt-get when missing; a peer that cannot run fails the bench.

Targets (one run): ratio_vs_runc <= 1.6, cycle_vs_runc <= 2.5, cycle_vs_podman <= 0.7.
Last line: {"portside_ms", "portside_bridge_ms", "portside_direct_ms", "runc_ms", "podman_ms", "ratio_vs_runc",
"ratio_vs_podman", "direct_ratio_vs_runc", "direct_ratio_vs_podman", "cycle_ms", "direct_cycle_ms",
"runc_cycle_ms", "podman_cycle_ms", "cycle_vs_runc", "cycle_vs_podman", "direct_cycle_vs_runc",
"direct_cycle_vs_podman"}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from examples.busybox import make_tarball  # noqa: E402

PORTSIDE = [str(REPO / ".venv" / "bin" / "portside")]
PODMAN_CGROUP_PARENT = "portside-bench-podman"
QUIET_S = 0.2  # after the last run's processes are gone, before the next run (see the exit latency above)


def timed(argv: list[str], env: dict, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode().strip()}")
    return elapsed


def portside_env(root: Path) -> dict:
    """The user's ordinary environment: bytecode caching on (a fresh machine writes .pyc on first use)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PORTSIDE_ROOT"] = str(root)
    return env


def start_daemon(env: dict) -> subprocess.Popen:
    """``portside daemon`` on the bench's root; returns once its socket answers."""
    log = Path(env["PORTSIDE_ROOT"]) / "daemon.log"
    daemon = subprocess.Popen(PORTSIDE + ["daemon"], env=env, stderr=open(log, "w"))
    deadline = time.monotonic() + 30
    while "serving" not in log.read_text():
        if daemon.poll() is not None or time.monotonic() > deadline:
            daemon.kill()
            raise SystemExit(f"portside daemon did not start: {log.read_text().strip()}")
        time.sleep(0.05)
    return daemon


def stop_daemon(daemon: subprocess.Popen | None) -> None:
    if daemon is not None:
        daemon.terminate()
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def check_daemon(daemon: subprocess.Popen, env: dict, expected: int) -> None:
    """The daemon contestants ran through the daemon: it is alive and served every one of their runs."""
    log = (Path(env["PORTSIDE_ROOT"]) / "daemon.log").read_text()
    served = log.count(" serving run ")
    if daemon.poll() is not None or served != expected:
        raise SystemExit(f"the daemon served {served} of {expected} runs (exit code {daemon.poll()}):\n{log[-3000:]}")


def setup_portside(work: Path, tar: Path) -> tuple[list[str], list[str], dict]:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "portside")], check=True)
    root = work / "portside"
    root.mkdir()
    tag = os.urandom(2)  # own bridge and subnet: other engines on this machine keep theirs
    settings = {"bridge": f"psbench{tag.hex()}", "subnet": f"10.254.{tag[0]}.0/24",
                "cgroup_parent": "portside-bench"}  # shared with raw runc's, and removed at the end
    (root / "engine.json").write_text(json.dumps(settings))
    env = portside_env(root)
    subprocess.run(PORTSIDE + ["import", str(tar), "bench-busybox"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    none = PORTSIDE + ["run", "--rm", "--network", "none", "bench-busybox", "true"]
    bridge = PORTSIDE + ["run", "--rm", "bench-busybox", "true"]
    return none, bridge, env


def setup_runc(work: Path, tar: Path) -> tuple[list[str], Path]:
    """A bundle with the config portside would write for the same container, on an unpacked directory."""
    from portside.runtime import spec

    bundle = work / "bundle"
    (bundle / "rootfs").mkdir(parents=True)
    with tarfile.open(tar) as t:
        t.extractall(bundle / "rootfs", filter="fully_trusted")
    security = spec.Security()
    security = spec.Security(seccomp=spec.default_seccomp(spec.capabilities(security)))
    config = spec.build_config(bundle / "rootfs", spec.Process(args=["true"]), hostname="bench",
                               cgroups_path="/portside-bench/runc", security=security)
    (bundle / "config.json").write_text(json.dumps(config))
    return ["runc", "--root", str(work / "runc-state"), "run", "bench-{n}"], bundle


def ensure_podman() -> None:
    """podman is a peer: installed (Debian's) when missing, as the load-balancer bench installs HAProxy."""
    if shutil.which("podman") is None:
        proc = subprocess.run(["apt-get", "install", "-y", "-q", "podman"], capture_output=True,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if proc.returncode != 0 or shutil.which("podman") is None:
            raise SystemExit(f"podman could not be installed: {proc.stderr.decode().strip()[-2000:]}")


def setup_podman(work: Path, tar: Path) -> tuple[list[str], dict]:
    ensure_podman()
    conf = work / "containers.conf"
    conf.write_text('[containers]\ndefault_ulimits = []\n[engine]\nevents_logger = "file"\n')
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    base = ["podman", "--root", str(work / "podman-root"), "--runroot", str(work / "podman-run"),
            "--tmpdir", str(work / "podman-tmp"), "--storage-driver", "overlay", "--runtime", "runc",
            "--cgroup-manager", "cgroupfs"]
    proc = subprocess.run(base + ["import", str(tar), "localhost/bench-busybox"], env=env, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"podman import failed: {proc.stderr.decode().strip()}")
    # a cgroup parent of its own, where its containers' cgroups can be seen going (podman's default parent also
    # holds the cgroup conmon keeps, and other podman users' containers)
    return base + ["run", "--rm", "--network", "none", "--cgroup-parent", f"/{PODMAN_CGROUP_PARENT}",
                   "localhost/bench-busybox", "true"], env


def measure(runs: int, contestants: dict, work: Path, resident: set[int]) -> dict[str, list[float]]:
    """Rounds after one warm-up each (first runs fill caches: bytecode, seccomp, page cache), in a shuffled order
    per round, each run on a settled machine: what one contestant leaves running after it returns (podman's
    cleanup process and conmon, a portside monitor's teardown) must not land on the next one's clock."""
    times: dict[str, list[float]] = {name: [] for name in contestants}
    order = list(contestants)
    shuffle = random.Random(7).shuffle
    for round_ in range(runs + 1):
        shuffle(order)
        for name in order:
            argv, env, cwd = contestants[name]
            settle(work, resident)
            time.sleep(QUIET_S)
            elapsed = timed([a.replace("{n}", str(round_)) for a in argv], env, cwd)
            if round_ > 0:
                times[name].append(elapsed)
    return times


def settle(work: Path, resident: set[int], timeout: float = 10) -> None:
    """Until no process but ours, ``resident`` (the daemon) and the daemon's children (its spare, waiting for a
    client; a command that has reported its exit and is ending), unless that child went on as a container's
    monitor, names the bench's directory in its arguments or environment."""
    deadline = time.monotonic() + timeout
    while busy(work, resident) and time.monotonic() < deadline:
        time.sleep(0.005)


def busy(work: Path, resident: set[int]) -> bool:
    mark = str(work).encode()
    resident = resident | {int(p) for pid in resident for p in _children(pid) if not _monitor(p)}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in resident or int(entry.name) == os.getpid():
            continue
        try:
            if mark in (entry / "cmdline").read_bytes() or mark in (entry / "environ").read_bytes():
                return True
        except OSError:
            continue
    return False


def _monitor(pid: str) -> bool:
    """A foreground ``run``'s child of the daemon that became its container's monitor (and tears it down)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "portside-mon"
    except OSError:
        return False


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def measure_cycles(rounds: int, batch: int, contestants: dict, work: Path, resident: set[int],
                   gone) -> dict[str, list[float]]:
    """Per round and contestant (shuffled order), ``batch`` runs in a row from a settled machine, timed until
    ``gone`` says the last container is fully gone; each sample is the batch's time over its runs."""
    costs: dict[str, list[float]] = {name: [] for name in contestants}
    order = list(contestants)
    shuffle = random.Random(11).shuffle
    serial = iter(range(10**6, 10**7))  # raw runc's container names, apart from the latency rounds'
    for _ in range(rounds):
        shuffle(order)
        for name in order:
            argv, env, cwd = contestants[name]
            settle(work, resident)
            start = time.perf_counter()
            for _ in range(batch):
                n = str(next(serial))
                timed([a.replace("{n}", n) for a in argv], env, cwd)
            gone(name)
            costs[name].append((time.perf_counter() - start) * 1000 / batch)
    return costs


def remains(work: Path, root: Path, resident: set[int]) -> list[str]:
    """What is left of the bench's containers: processes, mounts, runc state, container directories, cgroups."""
    left = []
    mark = str(work)
    with open("/proc/self/mountinfo") as f:
        left += [f"mount {line.split()[4]}" for line in f if line.split()[4].startswith(mark)]
    for state in (root / "runc", work / "runc-state"):
        left += [f"runc state {p}" for p in state.glob("*") if p.is_dir()]
    left += [f"container {p.name}" for p in (root / "containers").glob("*")]
    for parent in ("portside-bench", PODMAN_CGROUP_PARENT):
        left += [f"cgroup {p}" for p in Path("/sys/fs/cgroup").glob(f"*/{parent}/*")
                 if p.is_dir() and p.name != "conmon"]  # podman keeps conmon's, empty, for the next run
    if busy(work, resident):
        left.append("processes")
    return left


def wait_gone(work: Path, root: Path, resident: set[int], timeout: float = 30):
    """The condition a cycle ends on, for any contestant: nothing of any bench container remains."""
    def gone(name: str) -> None:
        deadline = time.monotonic() + timeout
        while left := remains(work, root, resident):
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}: its containers were not gone after {timeout:g} s: {left[:5]}")
            time.sleep(0.001)
    return gone


def wait_for_monitors(root: str, timeout: float = 10) -> None:
    """The last ``run --rm`` monitors may still be tearing their containers down: let them finish first."""
    import select

    deadline = time.monotonic() + timeout
    mark = f"PORTSIDE_ROOT={root}".encode()  # the bench gives the root in the environment; monitors inherit it
    for entry in Path("/proc").iterdir():
        try:
            env = (entry / "environ").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if mark in env and int(entry.name) != os.getpid():
            try:
                fd = os.pidfd_open(int(entry.name))
            except ProcessLookupError:
                continue
            select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            os.close(fd)


def teardown(work: Path, portside_env_: dict | None, podman: list[str] | None, podman_env: dict) -> None:
    if portside_env_ is not None:
        wait_for_monitors(portside_env_["PORTSIDE_ROOT"])
        code = "from portside.engine import Engine; import sys; Engine(sys.argv[1]).network.teardown()"
        subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-c", code, portside_env_["PORTSIDE_ROOT"]],
                       env=portside_env_)
    if podman is not None:
        subprocess.run(podman[:podman.index("run")] + ["system", "reset", "--force"], env=podman_env,
                       capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
    for name in ("portside-bench", PODMAN_CGROUP_PARENT):  # the containers' parents, empty by now
        for parent in [*Path("/sys/fs/cgroup").glob(f"*/{name}"), Path(f"/sys/fs/cgroup/{name}")]:
            for cgroup in [parent / "conmon", parent]:
                try:
                    cgroup.rmdir()
                except OSError:
                    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="measured runs per contestant (default 20)")
    parser.add_argument("--cycle-runs", type=int, default=10, help="runs in a row per cycle sample (default 10)")
    parser.add_argument("--cycle-rounds", type=int, default=7, help="cycle samples per contestant (default 7)")
    args = parser.parse_args()
    runs = max(args.runs, 1)
    work = Path(tempfile.mkdtemp(prefix="portside-bench-start-"))
    p_env = podman = daemon = None
    podman_env: dict = {}
    try:
        tar = make_tarball(work / "image")
        none, bridge, p_env = setup_portside(work, tar)
        daemon = start_daemon(p_env)
        runc, bundle = setup_runc(work, tar)
        podman, podman_env = setup_podman(work, tar)
        direct_env = {**p_env, "PORTSIDE_NO_DAEMON": "1"}
        contestants = {"portside": (none, p_env, None), "portside_bridge": (bridge, p_env, None),
                       "portside_direct": (none, direct_env, None), "runc": (runc, dict(os.environ), bundle),
                       "podman": (podman, podman_env, None)}
        times = measure(runs, contestants, work, {daemon.pid})
        cycled = {k: contestants[k] for k in ("portside", "portside_direct", "runc", "podman")}
        gone = wait_gone(work, Path(p_env["PORTSIDE_ROOT"]), {daemon.pid})
        cycles = measure_cycles(max(args.cycle_rounds, 1), max(args.cycle_runs, 1), cycled, work, {daemon.pid}, gone)
        check_daemon(daemon, p_env, 2 * (runs + 1) + max(args.cycle_rounds, 1) * max(args.cycle_runs, 1))
        return report(times, cycles)
    finally:
        stop_daemon(daemon)
        teardown(work, p_env, podman, podman_env)


def report(times: dict[str, list[float]], cycles: dict[str, list[float]]) -> int:
    medians = {name: statistics.median(v) for name, v in times.items()}
    cycle = {name: statistics.median(v) for name, v in cycles.items()}
    for label, samples, mid in (("exit", times, medians), ("cycle", cycles, cycle)):
        for name, values in samples.items():
            print(f"{label:5} {name:16} median {mid[name]:7.1f} ms   min {min(values):7.1f}   "
                  f"max {max(values):7.1f}   n={len(values)}")

    def ratio(table: dict, name: str, peer: str) -> float:
        return round(table[name] / table[peer], 2)

    result = {"portside_ms": round(medians["portside"], 1), "portside_bridge_ms": round(medians["portside_bridge"], 1),
              "portside_direct_ms": round(medians["portside_direct"], 1), "runc_ms": round(medians["runc"], 1),
              "podman_ms": round(medians["podman"], 1),
              "ratio_vs_runc": ratio(medians, "portside", "runc"), "ratio_vs_podman": ratio(medians, "portside", "podman"),
              "direct_ratio_vs_runc": ratio(medians, "portside_direct", "runc"),
              "direct_ratio_vs_podman": ratio(medians, "portside_direct", "podman"),
              "cycle_ms": round(cycle["portside"], 1), "direct_cycle_ms": round(cycle["portside_direct"], 1),
              "runc_cycle_ms": round(cycle["runc"], 1), "podman_cycle_ms": round(cycle["podman"], 1),
              "cycle_vs_runc": ratio(cycle, "portside", "runc"), "cycle_vs_podman": ratio(cycle, "portside", "podman"),
              "direct_cycle_vs_runc": ratio(cycle, "portside_direct", "runc"),
              "direct_cycle_vs_podman": ratio(cycle, "portside_direct", "podman")}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
