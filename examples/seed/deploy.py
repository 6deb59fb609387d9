"""The main job: the seed example built, deployed on a local portside cluster, and answering through its Service.

Steps, each printed before it runs:

1. build ``my-app:latest`` with ``build.sh`` (the first time it bootstraps the Python base from the Debian mirror);
2. ``portside up -d``, unless a cluster already runs for the data directory;
3. apply ``deployment.yaml`` and ``service.yaml`` through the API, as ``kubectl apply -f examples/seed/`` would;
4. wait until the Deployment's three replicas are Ready;
5. GET http://127.0.0.1:80/ a few times: the Service spreads the answers over the replicas.

The cluster keeps running afterwards; the script prints how to look at it with kubectl and how to stop it.
The engine root is ``$PORTSIDE_ROOT`` or /var/lib/portside and the cluster's data directory
``$PORTSIDE_DATA_DIR`` or /var/lib/portside-cluster, the defaults of the ``portside`` command itself.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
PORTSIDE = [sys.executable, "-m", "portside"]
DATA_DIR = os.environ.get("PORTSIDE_DATA_DIR", "/var/lib/portside-cluster")
KUBECONFIG = os.path.join(DATA_DIR, "kubeconfig.yaml")
SERVICE_URL = "http://127.0.0.1:80/"
READY_TIMEOUT_S = 180


def step(title: str, argv: list[str] | None = None) -> None:
    print(f"\n==> {title}", flush=True)
    if argv:
        shown = ["portside", *argv[len(PORTSIDE):]] if argv[:len(PORTSIDE)] == PORTSIDE else argv
        print(f"$ {shlex.join(shown)}", flush=True)


def run(argv: list[str], **env: str) -> None:
    proc = subprocess.run(argv, env={**os.environ, **env})
    if proc.returncode != 0:
        raise SystemExit(f"deploy: {shlex.join(argv)} exited with {proc.returncode}")


def build() -> None:
    argv = ["sh", str(HERE / "build.sh")]
    step("Build the seed's image (my-app:latest)", argv)
    run(argv, PORTSIDE=shlex.join(PORTSIDE))


def cluster_running() -> bool:
    from portside.cli.up import running_pid

    return running_pid(DATA_DIR) is not None


def start_cluster() -> None:
    if cluster_running():
        step(f"A portside cluster already runs for {DATA_DIR}; using it")
        return
    argv = [*PORTSIDE, "up", "-d", "--data-dir", DATA_DIR]
    step("Start the cluster: API server, scheduler, controllers, node agent, service proxy", argv)
    run(argv)


async def apply_manifests() -> None:
    """Server-side apply of each manifest: creates what is missing, updates what changed."""
    from portside.client import Client, path, resource

    step("Apply examples/seed/deployment.yaml and service.yaml (what `kubectl apply -f examples/seed/` does)")
    async with Client.from_kubeconfig(KUBECONFIG) as client:
        for name in ("deployment.yaml", "service.yaml"):
            manifest = yaml.safe_load((HERE / name).read_text())
            kind, obj_name = manifest["kind"], manifest["metadata"]["name"]
            url = path(resource(kind), "default", obj_name)
            await client.request("PATCH", url, body=yaml.safe_dump(manifest).encode(),
                                 content_type="application/apply-patch+yaml",
                                 params={"fieldManager": "portside-seed-demo", "force": "true"})
            print(f"{kind.lower()}/{obj_name} applied")


async def wait_ready() -> None:
    from portside.client import Client

    step("Wait for the three replicas to be Ready")
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with Client.from_kubeconfig(KUBECONFIG) as client:
        while True:
            status = (await client.get("deployments.apps", "my-app", "default")).status
            ready, updated = (status.ready_replicas or 0, status.updated_replicas or 0) if status else (0, 0)
            print(f"ready {ready}/3", flush=True)
            if ready >= 3 and updated >= 3:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"deploy: the replicas were not Ready within {READY_TIMEOUT_S} s; "
                                 f"see `kubectl --kubeconfig {KUBECONFIG} describe pods`")
            await asyncio.sleep(1)


def query_service(times: int = 6) -> None:
    step(f"Ask the LoadBalancer Service at {SERVICE_URL}")
    for _ in range(times):
        print(f"$ curl {SERVICE_URL}\n{_get(SERVICE_URL).rstrip()}", flush=True)


def _get(url: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def farewell() -> None:
    print(f"""
The seed example runs. Look around:
  export KUBECONFIG={KUBECONFIG}
  kubectl get deploy,rs,pods,svc,endpoints -o wide
  kubectl logs -l app=my-app
  portside top services
Stop it: delete the workload, wait for its pods to go, then stop the cluster (a stopped cluster leaves running
containers alone, and adopts them when it starts again):
  kubectl delete -f {HERE}/ && kubectl wait --for=delete pod -l app=my-app
  portside down --data-dir {DATA_DIR}""")


def main() -> int:
    build()
    start_cluster()
    asyncio.run(apply_manifests())
    asyncio.run(wait_ready())
    query_service()
    farewell()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
