"""A real dockerd (Debian's docker.io), started by hand as the peer the Docker Engine API is measured against.

Everything it owns is its own and goes when it stops: a socket, data root, exec root and pidfile under one
directory; a default bridge made here (``--bridge``, on a subnet of its own) and user networks from a pool of
its own; a cgroup parent of its own; no iptables rules (``--iptables=false --ip-masq=false --ip-forward=false``:
containers reach each other on a bridge and loopback's published ports, nothing beyond). ``stop`` removes the
containers and networks through the API, stops dockerd (which stops its own containerd), kills what is left of
them, unmounts, deletes the bridges and the directory, and returns what it could not remove.

    with Dockerd.started(Path("/tmp/dockerd-x")) as dockerd:
        subprocess.run(["docker", "ps"], env={**os.environ, "DOCKER_HOST": dockerd.url})
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DOCKERD = "/usr/sbin/dockerd"


@dataclass
class Dockerd:
    base: Path
    tag: str = field(default_factory=lambda: os.urandom(3).hex())
    process: subprocess.Popen | None = None
    subnet_octet: int = field(default_factory=lambda: random.randint(0, 255))

    @property
    def socket(self) -> Path:
        return self.base / "d.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def bridge(self) -> str:
        return f"dpyb{self.tag}"

    @property
    def cgroup_parent(self) -> str:
        return f"dockerd-baseline-{self.tag}"

    @property
    def log(self) -> Path:
        return self.base / "dockerd.log"

    @classmethod
    @contextlib.contextmanager
    def started(cls, base: Path) -> Iterator[Dockerd]:
        dockerd = cls(base)
        try:
            dockerd.start()
            yield dockerd
        finally:
            left = dockerd.stop()
            if left:
                raise AssertionError(f"dockerd left behind: {left}")

    def start(self, timeout: float = 60) -> None:
        if not os.path.exists(DOCKERD):
            raise RuntimeError(f"{DOCKERD} is missing: apt-get install docker.io")
        self.base.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", f"172.29.{self.subnet_octet}.1/24", "dev", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
        argv = [DOCKERD, "-H", self.url, "--data-root", str(self.base / "data"),
                "--exec-root", str(self.base / "exec"), "--pidfile", str(self.base / "d.pid"),
                "--exec-opt", "native.cgroupdriver=cgroupfs", "--storage-driver=overlay2",
                "--cgroup-parent", f"/{self.cgroup_parent}", "--bridge", self.bridge,
                "--iptables=false", "--ip-masq=false", "--ip-forward=false",
                "--default-address-pool", "base=172.30.0.0/16,size=24",
                "--config-file", str(self._config_file())]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not come up:\n{self.log_tail()}")
            time.sleep(0.1)

    def _config_file(self) -> Path:
        """An empty daemon.json of its own: the host's /etc/docker/daemon.json (if any) must not leak in."""
        path = self.base / "daemon.json"
        path.write_text("{}\n")
        return path

    def answers(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            try:
                sock.connect(str(self.socket))
                sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                return sock.recv(64).split(b" ")[1:2] == [b"200"]
            except OSError:
                return False

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def docker(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        env = {**os.environ, "DOCKER_HOST": self.url, "DOCKER_CONFIG": str(self.base / "cli"),
               "DOCKER_BUILDKIT": "0"}
        return subprocess.run(["/usr/bin/docker", *args], env=env, check=check, capture_output=True, text=True,
                              timeout=timeout)

    def stop(self) -> list[str]:
        """Stop everything this dockerd made; what could not be removed, named (empty when clean)."""
        user_bridges = self._empty_out() if self.process and self.process.poll() is None else []
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for pid in self._processes():  # containerd, shims, docker-proxy: anything still naming our dirs
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._unmount()
        left = []
        for link in [self.bridge, *user_bridges]:
            if Path("/sys/class/net", link).exists():
                subprocess.run(["ip", "link", "delete", link], check=False)
            if Path("/sys/class/net", link).exists():
                left.append(f"bridge {link}")
        self._remove_cgroups()
        shutil.rmtree(self.base, ignore_errors=True)
        left += [f"process {pid}" for pid in self._processes()]
        left += [f"mount {m}" for m in self._mounts()]
        left += [f"path {self.base}"] if self.base.exists() else []
        return left

    def _empty_out(self) -> list[str]:
        """Remove every container and user network through the API; the bridges of those networks, named (a
        network removed by its dockerd takes its bridge with it, these are for the ones that fail)."""
        bridges = []
        with contextlib.suppress(subprocess.SubprocessError):
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", "-v", *ids, check=False)
            listing = self.docker("network", "ls", "--no-trunc", "--format", "{{json .}}", check=False).stdout
            for line in listing.splitlines():
                net = json.loads(line)
                if net["Name"] in ("bridge", "host", "none"):
                    continue
                bridges.append(f"br-{net['ID'][:12]}")
                self.docker("network", "rm", net["ID"], check=False)
        return bridges

    def _processes(self) -> list[int]:
        mark = str(self.base).encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if mark in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
        return pids

    def _mounts(self) -> list[str]:
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
        return [p for p in points if p.startswith(str(self.base) + "/")]

    def _unmount(self) -> None:
        for point in sorted(self._mounts(), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)

    def _remove_cgroups(self) -> None:
        """Container cgroups under our parent, deepest first, in every v1 hierarchy and the v2 mount."""
        root = Path("/sys/fs/cgroup")
        for hierarchy in [root, *[p for p in root.iterdir() if p.is_dir()]] if root.is_dir() else []:
            parent = hierarchy / self.cgroup_parent
            if not parent.is_dir():
                continue
            for d in sorted((p for p in parent.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    d.rmdir()
            with contextlib.suppress(OSError):
                parent.rmdir()
