"""The Docker Engine API: portside's ``system service`` against Debian's dockerd, through the same clients.

Two measures, each interleaved (one of each engine per round, in a shuffled order, so load from elsewhere on the
machine hits both alike), medians compared:

- run: Debian's docker CLI runs ``docker run --rm IMG true`` against each engine's socket (create, attach, wait,
  start, and the removal ``--rm`` asks for), until the command exits; on each engine's default bridge network, and
  again with ``--network none``.
- churn: docker-py creates and starts 50 containers (``sleep 300``), then removes them with force, one by one, as
  a CI job or compose would; the clock stops once every container is gone, its processes, runc state, overlay
  mount and cgroup included (dockerd's ``rm -f`` returns after its teardown; portside's monitor finishes after the
  removal answers, so the bench waits for it).

dockerd (Debian's docker.io, installed with apt-get when missing) runs by hand in its best documented mode for a
host like this: overlay2, the cgroupfs driver, its own data and exec roots; its default bridge is a bridge this
bench makes (``--bridge``) with iptables, masquerade and forwarding off, so it never touches the host's networks
and is removed afterwards. portside serves its own engine root (own bridge, subnet and cgroup parent).

Target: ratio_vs_dockerd <= 0.5. Last line: {"run_ms", "dockerd_run_ms", "ratio_vs_dockerd", "run_none_ms",
"dockerd_run_none_ms", "none_ratio_vs_dockerd", "churn_per_s", "dockerd_churn_per_s", "churn_vs_dockerd"}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from examples.busybox import make_tarball  # noqa: E402

PYTHON = str(REPO / ".venv" / "bin" / "python")
DOCKER = "/usr/bin/docker"  # Debian's client: another docker may come first on PATH
DOCKERD = "/usr/sbin/dockerd"
IMAGE = "busybox:latest"
BRIDGE = "psbdock0"
BRIDGE_CIDR = "10.253.7.1/24"
CGROUP_PARENT = "portside-bench-dockerapi"


def ensure_docker() -> None:
    if not (os.path.exists(DOCKER) and os.path.exists(DOCKERD)):
        proc = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "docker.io"],
                              capture_output=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if proc.returncode != 0:
            raise SystemExit(f"docker.io could not be installed: {proc.stderr.decode().strip()[-2000:]}")


def wait_for(socket: Path, process: subprocess.Popen, log: Path, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while subprocess.run([DOCKER, "-H", f"unix://{socket}", "version"], capture_output=True).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not come up:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


class Portside:
    def __init__(self, work: Path, tar: Path) -> None:
        self.root = work / "portside"
        self.root.mkdir()
        tag = os.urandom(2)
        settings = {"bridge": f"psbda{tag.hex()}", "subnet": f"10.252.{tag[0]}.0/24", "cgroup_parent": CGROUP_PARENT}
        (self.root / "engine.json").write_text(json.dumps(settings))
        subprocess.run([PYTHON, "-m", "portside", "--root", str(self.root), "import", str(tar), IMAGE], check=True,
                       stdout=subprocess.DEVNULL)
        self.socket = work / "ps.sock"
        self.log = work / "portside.log"
        self.process = subprocess.Popen([PYTHON, "-m", "portside", "--root", str(self.root), "system", "service",
                                         "--socket", f"unix://{self.socket}"], stdout=open(self.log, "w"),
                                        stderr=subprocess.STDOUT)
        wait_for(self.socket, self.process, self.log, "portside system service")

    def settled(self) -> None:
        """Every removed container's monitor has finished its teardown (runc state, mount, cgroup, files)."""
        deadline = time.monotonic() + 60
        while self._remains():
            if time.monotonic() > deadline:
                raise SystemExit(f"portside left: {self._remains()}")
            time.sleep(0.005)

    def _remains(self) -> list[str]:
        left = [p.name for p in (self.root / "containers").glob("*")]
        runc = self.root / "runc"
        left += [p.name for p in runc.glob("*")] if runc.is_dir() else []
        return left

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        code = "from portside.engine import Engine; import sys; Engine(sys.argv[1]).network.teardown()"
        subprocess.run([PYTHON, "-c", code, str(self.root)])


class Dockerd:
    def __init__(self, work: Path, tar: Path) -> None:
        subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", BRIDGE_CIDR, "dev", BRIDGE], check=True)
        subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
        self.socket = work / "d.sock"
        self.log = work / "dockerd.log"
        self.data = work / "dockerd-data"
        self.exec_root = Path(tempfile.mkdtemp(prefix="psbd", dir="/run"))  # short: containerd's socket paths
        self.process = subprocess.Popen([
            DOCKERD, "-H", f"unix://{self.socket}", "--data-root", str(self.data), "--exec-root",
            str(self.exec_root), "--pidfile", str(work / "dockerd.pid"), "--exec-opt", "native.cgroupdriver=cgroupfs",
            "--storage-driver=overlay2", f"--bridge={BRIDGE}", "--iptables=false", "--ip-masq=false",
            "--ip-forward=false", "--userland-proxy=false", "--cgroup-parent", "/portside-bench-dockerd"],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        wait_for(self.socket, self.process, self.log, "dockerd")
        subprocess.run([DOCKER, "-H", f"unix://{self.socket}", "import", str(tar), IMAGE], check=True,
                       stdout=subprocess.DEVNULL)

    def settled(self) -> None:
        """dockerd's ``rm -f`` returns after its teardown."""

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for base in (self.exec_root, self.data):
            subprocess.run(["umount", "-R", "-l", str(base)], capture_output=True)
        shutil.rmtree(self.exec_root, ignore_errors=True)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)


def env_for(socket: Path, config: Path) -> dict:
    return {**os.environ, "DOCKER_HOST": f"unix://{socket}", "DOCKER_CONFIG": str(config)}


def timed_run(env: dict, *flags: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run([DOCKER, "run", "--rm", *flags, IMAGE, "true"], env=env, capture_output=True)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"docker run against {env['DOCKER_HOST']} failed: {proc.stderr.decode().strip()}")
    return elapsed


def churn(engine, count: int) -> float:
    """Containers per second: ``count`` created and started, then removed with force, until all are gone."""
    import docker

    client = docker.APIClient(base_url=f"unix://{engine.socket}", version="1.41", timeout=120)
    start = time.perf_counter()
    ids = []
    for _ in range(count):
        cid = client.create_container(IMAGE, ["sleep", "300"])["Id"]
        client.start(cid)
        ids.append(cid)
    for cid in ids:
        client.remove_container(cid, force=True)
    engine.settled()
    elapsed = time.perf_counter() - start
    client.close()
    return count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="docker run rounds (default 30)")
    parser.add_argument("--churn-rounds", type=int, default=5, help="churn rounds of 50 containers (default 5)")
    parser.add_argument("--churn-size", type=int, default=50)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (runc, dockerd)")
    ensure_docker()
    work = Path(tempfile.mkdtemp(prefix="bench-dockerapi-"))
    engines: dict = {}
    try:
        tar = make_tarball(work)
        (work / "cfg").mkdir()
        engines["portside"] = Portside(work, tar)
        engines["dockerd"] = Dockerd(work, tar)
        envs = {name: env_for(e.socket, work / "cfg") for name, e in engines.items()}
        for name in engines:  # warm both: first runs pay page cache and lazy set-up
            for _ in range(3):
                timed_run(envs[name])
                timed_run(envs[name], "--network", "none")
        times: dict[str, list[float]] = {f"{n}{m}": [] for n in engines for m in ("", "_none")}
        for _ in range(args.runs):
            order = [(n, m) for n in engines for m in ("", "_none")]
            random.shuffle(order)
            for name, mode in order:
                engines[name].settled()
                flags = ("--network", "none") if mode else ()
                times[name + mode].append(timed_run(envs[name], *flags))
        rates: dict[str, list[float]] = {n: [] for n in engines}
        for _ in range(args.churn_rounds):
            for name in random.sample(list(engines), len(engines)):
                rates[name].append(churn(engines[name], args.churn_size))
    finally:
        for engine in engines.values():
            engine.stop()
        shutil.rmtree(work, ignore_errors=True)
        for name in (CGROUP_PARENT, "portside-bench-dockerd"):
            for parent in [*Path("/sys/fs/cgroup").glob(f"*/{name}"), Path(f"/sys/fs/cgroup/{name}")]:
                for cgroup in [*parent.glob("*/"), parent] if parent.is_dir() else []:
                    try:
                        cgroup.rmdir()
                    except OSError:
                        pass
    med = {k: statistics.median(v) for k, v in times.items()}
    churn_med = {k: statistics.median(v) for k, v in rates.items()}
    result = {
        "run_ms": round(med["portside"], 1), "dockerd_run_ms": round(med["dockerd"], 1),
        "ratio_vs_dockerd": round(med["portside"] / med["dockerd"], 3),
        "run_none_ms": round(med["portside_none"], 1), "dockerd_run_none_ms": round(med["dockerd_none"], 1),
        "none_ratio_vs_dockerd": round(med["portside_none"] / med["dockerd_none"], 3),
        "churn_per_s": round(churn_med["portside"], 2), "dockerd_churn_per_s": round(churn_med["dockerd"], 2),
        "churn_vs_dockerd": round(churn_med["portside"] / churn_med["dockerd"], 3),
        "runs": args.runs, "churn_rounds": args.churn_rounds, "churn_size": args.churn_size,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
