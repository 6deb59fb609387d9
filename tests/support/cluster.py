"""A real ``portside up`` in a subprocess, on its own data directory and free port, for the control-plane tests
(as kine's testserver runs a real server for its tests, not a fake).

The suite's ``cluster`` fixture (tests/conftest.py) starts one per test module, with the components a directory's
``up_flags`` fixture or a module's ``UP_FLAGS`` choose (see ``only``); tests that need their own (restarts, the
node agent, proxy modes) use ``Cluster`` as a context manager. The stock kubectl and the official kubernetes
client talk to it through the kubeconfig it writes.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

from support.net import free_port

READY_TIMEOUT_S = 30


# What every test cluster runs with its API server: the access controllers make each namespace's default
# ServiceAccount, without which no pod is admitted.
ALWAYS = ("apiserver", "access-controllers")


def only(*components: str) -> tuple[str, ...]:
    """``portside up`` flags that run the API server (with ``ALWAYS``) and ``components`` and disable every other
    component."""
    from portside.supervisor import COMPONENTS
    off = [c.name for c in COMPONENTS if c.name not in ALWAYS and c.name not in components]
    return ("--disable", ",".join(off)) if off else ("--disable", "")


# Components that act on the host (containers, nftables rules, host ports): a test cluster runs them only when
# asked, so that parallel control-plane tests never touch the machine or each other.
NODE_COMPONENTS = ("agent", "proxy", "dns", "netpol", "engine", "kubernetes-endpoint", "docker-api")


class Cluster:
    def __init__(self, data_dir: Path, port: int | None = None, extra: tuple[str, ...] = (),
                 node: tuple[str, ...] = ()) -> None:
        """``node`` names the NODE_COMPONENTS to run; ``extra`` flags that already --disable leave all to them."""
        self.data_dir, self.port = Path(data_dir), port or free_port()
        if "--disable" not in extra:
            off = [c for c in NODE_COMPONENTS if c not in node]
            extra = (*extra, "--disable", ",".join(off)) if off else extra
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.ready_line = ""

    @property
    def kubeconfig(self) -> str:
        return str(self.data_dir / "kubeconfig.yaml")

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> str:
        return str(self.data_dir / "pki" / "ca.crt")

    def tokens(self) -> dict[str, str]:
        return json.loads((self.data_dir / "pki" / "tokens.json").read_text())

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Cluster:
        cmd = [sys.executable, "-m", "portside", "up", "--data-dir", str(self.data_dir), "--port", str(self.port),
               *self.extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(self.data_dir.parent /
                                     f"{self.data_dir.name}.log", "ab"), text=True)
        self.ready_line = self._read_line(READY_TIMEOUT_S)
        if "API ready" not in self.ready_line:
            self.kill()
            raise AssertionError(f"portside up did not become ready: {self.ready_line!r}; log: {self.log()[-2000:]}")
        return self

    def _read_line(self, timeout: float) -> str:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return ""
        return self.proc.stdout.readline()

    def log(self) -> str:
        path = self.data_dir.parent / f"{self.data_dir.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"portside up did not stop within 20 s of SIGTERM; the end of its log:\n"
                                 f"{self.log()[-3000:]}") from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def kubectl_argv(self, kubeconfig: str | None = None) -> list[str]:
        """kubectl with this cluster's kubeconfig and a discovery cache inside its data directory, not in ~/.kube."""
        return ["kubectl", "--kubeconfig", kubeconfig or self.kubeconfig, "--cache-dir",
                str(self.data_dir / "kubectl-cache")]

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, kubeconfig: str | None = None,
                timeout: float = 30) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.kubectl_argv(kubeconfig) + list(args), input=input, capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def namespace(self, name: str) -> str:
        self.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                                           "metadata": {"name": name}}))
        return name


def env_without_kubeconfig() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
