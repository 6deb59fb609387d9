"""Debian's docker-compose (1.29, over docker-py 5.0.3) bringing up tests/dockerapi/compose against any Docker
Engine API socket: the issue's compose criterion, run by tests/dockerapi/test_compose.py against portside and by
``scripts/dockerpy-suite baseline`` against a real dockerd (so a failure against portside is portside's).

The app: ``db`` (busybox httpd serving a token from a named volume, with a healthcheck) and ``web`` (built from a
Dockerfile; a CGI that fetches ``http://db:8080/`` by name over the user network), ``web`` published on a
loopback port and started only once ``db`` is healthy.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

COMPOSE = "/usr/bin/docker-compose"
DOCKER_CLI = "/usr/bin/docker"
APP = Path(__file__).resolve().parents[1] / "dockerapi" / "compose"


@dataclass
class ComposeRun:
    host: str
    project: str
    port: int
    token: str = field(default_factory=lambda: os.urandom(6).hex())
    seconds: dict[str, float] = field(default_factory=dict)

    def env(self, config_dir: str) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_CONFIG": config_dir, "DOCKER_BUILDKIT": "0",
                "COMPOSE_DOCKER_CLI_BUILD": "0", "DB_TOKEN": self.token, "WEB_PORT": str(self.port)}

    def scenario(self) -> dict[str, str]:
        """up -d, ps, the published port, logs, down -v, then what is left; raises AssertionError naming the step
        that went wrong (with compose's own output). Removes everything it made, also on failure."""
        with tempfile.TemporaryDirectory() as config_dir:
            env = self.env(config_dir)
            try:
                return self._steps(env)
            finally:
                self.compose(env, "down", "-v", "--rmi", "local", "--remove-orphans", check=False)

    def _steps(self, env: dict[str, str]) -> dict[str, str]:
        out = {"up": self.compose(env, "up", "-d", timeout=240).stderr}
        ps = self.compose(env, "ps").stdout
        out["ps"] = ps
        # compose's table wraps long names onto a second line, so what runs is asked in a form without a table
        running = self.compose(env, "ps", "--services", "--filter", "status=running").stdout.split()
        assert sorted(running) == ["db", "web"], f"compose ps shows {running} running:\n{ps}"
        health = self.docker(env, "inspect", "--format", "{{.State.Health.Status}}", f"{self.project}_db_1").stdout
        assert health.strip() == "healthy", f"db is {health.strip()!r}:\n{ps}"
        out["answer"] = self.fetch()
        assert f"db says {self.token}" in out["answer"], f"web's answer did not come from db: {out['answer']!r}"
        out["logs"] = self.compose(env, "logs", "--no-color").stdout
        for said in ("db ready", "web listening"):
            assert said in out["logs"], f"compose logs lack {said!r}:\n{out['logs']}"
        self.compose(env, "down", "-v", timeout=120)
        left = self.leftovers(env)
        assert not left, f"after down -v: {left}"
        image = f"{self.project}_web"
        self.docker(env, "rmi", image)
        assert image not in self.docker(env, "images", "--format", "{{.Repository}}").stdout.split()
        return out

    def fetch(self, timeout: float = 30) -> str:
        """web's answer on the published port (web may take a moment to listen after compose returns)."""
        url = f"http://127.0.0.1:{self.port}/cgi-bin/fetch"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    return response.read().decode(errors="replace")
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{url} did not answer within {timeout:.0f} s: {exc}") from None
                time.sleep(0.2)

    def leftovers(self, env: dict[str, str]) -> list[str]:
        """Containers, volumes and networks named for this project."""
        mine = f"{self.project}_"
        containers = self.docker(env, "ps", "-a", "--format", "{{.Names}}").stdout.split()
        volumes = self.docker(env, "volume", "ls", "-q").stdout.split()
        networks = self.docker(env, "network", "ls", "--format", "{{.Name}}").stdout.split()
        return ([f"container {c}" for c in containers if c.startswith(mine)]
                + [f"volume {v}" for v in volumes if v.startswith(mine)]
                + [f"network {n}" for n in networks if n.startswith(mine)])

    def compose(self, env: dict[str, str], *args: str, check: bool = True, timeout: float = 120):
        started = time.monotonic()
        proc = subprocess.run([COMPOSE, "-p", self.project, "-f", str(APP / "docker-compose.yml"), *args],
                              cwd=APP, env=env, capture_output=True, text=True, timeout=timeout)
        self.seconds.setdefault(args[0], round(time.monotonic() - started, 2))
        if check and proc.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n"
                                 f"{proc.stderr}")
        return proc

    def docker(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([DOCKER_CLI, *args], env=env, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc
