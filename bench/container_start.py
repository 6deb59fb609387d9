"""Container start latency: ``portside run --rm IMG true`` against raw ``runc run`` and ``podman run --rm``.

All on the same busybox root filesystem, networking off (``--network none``), plus portside on its default bridge.
portside is measured as a user of a node meets it, with ``portside daemon`` serving the engine root (``portside up``
starts one), and also without it (``portside_direct``: the command imports the engine itself).
Runs are interleaved (one of each per round, in a shuffled order) so that load from elsewhere on the machine hits
every contestant alike, and each starts once what the previous one left running has ended; the medians are
compared. The raw runc bundle is the config portside itself generates (same
namespaces, capabilities, mounts and seccomp profile) on a plain directory, so the difference is portside's own
cost: Python, the record, the overlay mount, the monitor and the log.

Each time ends when the command exits. ``portside run --rm`` exits once its container is gone from view (exit code
known, name and record gone, network released); its monitor finishes ``runc delete``, the unmount and the files
just after, off the clock, where raw ``runc run`` tears down before it exits. That teardown still runs on this
machine during the following runs, and teardown waits for it before removing the engine root.

podman runs with ``--runtime runc --cgroup-manager cgroupfs`` and its own storage and containers.conf, where
``default_ulimits = []``: the hard open-files limit here cannot be raised, and podman's default asks for more.

Last line: {"portside_ms", "portside_bridge_ms", "portside_direct_ms", "runc_ms", "podman_ms", "ratio_vs_runc",
"ratio_vs_podman", "direct_ratio_vs_runc", "direct_ratio_vs_podman"}.
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


def setup_podman(work: Path, tar: Path) -> tuple[list[str] | None, dict, str]:
    if shutil.which("podman") is None:
        return None, {}, "podman is not installed"
    conf = work / "containers.conf"
    conf.write_text('[containers]\ndefault_ulimits = []\n[engine]\nevents_logger = "file"\n')
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    base = ["podman", "--root", str(work / "podman-root"), "--runroot", str(work / "podman-run"),
            "--tmpdir", str(work / "podman-tmp"), "--storage-driver", "overlay", "--runtime", "runc",
            "--cgroup-manager", "cgroupfs"]
    proc = subprocess.run(base + ["import", str(tar), "localhost/bench-busybox"], env=env, capture_output=True)
    if proc.returncode != 0:
        return None, {}, f"podman import failed: {proc.stderr.decode().strip()}"
    return base + ["run", "--rm", "--network", "none", "localhost/bench-busybox", "true"], env, ""


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
            elapsed = timed([a.replace("{n}", str(round_)) for a in argv], env, cwd)
            if round_ > 0:
                times[name].append(elapsed)
    return times


def settle(work: Path, resident: set[int], timeout: float = 10) -> None:
    """Until no process but ours, ``resident`` (the daemon) and the daemon's children (its spare, waiting for a
    client; a command that has reported its exit and is ending) names the bench's directory in its arguments or
    environment."""
    mark = str(work).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        resident = resident | {int(p) for pid in resident for p in _children(pid)}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in resident or int(entry.name) == os.getpid():
                continue
            try:
                if mark in (entry / "cmdline").read_bytes() or mark in (entry / "environ").read_bytes():
                    busy = True
                    break
            except OSError:
                continue
        if not busy:
            return
        time.sleep(0.005)


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


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
    for parent in [*Path("/sys/fs/cgroup").glob("*/portside-bench"), Path("/sys/fs/cgroup/portside-bench")]:
        try:
            parent.rmdir()  # portside's and raw runc's containers' parent, empty by now
        except OSError:
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="measured runs per contestant (default 20)")
    runs = max(parser.parse_args().runs, 1)
    work = Path(tempfile.mkdtemp(prefix="portside-bench-start-"))
    p_env = podman = daemon = None
    podman_env: dict = {}
    try:
        tar = make_tarball(work / "image")
        none, bridge, p_env = setup_portside(work, tar)
        daemon = start_daemon(p_env)
        runc, bundle = setup_runc(work, tar)
        podman, podman_env, skipped = setup_podman(work, tar)
        contestants = {"portside": (none, p_env, None), "portside_bridge": (bridge, p_env, None),
                       "portside_direct": (none, {**p_env, "PORTSIDE_NO_DAEMON": "1"}, None),
                       "runc": (runc, dict(os.environ), bundle)}
        if podman:
            contestants["podman"] = (podman, podman_env, None)
        else:
            print(f"podman skipped: {skipped}")
        times = measure(runs, contestants, work, {daemon.pid})
        check_daemon(daemon, p_env, 2 * (runs + 1))
        return report(times)
    finally:
        stop_daemon(daemon)
        teardown(work, p_env, podman, podman_env)


def report(times: dict[str, list[float]]) -> int:
    medians = {name: statistics.median(v) for name, v in times.items()}
    for name, values in times.items():
        print(f"{name:16} median {medians[name]:7.1f} ms   min {min(values):7.1f}   max {max(values):7.1f}   "
              f"n={len(values)}")
    def ratio(name: str, peer: str) -> float | None:
        return round(medians[name] / medians[peer], 2) if peer in medians else None

    result = {"portside_ms": round(medians["portside"], 1), "portside_bridge_ms": round(medians["portside_bridge"], 1),
              "portside_direct_ms": round(medians["portside_direct"], 1), "runc_ms": round(medians["runc"], 1),
              "podman_ms": round(medians["podman"], 1) if "podman" in medians else None,
              "ratio_vs_runc": ratio("portside", "runc"), "ratio_vs_podman": ratio("portside", "podman"),
              "direct_ratio_vs_runc": ratio("portside_direct", "runc"),
              "direct_ratio_vs_podman": ratio("portside_direct", "podman")}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
